"""Obstacle guard core: find steps taller than the rover can climb and keep out of their way.

Per cloud (points (N, 3) in base_link, non-finite rows are no-returns and skipped):
heights above the local ground (`ground.heights_above_ground`), points higher than
`max_step_height` are obstacle points (a cell needs `min_obstacle_points` of them, so a lone
noisy return does not stop the rover). With odometry the obstacles are remembered in the odom
frame on a `memory_cell` grid: a remembered cell is forgotten only when the current cloud
sees that cell again (free or not), so a rock that drops out of the sensor's view in front of
the wheels is still there. Memory farther than `memory_radius` from the rover is dropped.

Per command: `sweep.check_sweep` of the obstacles (now in base_link) along the command's
path; a command that brings any obstacle closer than `clearance` to the footprint is replaced
by zero; backing away and turning away pass. A stale cloud (or stale odometry while the memory
is on) blocks every command.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_nav.safety.command import ZERO, Twist2D, require_finite
from rover_nav.safety.ground import GroundParams, heights_above_ground
from rover_nav.safety.sweep import Footprint, check_sweep

OK, BLOCKED, STALE_CLOUD, STALE_ODOM = 'ok', 'obstacle', 'stale_cloud', 'stale_odom'
_COUNT_CELL = 0.1  # m, cell in which min_obstacle_points are counted
#: m; odometry farther from its origin is not believed (the float64 grid of the memory would
#: lose centimetres long before 1e15 m; a rover odometry never gets near either)
MAX_ODOM_ABS = 1.0e6
#: an odometry step longer than ODOM_JUMP_M + ODOM_MAX_SPEED * dt (or turning more than
#: ODOM_JUMP_RAD + ODOM_MAX_RATE * dt) is a jump (reset, glitch), not motion: the memory is
#: carried over relative to the rover, so no obstacle is lost or moved by it
ODOM_JUMP_M, ODOM_MAX_SPEED = 0.25, 1.0
ODOM_JUMP_RAD, ODOM_MAX_RATE = 0.5, 1.0


@dataclass(frozen=True)
class ObstacleConfig:
    """Heights and distances in m, times in s."""

    max_step_height: float
    clearance: float
    cloud_timeout: float
    lookahead: float = 0.1
    use_memory: bool = True
    odom_timeout: float = 1.0
    memory_radius: float = 6.0
    memory_cell: float = 0.05
    max_range: float = 6.0
    min_obstacle_points: int = 2
    min_valid_points: int = 20

    def __post_init__(self) -> None:
        floats = ('max_step_height', 'clearance', 'cloud_timeout', 'lookahead', 'odom_timeout',
                  'memory_radius', 'memory_cell', 'max_range')
        require_finite(**{k: getattr(self, k) for k in floats})
        if min(self.max_step_height, self.cloud_timeout, self.odom_timeout, self.memory_cell,
               self.memory_radius, self.max_range) <= 0.0 or min(self.clearance, self.lookahead) < 0.0:
            raise ValueError(f'obstacle guard limits must be positive: {self}')
        if self.min_obstacle_points < 1 or self.min_valid_points < 3:
            raise ValueError('min_obstacle_points must be >= 1 and min_valid_points >= 3')


@dataclass(frozen=True)
class CloudReport:
    """What one cloud contributed: valid points, obstacle points (after the count filter)."""

    accepted: bool
    valid_points: int
    obstacle_points: int


@dataclass(frozen=True)
class ObstacleDecision:
    command: Twist2D
    state: str
    blocked: bool
    point: tuple[float, float] | None = None  # worst obstacle, base_link xy (m)
    distance: float = math.inf  # its closest gap to the footprint over the horizon (m)


@dataclass(frozen=True)
class Pose2D:
    """base_link in odom: x, y (m), yaw (rad)."""

    x: float
    y: float
    yaw: float

    def to_odom(self, xy: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.stack([self.x + c * xy[:, 0] - s * xy[:, 1], self.y + s * xy[:, 0] + c * xy[:, 1]], axis=1)

    def to_base(self, xy: np.ndarray) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = xy[:, 0] - self.x, xy[:, 1] - self.y
        return np.stack([c * dx + s * dy, -s * dx + c * dy], axis=1)


def _cell_keys(xy: np.ndarray, cell: float) -> np.ndarray:
    """One int64 key per xy row for the square grid of size `cell` (m)."""
    ij = np.floor(xy / cell).astype(np.int64)
    return (ij[:, 0] << 32) ^ (ij[:, 1] & 0xFFFFFFFF)


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, starts, counts): a stable sort of `keys` and its runs of equal keys.

    keys[order[starts]] are the distinct keys, ascending; order[starts] the index of each one's
    first occurrence (what np.unique(return_index=True) gives, without its overheads).
    """
    order = np.argsort(keys, kind='stable')
    ordered = keys[order]
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return order, starts, np.diff(np.append(starts, len(keys)))


def _is_in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """np.isin(values, sorted_keys) for an ascending `sorted_keys` (duplicates allowed)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(values), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[idx] == values


def obstacle_points(points: np.ndarray, config: ObstacleConfig,
                    ground: GroundParams = GroundParams()) -> tuple[np.ndarray, np.ndarray]:
    """Split a base_link cloud (N, 3): returns (valid finite points in range, obstacle points (M, 3))."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f'points must have shape (N, 3), got {pts.shape}')
    # one mask for "finite and in range": hypot is NaN or inf (never <= max_range) for a non-finite x or y
    pts = pts[(np.hypot(pts[:, 0], pts[:, 1]) <= config.max_range) & np.isfinite(pts[:, 2])]
    if len(pts) == 0:
        return pts, pts
    h = heights_above_ground(pts, ground)
    high = pts[np.nan_to_num(h, nan=-np.inf) > config.max_step_height]
    if len(high) and config.min_obstacle_points > 1:
        order, _, counts = _runs(_cell_keys(high[:, :2], _COUNT_CELL))
        per_point = np.empty(len(high), dtype=np.int64)
        per_point[order] = np.repeat(counts, counts)  # points in each point's own cell
        high = high[per_point >= config.min_obstacle_points]
    return pts, high


class ObstacleGuard:
    """Feed `update_odom` and `update_cloud`; ask `check` for each command."""

    def __init__(self, config: ObstacleConfig, footprint: Footprint, ground: GroundParams = GroundParams()) -> None:
        x0, x1, y0, y1 = footprint
        require_finite(x_min=x0, x_max=x1, y_min=y0, y_max=y1)
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f'footprint must be (x_min < x_max, y_min < y_max), got {footprint}')
        self.config = config
        self.footprint = footprint
        self.ground = ground
        self._pose: Pose2D | None = None
        self._odom_t: float | None = None
        self._cloud_t: float | None = None
        self._current = np.zeros((0, 2))  # obstacles of the last cloud, base_link at cloud time
        self._mem_keys = np.zeros(0, dtype=np.int64)
        self._mem_xy = np.zeros((0, 2))  # odom

    def configure(self, config: ObstacleConfig) -> None:
        if config.memory_cell != self.config.memory_cell or not config.use_memory:
            self.clear_memory()
        self.config = config

    def clear_memory(self) -> None:
        self._mem_keys = np.zeros(0, dtype=np.int64)
        self._mem_xy = np.zeros((0, 2))

    @property
    def memory_size(self) -> int:
        return len(self._mem_keys)

    def update_odom(self, x: float, y: float, yaw: float, now: float) -> bool:
        """base_link pose in odom (m, m, rad) received at `now`; True when it was a jump (memory carried over).

        ValueError (nothing changes; odometry goes stale, which blocks) if not finite or farther
        than MAX_ODOM_ABS from the odom origin.
        """
        require_finite(x=x, y=y, yaw=yaw, now=now)
        if abs(x) > MAX_ODOM_ABS or abs(y) > MAX_ODOM_ABS:
            raise ValueError(f'odometry position ({x:.3g}, {y:.3g}) m is implausible (beyond {MAX_ODOM_ABS:g} m)')
        new = Pose2D(x, y, yaw)
        old, jumped = self._pose, False
        if old is not None and self._odom_t is not None:
            dt = max(now - self._odom_t, 0.0)
            turn = abs(math.remainder(yaw - old.yaw, 2.0 * math.pi))
            jumped = (math.hypot(x - old.x, y - old.y) > ODOM_JUMP_M + ODOM_MAX_SPEED * dt
                      or turn > ODOM_JUMP_RAD + ODOM_MAX_RATE * dt)
            if jumped and len(self._mem_xy):
                self._mem_xy = new.to_odom(old.to_base(self._mem_xy))  # same place relative to the rover
                self._mem_keys = _cell_keys(self._mem_xy, self.config.memory_cell)
        self._pose = new
        self._odom_t = now
        return jumped

    def odom_fresh(self, now: float) -> bool:
        t = self._odom_t
        return t is not None and 0.0 <= now - t <= self.config.odom_timeout

    def cloud_fresh(self, now: float) -> bool:
        t = self._cloud_t
        return t is not None and 0.0 <= now - t <= self.config.cloud_timeout

    def update_cloud(self, points_base: np.ndarray, now: float) -> CloudReport:
        """A new cloud (N, 3) in base_link received at `now`.

        Too few finite points (a blinded or broken sensor) do not count as a fresh cloud.
        """
        require_finite(now=now)
        cfg = self.config
        valid, high = obstacle_points(points_base, cfg, self.ground)
        if len(valid) < cfg.min_valid_points:
            return CloudReport(False, len(valid), 0)
        self._cloud_t = now
        self._current = high[:, :2].copy()
        if cfg.use_memory and self._pose is not None and self.odom_fresh(now):
            self._remember(valid, high)
        return CloudReport(True, len(valid), len(high))

    def _remember(self, valid: np.ndarray, high: np.ndarray) -> None:
        cfg = self.config
        assert self._pose is not None
        seen = np.sort(_cell_keys(self._pose.to_odom(valid[:, :2]), cfg.memory_cell))
        keep = ~_is_in_sorted(self._mem_keys, seen)
        keys, xy = self._mem_keys[keep], self._mem_xy[keep]
        if len(high):
            high_xy = self._pose.to_odom(high[:, :2])
            high_keys = _cell_keys(high_xy, cfg.memory_cell)
            order, starts, _ = _runs(high_keys)
            first = order[starts]  # one point per cell (its first), cells ascending
            keys = np.concatenate([keys, high_keys[first]])
            xy = np.concatenate([xy, high_xy[first]])
        near = np.hypot(xy[:, 0] - self._pose.x, xy[:, 1] - self._pose.y) <= cfg.memory_radius
        self._mem_keys, self._mem_xy = keys[near], xy[near]

    def obstacles_base(self) -> np.ndarray:
        """Known obstacle points (M, 2), base_link xy now (m)."""
        if self.config.use_memory and self._pose is not None:
            return self._pose.to_base(self._mem_xy)
        return self._current

    def check(self, v: float, w: float, now: float) -> ObstacleDecision:
        """The command (v m/s, w rad/s) this guard lets through at `now`."""
        require_finite(v=v, w=w, now=now)
        moving = v != 0.0 or w != 0.0
        if not self.cloud_fresh(now):
            return ObstacleDecision(ZERO, STALE_CLOUD, moving)
        if self.config.use_memory and not self.odom_fresh(now):
            return ObstacleDecision(ZERO, STALE_ODOM, moving)
        cfg = self.config
        result = check_sweep(self.obstacles_base(), v, w, self.footprint, cfg.clearance, cfg.lookahead)
        if result.blocked:
            return ObstacleDecision(ZERO, BLOCKED, True, result.point, result.distance)
        return ObstacleDecision(Twist2D(v, w), OK, False)
