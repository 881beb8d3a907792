"""The track and the summary of one drive, from ground truth, odometry, IMU, events, diagnostics.

Pure core: the node (or the bag replay) feeds it decoded values with explicit sim times (s); it
returns the track points to write and builds the summary dict of ROVER_SPEC section 5.

Track source: ground truth (`world` frame) when the simulator provides it; otherwise wheel
odometry (`odom` frame, hardware). In 'auto' mode odometry becomes the source only after
`odom_only_after_s` of odometry without any ground truth, so a simulator whose ground truth
starts a tick late never mixes frames.

Odometry is drawn in the world frame: the odom frame is aligned to the world with the first
(ground truth, odometry) pair, T_world_odom = T_world_base(t_a) * T_odom_base(t_a)^-1 (planar:
x, y, yaw). Odometry drift = horizontal distance between the aligned odometry position and
ground truth. Slip = 1 - (ground-truth 3-D path length / odometry path length) over a stretch:
positive when the wheels turn more than the rover moves (wheel slip), negative when it skids
forward. The wheel odometry integrates the rims' rate along the rover's heading without any
slope projection, so its path length is the rim travel; ground truth is compared in 3-D, because
on a slope the progress is along the ground (a horizontal distance would report cos(slope) of
the progress as slip: a true 50 % showed as 53 % on 20 degrees).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import json
import math
from typing import Any

from rover_nav.tracklog.geo import tilt_deg_from_quaternion, yaw_from_quaternion
from rover_nav.tracklog.sampling import DistanceHistory, MovingAverageSpeed, Odometer, TrackSampler

SOURCES = ('auto', 'ground_truth', 'odom')
DIAG_NAMES = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}
#: A diagnostic level must be held this long (sim s) to be the summary's worst diagnostic.
MIN_DIAGNOSTIC_HELD_S = 1.0
#: A diagnostic's log time further than this (s) from the run's latest time is on another clock.
MAX_DIAGNOSTIC_SKEW_S = 5.0
#: Below this odometry distance (m) a slip ratio is not meaningful.
MIN_SLIP_DISTANCE_M = 0.005
#: /events text longer than this is not parsed as JSON (one event is a short JSON object).
MAX_EVENT_CHARS = 65536
#: Each event field (kind, detail, source) is cut to this many characters.
MAX_FIELD_CHARS = 2000
#: A pose further than this from the origin (10 000 km: beyond the Moon) is implausible: rejected.
MAX_POSITION_M = 1.0e7


@dataclass(frozen=True)
class TrackPoint:
    """One row of track.csv. t: sim s since start; stamp: absolute sim s; metres, radians."""

    t: float
    stamp: float
    x: float
    y: float
    z: float
    yaw: float
    speed: float | None
    tilt_deg: float
    odom_x: float | None
    odom_y: float | None
    odom_yaw: float | None
    slip: float | None
    distance_m: float
    source: str


@dataclass(frozen=True)
class EventRecord:
    """One /events entry with the pose where it happened (t: sim s since start)."""

    t: float
    kind: str
    detail: str
    source: str
    x: float | None
    y: float | None

    def as_dict(self) -> dict[str, Any]:
        return {'t': round(self.t, 3), 'kind': self.kind, 'detail': self.detail, 'source': self.source,
                'x': None if self.x is None else round(self.x, 4), 'y': None if self.y is None else round(self.y, 4)}


@dataclass
class _Pose:
    t: float
    x: float
    y: float
    z: float
    yaw: float
    tilt_deg: float


@dataclass
class _Diag:
    """One diagnostic condition: a status name at one level, from its first report (sim s)."""

    level: int = -1
    name: str = ''
    message: str = ''
    since: float = 0.0
    last: float = 0.0

    def held_s(self, end: float | None = None) -> float:
        """How long the level is proven held: to its last report, or to `end` while it still holds."""
        return (self.last if end is None else max(self.last, end)) - self.since


def parse_event(text: str, log_s: float, max_skew_s: float = 5.0) -> tuple[float, str, str, str]:
    """An /events JSON entry -> (t, kind, detail, source); t in absolute sim seconds.

    The entry's own `t` is used when it is a finite number within `max_skew_s` of the log time
    (a publisher not on sim time would otherwise put the event hours away); else the log time.
    A non-JSON text becomes kind 'unknown' with the text as detail.
    Hostile input is bounded: a text longer than MAX_EVENT_CHARS is not parsed (kept, cut, as an
    'unknown' detail), deep nesting (RecursionError) and numbers beyond float range are rejected,
    and every field is cut to MAX_FIELD_CHARS.
    """
    entry: Any = None
    if len(text) <= MAX_EVENT_CHARS:
        try:
            entry = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, a 4300+ digit number, nesting beyond the stack
            entry = None
    if not isinstance(entry, dict):
        entry = {'kind': 'unknown', 'detail': text}
    t = entry.get('t')
    try:
        t = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None
    except OverflowError:  # a 400-digit integer
        t = None
    ok = t is not None and math.isfinite(t) and abs(t - log_s) < max_skew_s
    return (t if ok else log_s, _field(entry.get('kind', 'unknown')), _field(entry.get('detail', '')),
            _field(entry.get('source', '')))


def _field(value: Any) -> str:
    """One event field as bounded text (a nested value is not repr()'d: only its type is named)."""
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS]
    if isinstance(value, (bool, float)) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else f'<integer of {value.bit_length()} bits>'
    return f'<{type(value).__name__}>'


def _pose(t: float, x: float, y: float, z: float, q: tuple[float, float, float, float]) -> _Pose:
    if not all(math.isfinite(v) for v in (t, x, y, z, *q)):
        raise ValueError(f'non-finite pose at t={t}: position ({x}, {y}, {z}), orientation {q}')
    if max(abs(x), abs(y), abs(z)) > MAX_POSITION_M:
        raise ValueError(f'implausible position ({x:.3g}, {y:.3g}, {z:.3g}) m: beyond {MAX_POSITION_M:.0e} m')
    return _Pose(t, x, y, z, yaw_from_quaternion(*q), tilt_deg_from_quaternion(*q))


class TrackRecorder:
    """Feeds on decoded inputs, emits sampled `TrackPoint`s and builds the summary."""

    def __init__(self, sample_distance_m: float = 0.05, sample_heading_rad: float = math.radians(5.0),
                 source: str = 'auto', odom_only_after_s: float = 2.0, speed_window_s: float = 1.0,
                 odometer_deadband_m: float = 0.01) -> None:
        if source not in SOURCES:
            raise ValueError(f'source must be one of {SOURCES}, got {source!r}')
        self.sampler = TrackSampler(sample_distance_m, sample_heading_rad)
        self.source_mode = source
        self.odom_only_after_s = odom_only_after_s
        self.t0: float | None = None
        self.t_last: float | None = None
        self.primary: str | None = None if source == 'auto' else source
        self._gt: _Pose | None = None
        self._odom: _Pose | None = None
        self._odom_first_t: float | None = None
        self._align: tuple[float, float, float] | None = None  # world_from_odom: x, y, yaw
        self._odo = Odometer(odometer_deadband_m)
        self._speed = MovingAverageSpeed(speed_window_s)
        self._gt_dist = DistanceHistory(odometer_deadband_m)
        self._odom_dist = DistanceHistory(odometer_deadband_m)
        self._slip_t: float | None = None  # end of the last point's slip window (sim s)
        self._both_since: float | None = None  # when ground truth and odometry were first both seen
        self._recent_gt: deque[_Pose] = deque(maxlen=50)  # until aligned: poses to pair by stamp
        self._recent_odom: deque[_Pose] = deque(maxlen=50)
        self.max_tilt_deg = 0.0
        self._imu_tilt_max = 0.0
        self._imu_seen = False
        self.events: list[EventRecord] = []
        self.points = 0
        self._diag_counts: dict[str, int] = {}
        self._diag_open: dict[str, _Diag] = {}  # status name -> its current level since its first report
        self._diag_worst: _Diag | None = None  # the worst closed condition held >= MIN_DIAGNOSTIC_HELD_S

    # -- time -----------------------------------------------------------------------------
    def note_time(self, t: float) -> None:
        """Every message's log time (sim s): the run starts at the earliest one.

        Topics arrive slightly out of order at start-up (a later /clock before the first pose),
        so the start is the minimum seen so far, not the first arrival.
        """
        if not math.isfinite(t):
            raise ValueError(f'time must be finite, got {t}')
        if self.t0 is None or t < self.t0:
            self.t0 = t
        self.t_last = t if self.t_last is None else max(self.t_last, t)

    def _rel(self, t: float) -> float:
        return t - (self.t0 if self.t0 is not None else t)

    # -- inputs ---------------------------------------------------------------------------
    def on_ground_truth(self, t: float, x: float, y: float, z: float,
                        q: tuple[float, float, float, float]) -> TrackPoint | None:
        """A ground-truth pose (world frame); returns a track point when one is due."""
        pose = _pose(t, x, y, z, q)
        self.note_time(t)
        self._gt = pose
        if self.primary is None and self.source_mode == 'auto':
            self.primary = 'ground_truth'
        self._gt_dist.update(t, x, y, z)
        if self._align is None:
            self._recent_gt.append(pose)
        if self._align is None and self._odom is not None:
            self._try_align()
        if self.primary != 'ground_truth':
            return None
        return self._primary_update(pose)

    def on_odom(self, t: float, x: float, y: float, z: float,
                q: tuple[float, float, float, float]) -> TrackPoint | None:
        """An odometry pose (odom frame); returns a track point when odometry is the source."""
        pose = _pose(t, x, y, z, q)
        self.note_time(t)
        self._odom = pose
        if self._odom_first_t is None:
            self._odom_first_t = t
        if self.primary is None and t - self._odom_first_t >= self.odom_only_after_s:
            self.primary = 'odom'
        if self.primary == 'odom' and self._align is None:
            self._align = (0.0, 0.0, 0.0)  # no ground truth: the world is the odom frame
        self._odom_dist.update(t, x, y, z)
        if self._align is None:
            self._recent_odom.append(pose)
        if self._align is None and self._gt is not None:
            self._try_align()
        if self.primary != 'odom':
            return None
        return self._primary_update(pose)

    def on_imu_tilt(self, tilt_deg: float) -> None:
        """IMU tilt (deg): used for max_tilt_deg only when there is no ground truth."""
        if not math.isfinite(tilt_deg):
            raise ValueError(f'tilt must be finite, got {tilt_deg}')
        self._imu_seen = True
        self._imu_tilt_max = max(self._imu_tilt_max, tilt_deg)

    def on_event(self, t: float, kind: str, detail: str, source: str = '') -> EventRecord:
        """An /events entry at sim time t (absolute s), recorded with the current pose."""
        if not math.isfinite(t):
            raise ValueError(f'event time must be finite, got {t}')
        self.note_time(t)
        pose = self._current_primary()
        record = EventRecord(self._rel(t), str(kind), str(detail), str(source),
                             None if pose is None else pose[0], None if pose is None else pose[1])
        self.events.append(record)
        return record

    def on_diagnostic(self, level: int, name: str, message: str, t: float | None = None) -> None:
        """One DiagnosticStatus at sim time t (default: the latest time seen).

        A level holds for a status name from its first report until that name reports another
        level; it counts as held for as long as reports prove it: to its last report at that
        level, or to the end of the run while it still holds. A single start-up warning followed
        by OK is therefore held 0 s, not the drive's "worst diagnostic".
        """
        level = int(level)
        key = DIAG_NAMES.get(level, str(level))
        self._diag_counts[key] = self._diag_counts.get(key, 0) + 1
        if t is not None and not math.isfinite(t):
            raise ValueError(f'diagnostic time must be finite, got {t}')
        if t is None or (self.t_last is not None and abs(t - self.t_last) > MAX_DIAGNOSTIC_SKEW_S):
            # no time, or a log time on another clock (a node not on sim time): the run's latest time
            t = self.t_last if self.t_last is not None else 0.0
        current = self._diag_open.get(name)
        if current is not None and current.level == level:
            current.last, current.message = t, message
            return
        if current is not None:
            self._consider(current, current.held_s())
        self._diag_open[name] = _Diag(level, name, message, t, t)

    def _consider(self, diag: _Diag, held: float) -> None:
        best = self._diag_worst
        if diag.level > 0 and held >= MIN_DIAGNOSTIC_HELD_S and (
                best is None or (diag.level, held) > (best.level, best.held_s())):
            self._diag_worst = _Diag(diag.level, diag.name, diag.message, diag.since, diag.since + held)

    def worst_diagnostic(self) -> _Diag | None:
        """The most severe level any node held for at least MIN_DIAGNOSTIC_HELD_S (the longest among equals)."""
        saved = self._diag_worst
        for diag in self._diag_open.values():  # still holding at the end of the run
            self._consider(diag, diag.held_s(self.t_last))
        worst, self._diag_worst = self._diag_worst, saved
        return worst

    def finish(self) -> TrackPoint | None:
        """The last pose as a final point when it is not already the last point."""
        pose = self._gt if self.primary == 'ground_truth' else self._odom if self.primary == 'odom' else None
        if pose is None or self.points == 0 or not self.sampler.differs(pose.x, pose.y, pose.z, pose.yaw):
            return None
        self.sampler.force(pose.x, pose.y, pose.z, pose.yaw)
        return self._make_point(pose)

    # -- internals ------------------------------------------------------------------------
    def _try_align(self) -> None:
        """Align odom to world on a ground-truth/odometry pair of the same tick (stamps within 1 ms,
        searched in the recent history of both, as they arrive a few ticks apart); if the stamps
        never match (different rates), on the pair closest in time after 1 s."""
        assert self._gt is not None and self._odom is not None
        now = max(self._gt.t, self._odom.t)
        if self._both_since is None:
            self._both_since = now
        pairs = [(abs(g.t - o.t), g, o) for g in self._recent_gt for o in self._recent_odom]
        if not pairs:
            return
        gap, g, o = min(pairs, key=lambda item: item[0])
        if gap <= 1e-3 or now - self._both_since >= 1.0:
            self._align_frames(g, o)
            self._recent_gt.clear()
            self._recent_odom.clear()

    def _align_frames(self, g: _Pose, o: _Pose) -> None:
        yaw = g.yaw - o.yaw
        c, s = math.cos(yaw), math.sin(yaw)
        self._align = (g.x - (c * o.x - s * o.y), g.y - (s * o.x + c * o.y), yaw)

    def _odom_in_world(self) -> tuple[float, float, float]:
        assert self._odom is not None and self._align is not None
        ax, ay, ayaw = self._align
        c, s = math.cos(ayaw), math.sin(ayaw)
        o = self._odom
        yaw = math.atan2(math.sin(o.yaw + ayaw), math.cos(o.yaw + ayaw))
        return ax + c * o.x - s * o.y, ay + s * o.x + c * o.y, yaw

    def _current_primary(self) -> tuple[float, float] | None:
        if self.primary == 'ground_truth' and self._gt is not None:
            return self._gt.x, self._gt.y
        if self.primary == 'odom' and self._odom is not None:
            return self._odom.x, self._odom.y
        if self._gt is not None:
            return self._gt.x, self._gt.y
        return None

    def _primary_update(self, pose: _Pose) -> TrackPoint | None:
        self._odo.update(pose.x, pose.y, pose.z)
        self._speed.update(pose.t, pose.x, pose.y)
        self.max_tilt_deg = max(self.max_tilt_deg, pose.tilt_deg)
        if not self.sampler.offer(pose.x, pose.y, pose.z, pose.yaw):
            return None
        return self._make_point(pose)

    def _make_point(self, pose: _Pose) -> TrackPoint:
        odom_x = odom_y = odom_yaw = None
        if self._odom is not None and self._align is not None:
            odom_x, odom_y, odom_yaw = self._odom_in_world()
        slip = None
        if self.primary == 'ground_truth' and self._odom_dist.last_t is not None:
            # the window ends where both sources have data, and starts where the last one ended
            t_b = min(pose.t, self._odom_dist.last_t)
            if self._slip_t is not None and t_b > self._slip_t:
                slip = self._slip(self._slip_t, t_b)
            if self._slip_t is None or t_b > self._slip_t:
                self._slip_t = max(t_b, self._odom_dist.first_t or t_b)
        self.points += 1
        return TrackPoint(t=self._rel(pose.t), stamp=pose.t, x=pose.x, y=pose.y, z=pose.z, yaw=pose.yaw,
                          speed=self._speed.current(), tilt_deg=pose.tilt_deg, odom_x=odom_x, odom_y=odom_y,
                          odom_yaw=odom_yaw, slip=slip, distance_m=self._odo.total_with_tail(),
                          source=self.primary or '')

    # -- summary --------------------------------------------------------------------------
    @property
    def distance_m(self) -> float:
        return self._odo.total_with_tail()

    def odom_drift_m(self) -> float | None:
        if self.primary != 'ground_truth' or self._gt is None or self._odom is None or self._align is None:
            return None
        ox, oy, _ = self._odom_in_world()
        return math.hypot(ox - self._gt.x, oy - self._gt.y)

    def _slip(self, t_a: float, t_b: float, min_odom_m: float = MIN_SLIP_DISTANCE_M) -> float | None:
        d_gt = self._gt_dist.at(t_b) - self._gt_dist.at(t_a)
        d_odom = self._odom_dist.at(t_b) - self._odom_dist.at(t_a)
        return 1.0 - d_gt / d_odom if d_odom >= min_odom_m else None

    def mean_slip(self) -> float | None:
        """1 - ground-truth 3-D path length / odometry path length (rim travel) over the span both sources cover."""
        g, o = self._gt_dist, self._odom_dist
        if self.primary != 'ground_truth' or g.first_t is None or o.first_t is None:
            return None
        assert g.last_t is not None and o.last_t is not None
        t_a, t_b = max(g.first_t, o.first_t), min(g.last_t, o.last_t)
        if t_b <= t_a:
            return None
        return self._slip(t_a, t_b, 10 * MIN_SLIP_DISTANCE_M)

    def summary(self, wall_time_s: float, **extra: Any) -> dict[str, Any]:
        """The summary.json content (ROVER_SPEC section 5 keys plus drift and slip)."""
        sim = 0.0 if self.t0 is None or self.t_last is None else self.t_last - self.t0
        pose = self._gt if self.primary == 'ground_truth' else self._odom if self.primary == 'odom' else None
        final = None if pose is None else {'x': round(pose.x, 4), 'y': round(pose.y, 4), 'z': round(pose.z, 4),
                                           'yaw': round(pose.yaw, 5)}
        tilt = self.max_tilt_deg if self.primary == 'ground_truth' or not self._imu_seen else self._imu_tilt_max
        drift = self.odom_drift_m()
        slip = self.mean_slip()
        distance = self.distance_m
        worst = self.worst_diagnostic()
        out: dict[str, Any] = {
            'distance_m': round(distance, 4),
            'sim_time_s': round(sim, 3),
            'wall_time_s': round(wall_time_s, 3),
            'real_time_factor': round(sim / wall_time_s, 3) if wall_time_s > 0 else None,
            'max_speed_mps': round(self._speed.max_speed, 5),
            'max_tilt_deg': round(tilt, 3),
            'final_pose': final,
            'events': [e.as_dict() for e in self.events],
            'worst_diagnostic_level': 'OK' if worst is None else DIAG_NAMES.get(worst.level, str(worst.level)),
            'worst_diagnostic': {'level': 0 if worst is None else worst.level,
                                 'name': '' if worst is None else worst.name,
                                 'message': '' if worst is None else worst.message,
                                 'held_s': None if worst is None else round(worst.held_s(), 3),
                                 'since_s': None if worst is None else round(self._rel(worst.since), 3),
                                 'counts': dict(self._diag_counts)},
            'odom_drift_m': None if drift is None else round(drift, 4),
            'odom_drift_percent': None if drift is None or distance < 0.1 else round(100.0 * drift / distance, 3),
            'mean_slip': None if slip is None else round(slip, 4),
            'track_source': self.primary,
            'track_points': self.points,
            'start_time_s': self.t0,
        }
        out.update(extra)
        return out
