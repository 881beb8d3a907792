"""One drive's row of campaign.csv, judged from its outputs and the world's ground truth.

Besides the summary's figures, a row says how the guards did, judged by what was really there
(the world's rocks, which the drive never sees, and the ground-truth track):

- a rock counts where it stands taller than `max_step_height`: its *tall core*, the disc inside
  which its rounded profile is above that height (a wheel brushing the low flank of a 0.21 m rock
  meets no 0.20 m step);
- a *false obstacle stop* is an `obstacle_stop` with no tall core in the swept box ahead of the
  rover (in its direction of travel): from the footprint's edge
  out to clearance + obstacle_lookahead + JUDGE_MARGIN_M, as wide as the footprint plus the
  clearance on each side. Crater walls are not rocks: on a cratered world a stop for a crater
  rim counts as false, so judge the guard on rock fields;
- a *rock miss* is a rock whose tall core the ground projection of a wheel (2 r long, b wide)
  overlapped somewhere along the track;
- an *early slope stop* is a `slope_stop` while the ground-truth tilt stayed below
  `stop_tilt_deg` - SLOPE_TOLERANCE_DEG over the TILT_WINDOW_S before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import csv
from dataclasses import dataclass
import json
import math
from pathlib import Path
from typing import Any

from rover_bringup.campaign.execute import DriveResult
from rover_bringup.campaign.plan import Drive

JUDGE_MARGIN_M = 0.3  # beyond the guard's own stopping band: the cloud's noise and filter delay
SLOPE_TOLERANCE_DEG = 1.0  # the guard filters the IMU tilt; ground truth may read a little lower
TILT_WINDOW_S = 2.0
DENSIFY_STEP_M = 0.02  # track samples are interpolated to this spacing before the rock test
STOP_KINDS = {'obstacle_stop': 'stops_obstacle', 'slope_stop': 'stops_slope',
              'command_timeout': 'stops_command_timeout', 'estop': 'stops_estop'}

COLUMNS = ('world', 'scenario', 'seed', 'status', 'exit_code', 'distance_m', 'sim_time_s', 'final_x', 'final_y',
           'final_z', 'final_yaw_deg', 'max_tilt_deg', 'max_speed_mps', 'mean_slip', 'odom_drift_m',
           *STOP_KINDS.values(), 'false_obstacle_stops', 'rock_misses', 'early_slope_stops', 'wall_time_s',
           'max_rss_mb', 'message')


@dataclass(frozen=True)
class GuardLimits:
    """The guard settings a drive ran with (rover.yaml plus its --params files)."""

    max_step_height: float
    clearance: float
    obstacle_lookahead: float
    stop_tilt_deg: float


@dataclass(frozen=True)
class KnownRock:
    """A rock of the world: centre, diameter, peak height, and the power of its rounded profile
    h(r) = H (1 - (r/R)^p)^(1/p) (rover_sim.terrain.relief.rock_profile)."""

    x: float
    y: float
    diameter_m: float
    height_m: float
    shape_power: float = 2.0

    def radius_above(self, height: float) -> float:
        """Radius (m) of the part of the rock that stands taller than `height` (0 if none does)."""
        if self.height_m <= height:
            return 0.0
        p = self.shape_power
        return self.diameter_m / 2 * (1.0 - (max(height, 0.0) / self.height_m) ** p) ** (1.0 / p)


@dataclass(frozen=True)
class Body:
    """The rover seen from above, in base_link: footprint (x_min, x_max, y_min, y_max) and wheels."""

    footprint: tuple[float, float, float, float]
    wheels: tuple[tuple[float, float, float, float], ...]  # (x, y, radius, width)


@dataclass(frozen=True)
class TrackSample:
    t: float
    x: float
    y: float
    yaw: float
    tilt_deg: float


def read_track(path: Path) -> list[TrackSample]:
    """track.csv's ground-truth samples (rows with a non-finite field are skipped)."""
    samples = []
    with path.open(newline='', encoding='utf-8') as handle:
        for row in csv.DictReader(handle):
            try:
                values = [float(row[k]) for k in ('t', 'x', 'y', 'yaw', 'tilt_deg')]
            except (KeyError, TypeError, ValueError):
                continue
            if all(math.isfinite(v) for v in values):
                samples.append(TrackSample(*values))
    return samples


def _rect_distance(px: float, py: float, rect: tuple[float, float, float, float]) -> float:
    """Distance from a point to an axis-aligned rectangle (0 inside)."""
    x0, x1, y0, y1 = rect
    return math.hypot(max(x0 - px, 0.0, px - x1), max(y0 - py, 0.0, py - y1))


def _to_body(rock: KnownRock, x: float, y: float, yaw: float) -> tuple[float, float]:
    dx, dy = rock.x - x, rock.y - y
    c, s = math.cos(yaw), math.sin(yaw)
    return c * dx + s * dy, -s * dx + c * dy


def _pose_before(track: Sequence[TrackSample], t: float) -> TrackSample | None:
    before = [p for p in track if p.t <= t]
    return before[-1] if before else (track[0] if track else None)


def travel_direction(track: Sequence[TrackSample], t: float, window_s: float = 3.0) -> int:
    """+1 when the rover was moving forward over the window before t, -1 backward (default +1)."""
    now = _pose_before(track, t)
    then = _pose_before(track, t - window_s)
    if now is None or then is None:
        return 1
    along = (now.x - then.x) * math.cos(now.yaw) + (now.y - then.y) * math.sin(now.yaw)
    return -1 if along < -1e-3 else 1


def swept_box(body: Body, limits: GuardLimits, direction: int) -> tuple[float, float, float, float]:
    """The box (base_link) in which a tall rock justifies an obstacle stop."""
    x0, x1, y0, y1 = body.footprint
    reach = limits.clearance + limits.obstacle_lookahead + JUDGE_MARGIN_M
    y_lo, y_hi = y0 - limits.clearance, y1 + limits.clearance
    return (x1, x1 + reach, y_lo, y_hi) if direction > 0 else (x0 - reach, x0, y_lo, y_hi)


def is_false_obstacle_stop(x: float, y: float, yaw: float, direction: int, rocks: Iterable[KnownRock],
                           body: Body, limits: GuardLimits) -> bool:
    """True when no rock taller than max_step_height touches the swept box ahead."""
    box = swept_box(body, limits, direction)
    for rock in rocks:
        core = rock.radius_above(limits.max_step_height)
        if core > 0.0 and _rect_distance(*_to_body(rock, x, y, yaw), box) < core:
            return False
    return True


def densify(track: Sequence[TrackSample], step_m: float = DENSIFY_STEP_M) -> list[TrackSample]:
    """Interpolated poses no further apart than step_m (the CSV samples by distance and heading)."""
    out: list[TrackSample] = list(track[:1])
    for a, b in zip(track, track[1:], strict=False):
        n = max(1, math.ceil(math.hypot(b.x - a.x, b.y - a.y) / step_m))
        dyaw = math.atan2(math.sin(b.yaw - a.yaw), math.cos(b.yaw - a.yaw))
        for i in range(1, n + 1):
            f = i / n
            out.append(TrackSample(a.t + f * (b.t - a.t), a.x + f * (b.x - a.x), a.y + f * (b.y - a.y),
                                   a.yaw + f * dyaw, b.tilt_deg))
    return out


def rock_misses(track: Sequence[TrackSample], rocks: Iterable[KnownRock], body: Body, limits: GuardLimits) -> int:
    """How many rocks taller than max_step_height a wheel ran into along the track."""
    tall = [(r, r.radius_above(limits.max_step_height)) for r in rocks if r.height_m > limits.max_step_height]
    if not tall:
        return 0
    hit: set[int] = set()
    for pose in densify(track):
        for i, (rock, core) in enumerate(tall):
            if i in hit:
                continue
            bx, by = _to_body(rock, pose.x, pose.y, pose.yaw)
            for wx, wy, radius, width in body.wheels:
                patch = (wx - radius, wx + radius, wy - width / 2, wy + width / 2)
                if _rect_distance(bx, by, patch) < core:
                    hit.add(i)
                    break
    return len(hit)


def early_slope_stops(track: Sequence[TrackSample], events: Iterable[Mapping[str, Any]], limits: GuardLimits) -> int:
    """slope_stop events with the true tilt below the stop threshold over the window before them."""
    count = 0
    for event in events:
        if event.get('kind') != 'slope_stop':
            continue
        t = float(event.get('t', 0.0))
        window = [p.tilt_deg for p in track if t - TILT_WINDOW_S <= p.t <= t]
        before = _pose_before(track, t)
        peak = max(window) if window else (before.tilt_deg if before else 0.0)
        if peak < limits.stop_tilt_deg - SLOPE_TOLERANCE_DEG:
            count += 1
    return count


def _round(value: Any, digits: int) -> Any:
    return round(float(value), digits) if isinstance(value, (int, float)) and math.isfinite(value) else None


def drive_row(drive: Drive, result: DriveResult, run_dir: Path, rocks: Sequence[KnownRock], body: Body,
              limits: GuardLimits) -> dict[str, Any]:
    """The campaign.csv row of one drive (figures empty where the drive left no summary)."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(world=drive.world, scenario=drive.scenario, seed=drive.seed, status=result.status,
               exit_code=result.exit_code, wall_time_s=round(result.wall_s, 2),
               max_rss_mb=round(result.max_rss_mb, 1), message=result.message)
    summary_path = run_dir / 'summary.json'
    if not summary_path.is_file():
        return row
    try:
        summary = json.loads(summary_path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as exc:
        row.update(status='failed', message=f'unreadable summary.json: {exc}')
        return row
    pose = summary.get('final_pose') or {}
    row.update(distance_m=_round(summary.get('distance_m'), 4), sim_time_s=_round(summary.get('sim_time_s'), 3),
               final_x=_round(pose.get('x'), 4), final_y=_round(pose.get('y'), 4), final_z=_round(pose.get('z'), 4),
               final_yaw_deg=_round(math.degrees(pose['yaw']), 3) if 'yaw' in pose else None,
               max_tilt_deg=_round(summary.get('max_tilt_deg'), 3),
               max_speed_mps=_round(summary.get('max_speed_mps'), 5),
               mean_slip=_round(summary.get('mean_slip'), 4), odom_drift_m=_round(summary.get('odom_drift_m'), 4))
    events = [e for e in summary.get('events') or () if isinstance(e, Mapping)]
    for kind, column in STOP_KINDS.items():
        row[column] = sum(1 for e in events if e.get('kind') == kind)
    track_path = run_dir / 'track.csv'
    track = read_track(track_path) if track_path.is_file() else []
    false_stops = 0
    for event in events:
        if event.get('kind') == 'obstacle_stop':
            pose_then = _pose_before(track, float(event.get('t', 0.0)))
            x = event.get('x') if event.get('x') is not None else (pose_then.x if pose_then else None)
            y = event.get('y') if event.get('y') is not None else (pose_then.y if pose_then else None)
            if x is None or y is None or pose_then is None:
                continue
            direction = travel_direction(track, float(event['t']))
            false_stops += is_false_obstacle_stop(float(x), float(y), pose_then.yaw, direction, rocks, body, limits)
    row.update(false_obstacle_stops=false_stops, rock_misses=rock_misses(track, rocks, body, limits),
               early_slope_stops=early_slope_stops(track, events, limits))
    return row
