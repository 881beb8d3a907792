"""Static tip-over stability of the rover on a plane slope (pure geometry, no simulation).

Standing on a slope of angle theta whose downhill direction is `u` (a unit vector in the body
x-y plane, body level with the slope), gravity's line of action through the centre of mass meets
the slope plane at c + h tan(theta) u, where c is the COM projected on the plane and h the COM
height above it. The rover tips when that point leaves the support polygon (the convex hull of
the wheel contact points), so the tip-over angle for heading u is atan(r(u) / h), with r(u) the
distance from c to the polygon boundary along u. The margin on a given slope is the smallest tip
angle over all headings minus the slope. This ignores suspension compliance (the rocker-bogie
shifts the COM slightly downhill); the simulation test checks the dynamic case.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_description.geometry import RoverGeometry


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull (k x 2) of n x 2 points (Andrew's monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in np.asarray(points, dtype=float)})
    if len(pts) < 3:
        raise ValueError(f'need at least 3 distinct support points, got {len(pts)}')

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def distance_to_boundary(hull: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> float:
    """Distance (m) from `origin` (inside the CCW hull) to the hull boundary along unit `direction`."""
    best = math.inf
    n = len(hull)
    for i in range(n):
        a, b = hull[i], hull[(i + 1) % n]
        edge = b - a
        denom = direction[0] * edge[1] - direction[1] * edge[0]
        if abs(denom) < 1e-12:
            continue
        rel = a - origin
        t = (rel[0] * edge[1] - rel[1] * edge[0]) / denom  # along the ray
        s = (rel[0] * direction[1] - rel[1] * direction[0]) / denom  # along the edge
        if t >= 0.0 and -1e-9 <= s <= 1.0 + 1e-9:
            best = min(best, t)
    if not math.isfinite(best):
        raise ValueError('origin is outside the support polygon')
    return best


@dataclass(frozen=True)
class StabilityReport:
    """Tip-over angles (rad) per downhill heading (rad, body frame, 0 = downhill straight ahead)."""

    headings: tuple[float, ...]
    tip_angles: tuple[float, ...]
    com_height: float  # m above flat ground

    @property
    def min_tip_angle(self) -> float:
        return min(self.tip_angles)

    @property
    def critical_heading(self) -> float:
        return self.headings[int(np.argmin(self.tip_angles))]

    def margin(self, slope: float) -> float:
        """Smallest tip angle minus `slope` (rad); positive = stable in every heading."""
        return self.min_tip_angle - slope


def static_stability(geometry: RoverGeometry, n_headings: int = 360) -> StabilityReport:
    """Tip-over angle for `n_headings` downhill directions, from the wheel contact points and the COM.

    Contact points are below the wheel centres (x, y); the COM height above ground is
    com_z + wheel radius (base_link is at axle height).
    """
    if n_headings < 4:
        raise ValueError(f'n_headings must be >= 4, got {n_headings}')
    hull = convex_hull(np.array([(w.x, w.y) for w in geometry.wheels]))
    com_xy = np.array(geometry.com[:2])
    height = geometry.com[2] + geometry.wheel_radius
    if height <= 0.0:
        raise ValueError(f'centre of mass must be above the ground, got height {height} m')
    headings, angles = [], []
    for k in range(n_headings):
        psi = 2.0 * math.pi * k / n_headings
        r = distance_to_boundary(hull, com_xy, np.array([math.cos(psi), math.sin(psi)]))
        headings.append(psi)
        angles.append(math.atan2(r, height))
    return StabilityReport(tuple(headings), tuple(angles), height)
