"""Synthetic hazcam-like clouds for the obstacle tests: tilted ground, rocks and boxes (numpy)."""

from __future__ import annotations

import math

import numpy as np

GROUND_Z = -0.15  # m: axle height above flat ground for a 0.15 m wheel (test value, not a spec copy)


class Terrain:
    """Ground z = z0 + a x + b y in base_link, optionally with a ramp kink at x = kink_x."""

    def __init__(self, slope_deg: float = 0.0, heading: float = 0.0, kink_x: float | None = None,
                 kink_deg: float = 0.0, noise: float = 0.005, seed: int = 0) -> None:
        m = math.tan(math.radians(slope_deg))
        self.a, self.b = m * math.cos(heading), m * math.sin(heading)
        self.kink_x, self.kink_m = kink_x, math.tan(math.radians(kink_deg))
        self.noise = noise
        self.rng = np.random.default_rng(seed)

    def z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = GROUND_Z + self.a * x + self.b * y
        if self.kink_x is not None:
            z = z + self.kink_m * np.clip(x - self.kink_x, 0.0, None)
        return z

    def normal_scale(self) -> float:
        """Vertical offset per metre of height along the plane normal."""
        return math.sqrt(1.0 + self.a ** 2 + self.b ** 2)

    def ground(self, n: int = 2500, x=(0.66, 3.0), y=(-1.5, 1.5)) -> np.ndarray:
        gx = self.rng.uniform(*x, n)
        gy = self.rng.uniform(*y, n)
        return np.c_[gx, gy, self.z(gx, gy) + self.rng.normal(0.0, self.noise, n)]

    def box(self, corners_xy: np.ndarray, height: float, density: float = 0.04) -> np.ndarray:
        """Points on the top and the sides of a prism standing on the ground, `height` m tall."""
        c = np.asarray(corners_xy, dtype=float)
        u, v = c[1] - c[0], c[3] - c[0]
        nu = max(2, int(np.linalg.norm(u) / density) + 1)
        nv = max(2, int(np.linalg.norm(v) / density) + 1)
        s, t = np.meshgrid(np.linspace(0, 1, nu), np.linspace(0, 1, nv))
        top_xy = c[0] + s.reshape(-1, 1) * u + t.reshape(-1, 1) * v
        lift = height * self.normal_scale()
        levels = np.linspace(0.0, 1.0, max(2, int(height / density) + 1))
        edges = []
        for i in range(4):
            p0, p1 = c[i], c[(i + 1) % 4]
            k = max(2, int(np.linalg.norm(p1 - p0) / density) + 1)
            edges.append(p0 + np.linspace(0, 1, k)[:, None] * (p1 - p0))
        edge = np.vstack(edges)
        side_xy = np.repeat(edge, len(levels), axis=0)
        side_lift = np.tile(levels, len(edge)) * lift
        xy = np.vstack([top_xy, side_xy])
        dz = np.concatenate([np.full(len(top_xy), lift), side_lift])
        return np.c_[xy, self.z(xy[:, 0], xy[:, 1]) + dz]


def rectangle(cx: float, cy: float, length: float, width: float, yaw: float = 0.0) -> np.ndarray:
    """Corners (4, 2) of a rectangle centred at (cx, cy), `length` along its yaw."""
    c, s = math.cos(yaw), math.sin(yaw)
    half = np.array([[-length / 2, -width / 2], [length / 2, -width / 2], [length / 2, width / 2],
                     [-length / 2, width / 2]])
    return half @ np.array([[c, s], [-s, c]]) + np.array([cx, cy])
