"""Swept path of the rover's footprint under a command, and whether it closes in on obstacles.

Frames: obstacle points (N, 2) are xy in base_link now (m). The footprint is the rectangle
(x_min, x_max, y_min, y_max) in base_link, wheels included (from the rover description).
The command (v, w) is held for a short horizon; the rover's pose after time t is the arc
x = v/w sin(wt), y = v/w (1 - cos(wt)), heading = wt (straight line when w = 0, rotation in
place when v = 0). The horizon ends when the footprint point farthest from base_link has moved
`lookahead` m, so straight lines, arcs and point turns all look the same distance ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_nav.safety.command import require_finite

Footprint = tuple[float, float, float, float]  # x_min, x_max, y_min, y_max in base_link


@dataclass(frozen=True)
class SweepResult:
    """blocked: the command brings some obstacle closer than clearance. When blocked, `point`
    is the worst obstacle (base_link xy now) and `distance` its closest gap (m) over the horizon."""

    blocked: bool
    point: tuple[float, float] | None = None
    distance: float = math.inf


def corner_radius(footprint: Footprint) -> float:
    """Distance (m) from base_link to the footprint's farthest corner."""
    x0, x1, y0, y1 = footprint
    return max(math.hypot(x, y) for x in (x0, x1) for y in (y0, y1))


def rectangle_distance(px: np.ndarray, py: np.ndarray, footprint: Footprint) -> np.ndarray:
    """Signed distance (m) from points to the footprint rectangle: > 0 outside, < 0 inside."""
    x0, x1, y0, y1 = footprint
    dx = np.maximum(x0 - px, px - x1)
    dy = np.maximum(y0 - py, py - y1)
    outside = np.hypot(np.maximum(dx, 0.0), np.maximum(dy, 0.0))
    inside = np.minimum(np.maximum(dx, dy), 0.0)
    return outside + inside


def sample_poses(v: float, w: float, footprint: Footprint, lookahead: float, step: float = 0.01) -> np.ndarray:
    """Poses (K, 3) = (x, y, heading) of base_link along the command, starting at (0, 0, 0).

    K - 1 steps such that no footprint point moves more than `step` m per step and the last
    pose has moved the farthest footprint point about `lookahead` m. A zero command gives the
    single pose (0, 0, 0).
    """
    require_finite(v=v, w=w, lookahead=lookahead, step=step)
    rate = abs(v) + abs(w) * corner_radius(footprint)  # speed bound of any footprint point, m/s
    if rate <= 0.0 or lookahead <= 0.0:
        return np.zeros((1, 3))
    # parametrise by the distance the farthest point travels: only the path shape matters, and
    # normalising first keeps tiny commands from overflowing the horizon
    vn, wn = v / rate, w / rate
    k = max(1, int(math.ceil(lookahead / step)))
    d = np.linspace(0.0, lookahead, k + 1)
    heading = wn * d
    if abs(wn) * lookahead < 1e-9:
        x, y = vn * d, np.zeros_like(d)
    else:
        x = vn / wn * np.sin(heading)
        y = vn / wn * (1.0 - np.cos(heading))
    return np.stack([x, y, heading], axis=1)


def check_sweep(points_xy: np.ndarray, v: float, w: float, footprint: Footprint, clearance: float,
                lookahead: float, step: float = 0.01, tolerance: float = 1e-3) -> SweepResult:
    """Would holding (v, w) bring any obstacle point closer than `clearance` to the footprint?

    A point blocks when, somewhere along the horizon, its gap to the footprint is below
    `clearance` AND smaller than its gap now (minus `tolerance`): so moving away from an
    obstacle that is already close (backing away, turning away) is always allowed, and a
    command that does not move the rover never blocks. Points deeper than `clearance` inside
    the footprint (under the belly: remembered, or odometry drift) are ignored; they can no
    longer be avoided and would otherwise strand the rover.
    """
    require_finite(v=v, w=w, clearance=clearance, lookahead=lookahead)
    pts = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    poses = sample_poses(v, w, footprint, lookahead, step)
    if len(pts) == 0 or len(poses) < 2:
        return SweepResult(False)
    # keep only points the footprint could reach within the horizon (cheap pre-filter)
    reach = corner_radius(footprint) + lookahead + clearance + step
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) <= reach]
    if len(pts) == 0:
        return SweepResult(False)
    px, py = pts[:, 0][:, None], pts[:, 1][:, None]  # (N, 1)
    tx, ty, th = poses[:, 0][None, :], poses[:, 1][None, :], poses[:, 2][None, :]  # (1, K)
    c, s = np.cos(th), np.sin(th)
    # point in the future base_link frame: R(-heading) (p - t)
    fx = c * (px - tx) + s * (py - ty)
    fy = -s * (px - tx) + c * (py - ty)
    gap = rectangle_distance(fx, fy, footprint)  # (N, K)
    now_gap = gap[:, 0]
    future_min = gap[:, 1:].min(axis=1)
    under = now_gap < -clearance  # under the body already: cannot be avoided, must not strand the rover
    blocking = (future_min < clearance) & (future_min < now_gap - tolerance) & ~under
    if not np.any(blocking):
        return SweepResult(False)
    worst = int(np.argmin(np.where(blocking, future_min, np.inf)))
    return SweepResult(True, (float(pts[worst, 0]), float(pts[worst, 1])), float(future_min[worst]))
