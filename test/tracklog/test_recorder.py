"""TrackRecorder: sampling, distance, speed, tilt, odometry alignment, drift, slip, events, summary."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rover_nav.tracklog.recorder import TrackRecorder


def yaw_q(yaw: float, pitch: float = 0.0) -> tuple[float, float, float, float]:
    """Quaternion of yaw about z then pitch about the body y axis (q = qz * qy)."""
    cy, sy, cp, sp = math.cos(yaw / 2), math.sin(yaw / 2), math.cos(pitch / 2), math.sin(pitch / 2)
    return (-sy * sp, cy * sp, sy * cp, cy * cp)


def drive_circle(rec: TrackRecorder, radius: float, speed: float, duration: float, rate: float = 20.0,
                 odom_scale: float = 1.0, t0: float = 100.0, odom_offset: tuple[float, float, float] = (0, 0, 0)):
    """Ground truth on a circle centred at (0, radius) starting at the origin heading +x; odometry
    reports odom_scale x the distance in its own frame, rotated/shifted by odom_offset (x, y, yaw)."""
    points = []
    n = int(duration * rate)
    ox, oy, oyaw = odom_offset
    for i in range(n + 1):
        t = t0 + i / rate
        a = speed * (i / rate) / radius
        x, y, yaw = radius * math.sin(a), radius * (1 - math.cos(a)), a
        ao = a * odom_scale
        lx, ly = radius * math.sin(ao), radius * (1 - math.cos(ao))
        c, s = math.cos(oyaw), math.sin(oyaw)
        rec.on_odom(t, ox + c * lx - s * ly, oy + s * lx + c * ly, 0.0, yaw_q(ao + oyaw))
        p = rec.on_ground_truth(t, x, y, 0.0, yaw_q(yaw))
        if p is not None:
            points.append(p)
    return points


def test_circle_distance_speed_and_spacing():
    rec = TrackRecorder(0.05, math.radians(5))
    pts = drive_circle(rec, radius=2.0, speed=0.0559, duration=60.0)
    final = rec.finish()
    if final is not None:
        pts.append(final)
    arc = 0.0559 * 60.0
    assert rec.distance_m == pytest.approx(arc, rel=1e-3)
    poly = sum(math.dist((a.x, a.y), (b.x, b.y)) for a, b in zip(pts, pts[1:], strict=False))
    assert poly == pytest.approx(rec.distance_m, rel=1e-3)
    assert pts[-1].distance_m == pytest.approx(rec.distance_m, rel=1e-6)
    assert 60 <= len(pts) <= 70  # one point per 5 cm
    s = rec.summary(wall_time_s=3.0)
    assert s['max_speed_mps'] == pytest.approx(0.0559, rel=1e-2)
    assert s['sim_time_s'] == pytest.approx(60.0)
    assert s['real_time_factor'] == pytest.approx(20.0)
    assert s['final_pose']['x'] == pytest.approx(2.0 * math.sin(arc / 2.0), abs=1e-3)
    assert s['odom_drift_m'] == pytest.approx(0.0, abs=1e-6)
    assert s['mean_slip'] == pytest.approx(0.0, abs=1e-6)
    assert s['track_source'] == 'ground_truth'
    assert all(p.t >= 0 for p in pts) and pts[0].t == pytest.approx(0.0)


def test_parked_rover_adds_no_points_and_no_distance():
    rec = TrackRecorder()
    rng = [1e-4, -1e-4, 2e-4, 0.0]
    pts = [rec.on_ground_truth(10 + i * 0.05, rng[i % 4], rng[(i + 1) % 4], 0.0, yaw_q(1e-4 * rng[i % 4]))
           for i in range(2000)]
    assert sum(p is not None for p in pts) == 1
    assert rec.distance_m < 1e-3
    assert rec.summary(1.0)['max_speed_mps'] < 0.01


def test_odometry_in_a_rotated_frame_is_aligned_and_slip_measured():
    rec = TrackRecorder()
    # odometry overestimates by 10 % (wheels slip) and lives in a frame rotated by 90 deg, shifted
    pts = drive_circle(rec, radius=5.0, speed=0.05, duration=100.0, odom_scale=1.10, odom_offset=(3.0, -1.0, 1.5708))
    s = rec.summary(1.0)
    assert s['mean_slip'] == pytest.approx(1 - 1 / 1.10, abs=5e-3)
    slips = [p.slip for p in pts if p.slip is not None]
    assert slips and all(abs(v - (1 - 1 / 1.10)) < 0.05 for v in slips)
    # aligned odometry starts on the ground truth and drifts ahead along the circle
    assert pts[0].odom_x == pytest.approx(0.0, abs=1e-3) and pts[0].odom_y == pytest.approx(0.0, abs=1e-3)
    a_gt, a_odom = 5.0 / 5.0, 5.0 * 1.1 / 5.0
    expected = 2 * 5.0 * math.sin((a_odom - a_gt) / 2)  # chord between the two circle positions
    assert s['odom_drift_m'] == pytest.approx(expected, rel=1e-3)
    assert s['odom_drift_percent'] == pytest.approx(100 * expected / 5.0, rel=1e-2)


def test_tilt_events_and_diagnostics():
    rec = TrackRecorder()
    for i in range(100):
        t = 5.0 + i * 0.1
        rec.on_ground_truth(t, i * 0.01, 0.0, 0.0, yaw_q(0.0, pitch=math.radians(12.0 if i < 50 else 21.0)))
        if i == 60:
            ev = rec.on_event(t, 'slope_stop', 'tilt 21 deg', 'slope_guard')
    rec.on_diagnostic(1, 'guard', 'slow', 13.0)
    rec.on_diagnostic(1, 'guard', 'slow', 14.0)
    rec.on_diagnostic(0, 'guard', 'ok', 14.9)
    s = rec.summary(1.0)
    assert s['max_tilt_deg'] == pytest.approx(21.0, abs=1e-6)
    assert ev.t == pytest.approx(6.0) and ev.x == pytest.approx(0.6)
    assert s['events'] == [{'t': 6.0, 'kind': 'slope_stop', 'detail': 'tilt 21 deg', 'source': 'slope_guard',
                            'x': 0.6, 'y': 0.0}]
    assert s['worst_diagnostic_level'] == 'WARN'
    assert s['worst_diagnostic']['name'] == 'guard'
    assert s['worst_diagnostic']['held_s'] == pytest.approx(1.0) and s['worst_diagnostic']['since_s'] == 8.0


def test_worst_diagnostic_is_the_most_severe_level_held_for_a_second():
    """A one-report start-up warning, or a brief error, is not the drive's worst diagnostic."""
    rec = TrackRecorder()

    def report(t: float, level: int, name: str, message: str) -> None:
        rec.on_ground_truth(t, 0.0, 0.0, 0.0, yaw_q(0.0))  # diagnostics arrive along the drive
        rec.on_diagnostic(level, name, message, t)

    report(0.0, 1, '/obstacle_guard', 'waiting for the first cloud')  # once, then OK
    report(1.0, 0, '/obstacle_guard', 'ok')
    report(2.0, 2, '/drive', 'brief fault')
    report(2.5, 0, '/drive', 'ok')
    assert rec.summary(1.0)['worst_diagnostic_level'] == 'OK'
    for t in (3.0, 4.0, 5.0, 6.0):  # held 3 s
        report(t, 1, '/slope_guard', 'slowing')
    report(7.0, 0, '/slope_guard', 'ok')
    for t in (8.0, 9.0):  # a warning still holding at the end of the run: held to the end
        report(t, 1, '/wheel_odometry', 'slipping')
    rec.on_ground_truth(12.0, 0.0, 0.0, 0.0, yaw_q(0.0))
    s = rec.summary(1.0)
    assert s['worst_diagnostic_level'] == 'WARN'
    assert s['worst_diagnostic']['name'] == '/wheel_odometry' and s['worst_diagnostic']['held_s'] == 4.0
    report(12.0, 2, '/drive', 'stalled')
    report(13.5, 2, '/drive', 'stalled')
    rec.on_diagnostic(1, '/clockless', 'stamped with the wall clock', 1.8e9)  # taken at the run's latest time
    s = rec.summary(1.0)
    assert (s['worst_diagnostic_level'], s['worst_diagnostic']['name']) == ('ERROR', '/drive')
    assert s['worst_diagnostic']['held_s'] == 1.5 and s['worst_diagnostic']['since_s'] == 12.0
    assert s['sim_time_s'] == 13.5
    assert s['worst_diagnostic']['counts'] == {'WARN': 8, 'OK': 3, 'ERROR': 3}


def test_odometry_only_becomes_the_source_after_the_grace_period():
    rec = TrackRecorder(source='auto', odom_only_after_s=2.0)
    pts = [rec.on_odom(i * 0.1, i * 0.01, 0.0, 0.0, yaw_q(0.0)) for i in range(100)]
    taken = [p for p in pts if p is not None]
    assert taken[0].t == pytest.approx(2.0) and taken[0].source == 'odom'
    assert rec.summary(1.0)['track_source'] == 'odom'
    assert rec.summary(1.0)['odom_drift_m'] is None
    rec.on_imu_tilt(7.5)
    assert rec.summary(1.0)['max_tilt_deg'] == 7.5


def test_ground_truth_mode_ignores_odometry_for_the_track():
    rec = TrackRecorder(source='ground_truth')
    assert all(rec.on_odom(i * 0.1, i * 0.1, 0, 0, yaw_q(0)) is None for i in range(100))
    assert rec.on_ground_truth(10.0, 0.0, 0.0, 0.0, yaw_q(0.0)) is not None


def test_rejects_non_finite_input():
    rec = TrackRecorder()
    for bad in ((math.nan, 0, 0, 0, yaw_q(0)), (1.0, math.inf, 0, 0, yaw_q(0)), (1.0, 0, 0, 0, (0, 0, 0, 0))):
        with pytest.raises(ValueError):
            rec.on_ground_truth(*bad)
    with pytest.raises(ValueError):
        rec.on_event(math.nan, 'x', 'y')
    assert rec.points == 0
    with pytest.raises(ValueError):
        TrackRecorder(source='gps')


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2), st.floats(-0.5, 0.5)), min_size=2,
                max_size=200))
def test_distance_equals_track_polyline_plus_tail(steps):
    rec = TrackRecorder(0.05, math.radians(5), odometer_deadband_m=0.0)
    x = y = yaw = 0.0
    pts = []
    for i, (dx, dy, dyaw) in enumerate(steps):
        x, y, yaw = x + dx, y + dy, yaw + dyaw
        p = rec.on_ground_truth(float(i), x, y, 0.0, yaw_q(yaw))
        if p is not None:
            pts.append(p)
    for p in pts:  # every point's distance is the path length up to it, never decreasing
        assert p.distance_m >= 0
    assert [p.distance_m for p in pts] == sorted(p.distance_m for p in pts)
    assert rec.distance_m == pytest.approx(sum(math.hypot(dx, dy) for dx, dy, _ in steps[1:]), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize('lag', [-3, 0, 4])
def test_slip_and_drift_do_not_depend_on_arrival_order(lag):
    """Odometry arriving `lag` ticks after (or before) ground truth measures the same slip."""
    rec = TrackRecorder()
    rate, speed, scale = 20.0, 0.2, 1.05
    gt_msgs, odom_msgs = [], []
    for i in range(61):  # a 3 s, 0.6 m drive: short, so ordering errors would show
        t = 1000.0 + i / rate
        gt_msgs.append((t, speed * (t - 1000.0), 0.0, 0.0, yaw_q(0.0)))
        odom_msgs.append((t, scale * speed * (t - 1000.0), 0.0, 0.0, yaw_q(0.0)))
    pts = []
    for i in range(61 + abs(lag)):
        gi, oi = (i, i - lag) if lag >= 0 else (i + lag, i)
        if 0 <= oi < 61:
            rec.on_odom(*odom_msgs[oi])
        if 0 <= gi < 61:
            p = rec.on_ground_truth(*gt_msgs[gi])
            if p is not None:
                pts.append(p)
    s = rec.summary(1.0)
    assert s['mean_slip'] == pytest.approx(1 - 1 / scale, abs=2e-3)
    assert s['odom_drift_m'] == pytest.approx((scale - 1) * 0.6, abs=2e-3)
    assert all(abs(p.slip - (1 - 1 / scale)) < 0.02 for p in pts if p.slip is not None)


def test_distance_history_interpolates_between_knots():
    from rover_nav.tracklog.sampling import DistanceHistory

    h = DistanceHistory(0.01)
    assert h.at(5.0) == 0.0
    for i in range(11):
        h.update(10.0 + i, 0.1 * i, 0.0)
    assert h.at(10.0) == 0.0 and h.at(15.5) == pytest.approx(0.55) and h.at(99.0) == pytest.approx(1.0)
    h.update(12.0, 5.0, 5.0)  # older than the newest: ignored
    assert h.at(99.0) == pytest.approx(1.0)


@pytest.mark.parametrize('slope_deg', [0.0, 10.0, 20.0, 30.0])
def test_slip_on_a_slope_is_3d_progress_against_rim_travel(slope_deg):
    """Issue 17 item 7: up a slope the rover progresses along the ground; the planar wheel odometry
    integrates the rim travel along the heading (z = 0). Slip is 1 - 3-D progress / rim travel, the same
    on every slope; horizontal progress would add 1 - cos(slope) (a true 44 % showed as 47 % on 20 deg)."""
    rec = TrackRecorder()
    rate, rim_speed, true_slip = 10.0, 0.0559, 0.44
    heading, pitch = math.radians(30.0), math.radians(slope_deg)
    ground = (1.0 - true_slip) * rim_speed  # m/s along the slope
    pts = []
    for i in range(1201):  # 120 s: 3.8 m along the ground
        t = 50.0 + i / rate
        along = ground * (i / rate)
        x, y = along * math.cos(pitch) * math.cos(heading), along * math.cos(pitch) * math.sin(heading)
        z = 1.0 + along * math.sin(pitch)
        rim = rim_speed * (i / rate)
        rec.on_odom(t, rim, 0.0, 0.0, yaw_q(0.0))  # planar odometry in its own frame
        p = rec.on_ground_truth(t, x, y, z, yaw_q(heading, pitch=-pitch))  # nose up = negative pitch
        if p is not None:
            pts.append(p)
    s = rec.summary(1.0)
    assert s['mean_slip'] == pytest.approx(true_slip, abs=2e-3)
    slips = [p.slip for p in pts if p.slip is not None]
    assert len(slips) > 50 and all(abs(v - true_slip) < 0.02 for v in slips)


def test_distance_history_is_3d():
    from rover_nav.tracklog.sampling import DistanceHistory

    h = DistanceHistory(0.01)
    for i in range(11):
        h.update(float(i), 0.03 * i, 0.0, 0.04 * i)  # 5 cm per step along a 53 deg incline
    assert h.at(10.0) == pytest.approx(0.5)


def test_the_track_logging_doc_names_every_column_and_the_3d_slip():
    """docs/track_logging.md's track.csv row is what a user reads the columns from: it must match the code."""
    import re

    from rover_description.paths import REPO_ROOT
    from rover_nav.tracklog.files import CSV_COLUMNS

    row = next(line for line in (REPO_ROOT / 'docs' / 'track_logging.md').read_text().splitlines()
               if line.startswith('| `track.csv`'))
    named = {name.strip() for cell in re.findall(r'`([a-z_, ]+)`', row) for name in cell.split(',')}
    assert set(CSV_COLUMNS) <= named, set(CSV_COLUMNS) - named
    assert '3-D path length' in row.split('`slip`')[1].split('`distance_m`')[0]
