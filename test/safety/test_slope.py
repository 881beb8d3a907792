"""Attitude maths and the slope guard core (pure, no ROS)."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.rotations import quaternion_matrix, rpy_matrix
from rover_nav.safety.attitude import tilt_of, up_in_base, uphill_of
from rover_nav.safety.command import ZERO
from rover_nav.safety.slope import LEVEL, SLOW, STALE, STOP, SlopeConfig, SlopeGuard, terrain_tilt_ahead

CFG = SlopeConfig(slow_tilt_deg=15.0, stop_tilt_deg=20.0, resume_tilt_deg=18.0, imu_timeout=0.5,
                  tilt_filter_time=0.5, slow_speed_factor=0.5)
UNFILTERED = SlopeConfig(15.0, 20.0, 18.0, 0.5, tilt_filter_time=0.0, slow_speed_factor=0.5)
angles = st.floats(-math.pi, math.pi)
speeds = st.floats(-1.0, 1.0, allow_nan=False)


def quat_from_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of Rz(yaw) Ry(pitch) Rx(roll), written out independently of the code under test."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


def up_for(roll: float, pitch: float, yaw: float = 0.0) -> np.ndarray:
    return up_in_base(quat_from_rpy(roll, pitch, yaw), np.eye(3))


def settled(guard: SlopeGuard, up: np.ndarray, t0: float = 0.0, seconds: float = 5.0) -> float:
    """Feed a constant attitude at 50 Hz until the filter has settled; returns the last time."""
    t = t0
    for _ in range(int(seconds * 50)):
        t += 0.02
        guard.update_imu(up, t)
    return t


@settings(max_examples=2000, deadline=None)
@given(angles, angles, angles)
def test_quaternion_matrix_matches_rpy(roll, pitch, yaw):
    np.testing.assert_allclose(quaternion_matrix(*quat_from_rpy(roll, pitch, yaw)), rpy_matrix(roll, pitch, yaw),
                               atol=1e-9)


def test_nose_up_pitch_points_uphill_forward():
    # REP-103: pitch is about +y, so a nose-up attitude on a slope is a NEGATIVE pitch
    up = up_for(0.0, math.radians(-20.0), yaw=1.0)
    assert math.degrees(tilt_of(up)) == pytest.approx(20.0)
    assert uphill_of(up) == pytest.approx((1.0, 0.0))
    up = up_for(math.radians(10.0), 0.0)  # left side up (roll about +x)
    assert math.degrees(tilt_of(up)) == pytest.approx(10.0)
    assert uphill_of(up) == pytest.approx((0.0, 1.0))
    assert uphill_of(up_for(0.0, 0.0)) == (0.0, 0.0)


def test_imu_mount_rotation_is_undone():
    mount = rpy_matrix(0.0, 0.0, math.pi / 2)  # IMU turned 90 deg left on the body
    body = rpy_matrix(0.0, math.radians(-20.0), 0.3)  # body nose up 20 deg
    imu_in_world = body @ mount
    q = quat_of_matrix(imu_in_world)
    up = up_in_base(q, mount)
    assert uphill_of(up) == pytest.approx((1.0, 0.0), abs=1e-9)
    assert math.degrees(tilt_of(up)) == pytest.approx(20.0)


def quat_of_matrix(m: np.ndarray) -> tuple[float, float, float, float]:
    w = math.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2.0
    return ((m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w), w)


@settings(max_examples=2000, deadline=None)
@given(st.floats(0.0, 60.0), angles, speeds, speeds)
@example(tilt_deg=21.0, heading=2.0, v=-5e-324, w=0.0)  # a denormal reversing speed that still climbs
def test_non_positive_uphill_component_is_never_blocked(tilt_deg, heading, v, w):
    """At any tilt, a command whose velocity does not climb (or a point turn) passes, never raised."""
    up = np.array([math.sin(math.radians(tilt_deg)) * math.cos(heading),
                   math.sin(math.radians(tilt_deg)) * math.sin(heading), math.cos(math.radians(tilt_deg))])
    guard = SlopeGuard(UNFILTERED)  # the filter is tested separately; here one sample settles it
    t = 3.0
    guard.update_imu(up, t)
    ux, _ = uphill_of(up)
    decision = guard.check(v, w, t)
    assert abs(decision.command.v) <= abs(v) and abs(decision.command.w) <= abs(w)
    climbs = (v > 0.0 and ux > 0.0) or (v < 0.0 and ux < 0.0)  # not v * ux > 0: that underflows for tiny v
    if not climbs:
        assert not decision.blocked
        assert decision.command.v == pytest.approx(v * decision.factor)
        assert decision.command.w == pytest.approx(w * decision.factor)
        assert decision.factor >= CFG.slow_speed_factor
    if tilt_deg >= CFG.stop_tilt_deg + 0.01 and v * ux > 1e-12:
        assert decision.blocked and decision.command == ZERO


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 40.0), st.floats(0.001, 0.2)), min_size=1, max_size=25))
def test_hysteresis_between_resume_and_stop(profile):
    """STOP is entered at >= stop and left only below resume, whatever the tilt history."""
    guard = SlopeGuard(CFG)
    t = 0.0
    stopped = False
    for tilt_deg, dt in profile:
        t += dt
        guard.update_imu(np.array([math.sin(math.radians(tilt_deg)), 0.0, math.cos(math.radians(tilt_deg))]), t)
        filtered = guard.tilt_deg
        if filtered >= CFG.stop_tilt_deg:
            stopped = True
        elif filtered < CFG.resume_tilt_deg:
            stopped = False
        assert (guard.state(t) == STOP) == stopped


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(['v', 'w', 'now']), st.sampled_from([math.nan, math.inf]), st.floats(0.0, 30.0))
def test_nan_anywhere_never_yields_motion(where, bad, tilt_deg):
    guard = SlopeGuard(CFG)
    up = np.array([math.sin(math.radians(tilt_deg)), 0.0, math.cos(math.radians(tilt_deg))])
    t = settled(guard, up, seconds=0.1)
    args = {'v': 0.05, 'w': 0.01, 'now': t}
    args[where] = bad
    with pytest.raises(ValueError, match=where):
        guard.check(**args)
    with pytest.raises(ValueError):
        guard.update_imu(np.array([bad, 0.0, 1.0]), t)
    with pytest.raises(ValueError):
        up_in_base((0.0, bad, 0.0, 1.0), np.eye(3))
    # only NaN IMU samples from now on: the guard goes stale and blocks
    assert guard.check(0.05, 0.0, t + CFG.imu_timeout + 0.01).command == ZERO


def test_no_imu_blocks_everything():
    guard = SlopeGuard(CFG)
    decision = guard.check(-0.05, 0.1, 10.0)
    assert decision.state == STALE and decision.command == ZERO and decision.blocked
    assert guard.check(0.0, 0.0, 10.0).command == ZERO


def test_stale_imu_blocks_then_fresh_imu_resumes():
    guard = SlopeGuard(CFG)
    t = settled(guard, up_for(0.0, 0.0), seconds=0.5)
    assert guard.check(0.05, 0.0, t + 0.4).command.v == pytest.approx(0.05)
    assert guard.check(0.05, 0.0, t + 0.6).command == ZERO
    guard.update_imu(up_for(0.0, 0.0), t + 0.7)
    assert guard.check(0.05, 0.0, t + 0.7).command.v == pytest.approx(0.05)


def test_slow_band_scales_linearly_and_events_fire_once():
    guard = SlopeGuard(CFG)
    events = [guard.update_imu(up_for(0.0, math.radians(-17.5)), 0.0)]
    assert guard.check(0.04, 0.02, 0.0).command.v == pytest.approx(0.04 * 0.75)
    assert guard.state(0.0) == SLOW
    events += [guard.update_imu(up_for(0.0, math.radians(-17.6)), 0.02 * k) for k in range(1, 10)]
    assert [e for e in events if e] == ['slope_slow']
    assert guard.update_imu(up_for(0.0, math.radians(-25.0)), 5.0) == 'slope_stop'


def test_filter_delays_a_step_in_tilt():
    guard = SlopeGuard(CFG)
    t = settled(guard, up_for(0.0, 0.0), seconds=1.0)
    guard.update_imu(up_for(0.0, math.radians(-25.0)), t + 0.02)
    assert guard.state(t + 0.02) == LEVEL  # one bump sample does not stop the rover
    t = settled(guard, up_for(0.0, math.radians(-25.0)), t + 0.02, seconds=2.0)
    assert guard.state(t) == STOP


def test_stop_blocks_climbing_but_allows_backing_down_and_turning():
    guard = SlopeGuard(CFG)
    t = settled(guard, up_for(0.0, math.radians(-22.0)))  # nose up: uphill is forward
    assert guard.check(0.05, 0.0, t).command == ZERO
    assert guard.check(0.05, 0.1, t).command == ZERO  # an arc still climbs
    back = guard.check(-0.05, 0.02, t).command
    assert back.v == pytest.approx(-0.025) and back.w == pytest.approx(0.01)
    assert guard.check(0.0, 0.1, t).command.w == pytest.approx(0.05)
    t = settled(guard, up_for(0.0, math.radians(-19.0)), t)
    assert guard.state(t) == STOP  # above resume: still stopped
    t = settled(guard, up_for(0.0, math.radians(-17.0)), t)
    assert guard.state(t) == SLOW and guard.check(0.05, 0.0, t).command.v > 0.0


def test_lookahead_slows_forward_before_the_slope_but_never_blocks():
    guard = SlopeGuard(CFG)
    t = settled(guard, up_for(0.0, 0.0), seconds=1.0)
    guard.update_lookahead(25.0, t)
    assert guard.check(0.05, 0.0, t).command.v == pytest.approx(0.025)
    assert guard.check(-0.05, 0.0, t).command.v == pytest.approx(-0.05)  # the hazcam looks forward
    guard.update_imu(up_for(0.0, 0.0), t + 1.5)
    assert guard.check(0.05, 0.0, t + 1.5).command.v == pytest.approx(0.05)  # estimate too old


def test_terrain_tilt_ahead_sees_a_ramp_and_ignores_a_rock():
    rng = np.random.default_rng(1)
    footprint = (-0.65, 0.65, -0.575, 0.575)
    x = rng.uniform(0.7, 2.0, 800)
    y = rng.uniform(-0.5, 0.5, 800)
    flat = np.c_[x, y, -0.15 + rng.normal(0, 0.005, 800)]
    assert terrain_tilt_ahead(flat, footprint, np.array([0, 0, 1.0]), 1.0) == pytest.approx(0.0, abs=1.0)
    ramp = flat.copy()
    ramp[:, 2] += np.tan(np.radians(25.0)) * (x - 0.7)
    rock = np.c_[rng.uniform(1.0, 1.2, 100), rng.uniform(-0.1, 0.1, 100), np.full(100, 0.3)]
    tilt = terrain_tilt_ahead(np.vstack([ramp, rock]), footprint, np.array([0, 0, 1.0]), 1.0)
    assert tilt == pytest.approx(25.0, abs=1.5)
    assert terrain_tilt_ahead(flat[:5], footprint, np.array([0, 0, 1.0]), 1.0) is None


@pytest.mark.parametrize('values', [(15.0, 20.0, 21.0), (15.0, 20.0, 14.0), (20.0, 15.0, 18.0)])
def test_config_requires_slow_below_resume_below_stop(values):
    slow, stop, resume = values
    with pytest.raises(ValueError, match='slow_tilt_deg < resume_tilt_deg < stop_tilt_deg'):
        SlopeConfig(slow, stop, resume, 0.5)


def test_nan_tilt_lookahead_rejected():
    guard = SlopeGuard(CFG)
    with pytest.raises(ValueError):
        guard.update_lookahead(math.nan, 1.0)


# -- gaps a mutation pass found (issue 18, finding 16); thresholds as ROVER_SPEC sets them now ---------

SPEC = SlopeConfig(slow_tilt_deg=15.0, stop_tilt_deg=23.0, resume_tilt_deg=21.0, imu_timeout=0.5,
                   tilt_filter_time=0.0, slow_speed_factor=0.5)


def test_entering_stop_blocks_climbing_on_that_very_sample():
    """No grace period: the sample that reaches stop_tilt_deg already blocks the next climbing command."""
    guard = SlopeGuard(SPEC)
    guard.update_imu(up_for(0.0, math.radians(-22.9)), 1.0)
    assert guard.state(1.0) == SLOW and guard.check(0.05, 0.0, 1.0).command.v > 0.0
    assert guard.update_imu(up_for(0.0, math.radians(-23.1)), 1.02) == 'slope_stop'
    decision = guard.check(0.05, 0.0, 1.02)
    assert decision.state == STOP and decision.blocked and decision.command == ZERO


def test_backing_down_passes_inside_the_hysteresis_band():
    """Between resume (21) and stop (23) a stopped rover stays stopped for climbing, yet may back down
    (scaled by slow_speed_factor) and turn: blocking everything there would strand it on the slope."""
    guard = SlopeGuard(SPEC)
    guard.update_imu(up_for(0.0, math.radians(-24.0)), 1.0)  # nose up, stopped
    guard.update_imu(up_for(0.0, math.radians(-22.0)), 1.02)  # back inside the band
    assert guard.state(1.02) == STOP
    assert guard.check(0.05, 0.0, 1.02).command == ZERO
    back = guard.check(-0.04, 0.0, 1.02)
    assert not back.blocked and back.command.v == pytest.approx(-0.04 * 0.5)
    assert guard.check(0.0, 0.2, 1.02).command.w == pytest.approx(0.2 * 0.5)
    guard.update_imu(up_for(0.0, math.radians(-20.9)), 1.04)  # below resume: climbing allowed again
    assert guard.state(1.04) == SLOW and guard.check(0.05, 0.0, 1.04).command.v > 0.0


def test_a_clock_that_went_backwards_counts_as_stale():
    """An IMU sample 'from the future' (the node clock jumped back) must not keep the guard fresh."""
    guard = SlopeGuard(SPEC)
    guard.update_imu(up_for(0.0, 0.0), 10.0)
    assert guard.check(0.05, 0.0, 10.1).command.v == pytest.approx(0.05)
    decision = guard.check(0.05, 0.0, 9.9)
    assert decision.state == STALE and decision.command == ZERO
