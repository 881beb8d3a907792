"""Slope guard core: slow down on steep ground, refuse to climb past the rated slope.

Inputs (explicit times `now` in s on the node clock):
- the IMU orientation as the world-up vector in base_link (see `attitude.up_in_base`),
  low-pass filtered with time constant `tilt_filter_time`;
- optionally the tilt of the terrain ahead, from the hazcam cloud (`terrain_tilt_ahead`).

Rules, on the filtered tilt (angle between body z and world up):
- tilt <= slow: pass. slow < tilt < stop: scale v and w together by a factor falling linearly
  from 1 at `slow_tilt_deg` to `slow_speed_factor` at `stop_tilt_deg` (same arc, slower).
- tilt >= stop: STOP state until tilt < resume (hysteresis). In STOP every command whose
  base_link velocity (v, 0) has a positive component along the uphill direction is blocked
  (zero); commands with a non-positive uphill component and point turns (v = 0) pass, scaled
  by `slow_speed_factor`, so the rover can always back down or turn.
- terrain ahead steeper than `slow_tilt_deg` slows forward commands the same way before the
  rover is on it (look-ahead never blocks).
- roll-over limit: a filtered tilt at or past `max_tilt_deg` in ANY direction (nose up or
  down, rolled, upside down) blocks every command, backing and turning included: past the
  tip-over margin no wheel motion is predictable, and recovery is a human's job. The block
  lifts when the filtered tilt is below max_tilt_deg - 2 deg.
- no IMU orientation for `imu_timeout`: every command is blocked (fail safe).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_nav.safety.attitude import UpFilter, tilt_of, uphill_of
from rover_nav.safety.command import ZERO, Twist2D, require_finite, same_sign
from rover_nav.safety.ground import fit_plane_finite, plane_tilt
from rover_nav.safety.sweep import Footprint

LEVEL, SLOW, STOP, STALE, ROLLOVER = 'level', 'slow', 'stop', 'stale', 'rollover'
SLOW_HYSTERESIS_DEG = 0.5  # leaving SLOW needs tilt < slow - this, so events do not chatter
ROLLOVER_HYSTERESIS_DEG = 2.0  # leaving ROLLOVER needs the filtered tilt < max_tilt - this


@dataclass(frozen=True)
class SlopeConfig:
    """Thresholds in degrees, times in seconds, factor in 0..1."""

    slow_tilt_deg: float
    stop_tilt_deg: float
    resume_tilt_deg: float
    imu_timeout: float
    tilt_filter_time: float = 0.5
    slow_speed_factor: float = 0.5
    lookahead_timeout: float = 1.0
    max_tilt_deg: float = 90.0

    def __post_init__(self) -> None:
        require_finite(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        if not 0.0 <= self.slow_tilt_deg < self.resume_tilt_deg < self.stop_tilt_deg <= 90.0:
            raise ValueError('need 0 <= slow_tilt_deg < resume_tilt_deg < stop_tilt_deg <= 90, got '
                             f'{self.slow_tilt_deg}, {self.resume_tilt_deg}, {self.stop_tilt_deg}')
        if not self.stop_tilt_deg < self.max_tilt_deg <= 180.0:
            raise ValueError(f'need stop_tilt_deg < max_tilt_deg <= 180, got {self.stop_tilt_deg}, '
                             f'{self.max_tilt_deg}')
        if not 0.0 < self.slow_speed_factor <= 1.0:
            raise ValueError(f'slow_speed_factor must be in (0, 1], got {self.slow_speed_factor}')
        if self.imu_timeout <= 0.0 or self.tilt_filter_time < 0.0 or self.lookahead_timeout <= 0.0:
            raise ValueError('imu_timeout and lookahead_timeout must be > 0, tilt_filter_time >= 0')


@dataclass(frozen=True)
class SlopeDecision:
    """The command to pass on and why: state is LEVEL, SLOW, STOP or STALE."""

    command: Twist2D
    state: str
    blocked: bool
    factor: float


class SlopeGuard:
    """Feed `update_imu` (and optionally `update_lookahead`), ask `check` for each command."""

    def __init__(self, config: SlopeConfig) -> None:
        self.config = config
        self._filter = UpFilter(config.tilt_filter_time)
        self._imu_t: float | None = None
        self._stopped = False
        self._slow = False
        self._rolled = False
        self._ahead_deg: float | None = None
        self._ahead_t: float | None = None

    def configure(self, config: SlopeConfig) -> None:
        self.config = config
        self._filter.tau = config.tilt_filter_time

    @property
    def tilt_deg(self) -> float | None:
        """Filtered tilt (deg), None before the first IMU sample."""
        up = self._filter.value
        return None if up is None else math.degrees(tilt_of(up))

    @property
    def up(self) -> np.ndarray | None:
        """Filtered world up in base_link (not normalised), None before the first IMU sample."""
        return self._filter.value

    @property
    def uphill(self) -> tuple[float, float]:
        up = self._filter.value
        return (0.0, 0.0) if up is None else uphill_of(up)

    @property
    def ahead_deg(self) -> float | None:
        return self._ahead_deg

    def state(self, now: float) -> str:
        if self.imu_stale(now):
            return STALE
        if self._rolled:
            return ROLLOVER
        if self._stopped:
            return STOP
        return SLOW if self._slow else LEVEL

    def imu_stale(self, now: float) -> bool:
        return self._imu_t is None or now - self._imu_t > self.config.imu_timeout or now < self._imu_t

    def update_imu(self, up_base: np.ndarray, now: float) -> str | None:
        """New up vector (base_link) at `now`; returns 'slope_slow'/'slope_stop' on entering a state."""
        up = np.asarray(up_base, dtype=float)
        if up.shape != (3,):
            raise ValueError(f'up vector must be a finite non-zero (3,) array, got {up_base!r}')
        x, y, z = up.tolist()
        norm = math.hypot(x, y, z)
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)) or norm < 1e-6:
            raise ValueError(f'up vector must be a finite non-zero (3,) array, got {up_base!r}')
        require_finite(now=now)
        self._filter.update(up / norm, now)
        self._imu_t = now
        tilt = self.tilt_deg
        assert tilt is not None
        cfg = self.config
        event = None
        if not self._rolled and tilt >= cfg.max_tilt_deg:
            self._rolled = True
            event = 'slope_stop'
        elif self._rolled and tilt < cfg.max_tilt_deg - ROLLOVER_HYSTERESIS_DEG:
            self._rolled = False
        if not self._stopped and tilt >= cfg.stop_tilt_deg:
            self._stopped = True
            event = event or 'slope_stop'
        elif self._stopped and tilt < cfg.resume_tilt_deg:
            self._stopped = False
        if not self._slow and tilt > cfg.slow_tilt_deg:
            self._slow = True
            event = event or 'slope_slow'
        elif self._slow and tilt < cfg.slow_tilt_deg - SLOW_HYSTERESIS_DEG:
            self._slow = False
        return event

    def update_lookahead(self, tilt_ahead_deg: float | None, now: float) -> None:
        """Tilt (deg) of the terrain just ahead of the footprint, None when it cannot be told."""
        require_finite(now=now)
        if tilt_ahead_deg is not None:
            require_finite(tilt_ahead_deg=tilt_ahead_deg)
        self._ahead_deg = tilt_ahead_deg
        self._ahead_t = now

    def factor_at(self, tilt_deg: float) -> float:
        """Speed factor for a tilt (deg): 1 up to slow, linear to slow_speed_factor at stop."""
        cfg = self.config
        if tilt_deg <= cfg.slow_tilt_deg:
            return 1.0
        if tilt_deg >= cfg.stop_tilt_deg:
            return cfg.slow_speed_factor
        frac = (tilt_deg - cfg.slow_tilt_deg) / (cfg.stop_tilt_deg - cfg.slow_tilt_deg)
        return 1.0 - frac * (1.0 - cfg.slow_speed_factor)

    def check(self, v: float, w: float, now: float) -> SlopeDecision:
        """The command (v m/s, w rad/s) this guard lets through at `now`."""
        require_finite(v=v, w=w, now=now)
        if self.imu_stale(now):
            return SlopeDecision(ZERO, STALE, v != 0.0 or w != 0.0, 0.0)
        tilt = self.tilt_deg
        assert tilt is not None
        factor = self.factor_at(tilt)
        ahead_fresh = (self._ahead_t is not None and 0.0 <= now - self._ahead_t <= self.config.lookahead_timeout)
        if v > 0.0 and ahead_fresh and self._ahead_deg is not None:
            factor = min(factor, self.factor_at(self._ahead_deg))
        if self._rolled:
            return SlopeDecision(ZERO, ROLLOVER, v != 0.0 or w != 0.0, 0.0)
        state = STOP if self._stopped else (SLOW if self._slow else LEVEL)
        if self._stopped:
            ux, _ = self.uphill
            if same_sign(v, ux):
                return SlopeDecision(ZERO, state, True, 0.0)
            factor = min(factor, self.config.slow_speed_factor)
        return SlopeDecision(Twist2D(v * factor, w * factor), state, False, factor)


def terrain_tilt_ahead(points_base: np.ndarray, footprint: Footprint, up_base: np.ndarray,
                       distance: float, min_points: int = 30) -> float | None:
    """Tilt (deg) of the ground in front of the rover, from hazcam points (N, 3) in base_link.

    Fits one robust plane (rocks trimmed) to the points from the footprint's front edge to
    `distance` m beyond it, within the footprint's width, and returns the angle between its
    normal and world up (`up_base`, base_link). None with too few points there.
    """
    pts = np.asarray(points_base, dtype=float).reshape(-1, 3)
    x, y = pts[:, 0], pts[:, 1]
    x0, x1, y0, y1 = footprint
    # comparisons are false for NaN, and no infinite x or y lies inside the box: only z needs a finite check
    sel = (x >= x1) & (x <= x1 + distance) & (y >= y0) & (y <= y1)
    region = pts[sel]
    region = region[np.isfinite(region[:, 2])]
    if len(region) < min_points:
        return None
    plane = fit_plane_finite(region)
    if plane is None:
        return None
    return math.degrees(plane_tilt(plane, up_base))
