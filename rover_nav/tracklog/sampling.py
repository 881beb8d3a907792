"""Distance/heading sampling, a dead-band odometer and a moving-average speed.

All positions are metres in one frame, times are seconds (sim time), headings radians.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
import math
from typing import TypeVar

from rover_nav.tracklog.geo import wrap_angle

T = TypeVar('T')


def _finite(name: str, *values: float) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f'{name} must be finite, got {values}')


class TrackSampler:
    """Decides which poses become track points: by distance travelled and heading change.

    A pose is taken when it is at least `min_distance_m` (3-D) from the last taken pose, or its
    heading differs by at least `min_heading_rad`; the first pose is always taken. Time alone never
    adds a point, so a parked rover adds nothing and a point turn adds one point every
    `min_heading_rad`.
    """

    def __init__(self, min_distance_m: float, min_heading_rad: float) -> None:
        _finite('min_distance_m', min_distance_m)
        _finite('min_heading_rad', min_heading_rad)
        if min_distance_m <= 0.0:
            raise ValueError(f'min_distance_m must be > 0, got {min_distance_m}')
        if min_heading_rad <= 0.0:
            raise ValueError(f'min_heading_rad must be > 0, got {min_heading_rad}')
        self.min_distance_m = min_distance_m
        self.min_heading_rad = min_heading_rad
        self._last: tuple[float, float, float, float] | None = None

    def offer(self, x: float, y: float, z: float, yaw: float) -> bool:
        """True when this pose should be recorded (and it becomes the new reference)."""
        _finite('pose', x, y, z, yaw)
        if self._last is not None:
            lx, ly, lz, lyaw = self._last
            moved = math.sqrt((x - lx) ** 2 + (y - ly) ** 2 + (z - lz) ** 2)
            turned = abs(wrap_angle(yaw - lyaw))
            if moved < self.min_distance_m and turned < self.min_heading_rad:
                return False
        self._last = (x, y, z, yaw)
        return True

    def differs(self, x: float, y: float, z: float, yaw: float, tol_m: float = 1e-4,
                tol_rad: float = 1e-3) -> bool:
        """True when the pose is not (within the tolerances) the last recorded one."""
        if self._last is None:
            return True
        lx, ly, lz, lyaw = self._last
        return math.dist((x, y, z), (lx, ly, lz)) > tol_m or abs(wrap_angle(yaw - lyaw)) > tol_rad

    def force(self, x: float, y: float, z: float, yaw: float) -> None:
        """Make this pose the reference (used for the final point at shutdown)."""
        _finite('pose', x, y, z, yaw)
        self._last = (x, y, z, yaw)


class Odometer:
    """Path length with a dead band, so sensor jitter of a parked rover adds no distance.

    The distance grows by the straight segment from an anchor to the current position once that
    segment is at least `deadband_m` long; the current position then becomes the anchor. The
    chord error on a curve of radius r is about deadband^2 / (24 r^2) relative (negligible for
    a 1 cm dead band). `horizontal=True` ignores z.
    """

    def __init__(self, deadband_m: float = 0.01, horizontal: bool = False) -> None:
        _finite('deadband_m', deadband_m)
        if deadband_m < 0.0:
            raise ValueError(f'deadband_m must be >= 0, got {deadband_m}')
        self.deadband_m = deadband_m
        self.horizontal = horizontal
        self.distance_m = 0.0
        self._anchor: tuple[float, float, float] | None = None
        self._current: tuple[float, float, float] | None = None

    def update(self, x: float, y: float, z: float = 0.0) -> float:
        """Feed a position; returns the distance so far (m)."""
        _finite('position', x, y, z)
        z = 0.0 if self.horizontal else z
        self._current = (x, y, z)
        if self._anchor is None:
            self._anchor = self._current
            return self.distance_m
        step = math.dist(self._anchor, self._current)
        if step >= self.deadband_m and step > 0.0:
            self.distance_m += step
            self._anchor = self._current
        return self.distance_m

    def total_with_tail(self) -> float:
        """Distance including the last, not yet counted piece below the dead band."""
        if self._anchor is None or self._current is None:
            return self.distance_m
        return self.distance_m + math.dist(self._anchor, self._current)


class MovingAverageSpeed:
    """Mean horizontal speed over the last `window_s` seconds (m/s) = path length / time.

    Fed with (t, x, y); the average is defined once the samples span at least 90 % of the
    window (so a single noisy step at start-up cannot claim a top speed). Out-of-order or
    repeated times are ignored.
    """

    def __init__(self, window_s: float = 1.0, deadband_m: float = 0.0) -> None:
        _finite('window_s', window_s)
        if window_s <= 0.0:
            raise ValueError(f'window_s must be > 0, got {window_s}')
        self.window_s = window_s
        self._odo = Odometer(deadband_m, horizontal=True)
        self._samples: deque[tuple[float, float]] = deque()  # (t, cumulative distance)
        self.max_speed = 0.0

    def update(self, t: float, x: float, y: float) -> float | None:
        """Feed a position at time t; returns the current moving average or None if undefined."""
        _finite('sample', t, x, y)
        if self._samples and t <= self._samples[-1][0]:
            return self.current()
        self._samples.append((t, self._odo.update(x, y)))
        while len(self._samples) > 2 and self._samples[1][0] <= t - self.window_s:
            self._samples.popleft()
        speed = self.current()
        if speed is not None:
            self.max_speed = max(self.max_speed, speed)
        return speed

    def current(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 0.9 * self.window_s:
            return None
        return (d1 - d0) / (t1 - t0)


def decimate(items: Sequence[T], max_len: int) -> list[T]:
    """Bound a path: while longer than `max_len`, drop every second item (first and last kept).

    The whole drive stays visible at a coarser resolution instead of losing its beginning.
    """
    if max_len < 2:
        raise ValueError(f'max_len must be >= 2, got {max_len}')
    out = list(items)
    while len(out) > max_len:
        last = out[-1]
        out = out[:-1:2]
        if out[-1] is not last:
            out.append(last)
    return out


class DistanceHistory:
    """3-D path length as a function of time, D(t), for comparing two sources over one window.

    Wheel slip compares how far ground truth and odometry moved over the *same* time span; the
    two topics arrive interleaved and a few ticks apart, so each keeps its own D(t) (a dead-band
    odometer, knots stored whenever it advances) and `at(t)` interpolates linearly between knots
    (error below the dead band). Distance is frame-independent, so odometry needs no alignment.
    The path is 3-D: on a slope the rover's progress is along the ground, and a planar wheel
    odometry's path (z = 0) is the rim travel itself; a horizontal ground-truth distance would
    count cos(slope) of the progress as slip. Samples older than the newest are ignored.
    """

    def __init__(self, deadband_m: float = 0.01) -> None:
        self._odo = Odometer(deadband_m)
        self._times: list[float] = []
        self._dists: list[float] = []
        self.first_t: float | None = None
        self.last_t: float | None = None
        self._last_d = 0.0

    def update(self, t: float, x: float, y: float, z: float = 0.0) -> None:
        _finite('sample', t, x, y, z)
        if self.last_t is not None and t < self.last_t:
            return
        before = self._odo.distance_m
        self._odo.update(x, y, z)
        if self.first_t is None:
            self.first_t = t
            self._times.append(t)
            self._dists.append(0.0)
        elif self._odo.distance_m != before:
            self._times.append(t)
            self._dists.append(self._odo.distance_m)
        self.last_t = t
        self._last_d = self._odo.total_with_tail()

    def at(self, t: float) -> float:
        """D(t) in metres (clamped to the recorded time span); 0 before any sample."""
        if self.last_t is None:
            return 0.0
        if t >= self.last_t:
            return self._last_d
        i = bisect.bisect_right(self._times, t)
        if i == 0:
            return 0.0
        t0, d0 = self._times[i - 1], self._dists[i - 1]
        t1, d1 = (self._times[i], self._dists[i]) if i < len(self._times) else (self.last_t, self._last_d)
        if t1 <= t0:
            return d1
        return d0 + (d1 - d0) * (t - t0) / (t1 - t0)
