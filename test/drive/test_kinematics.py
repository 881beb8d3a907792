"""The kinematics core: Ackermann about an ICR on the middle axle, point turns, clamps, saturation, waiting."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_nav.drive.kinematics import (
    MODE_DRIVE,
    MODE_POINT_TURN,
    DriveKinematics,
    DriveLimits,
    fold_angle,
    max_feasible_curvature,
    point_turn_angles,
    steering_angles,
    surface_speeds,
    within_steer_limits,
)

LIMITS = DriveLimits(max_wheel_speed=0.08, min_turning_radius=1.0)
ALL_LAYOUTS = ('yutu2', 'hobby', 'tight')
speeds = st.floats(-0.3, 0.3, allow_nan=False)
rates = st.floats(-0.5, 0.5, allow_nan=False)


def settled(layout, v: float, w: float, limits: DriveLimits = LIMITS):
    """The command a drive gives once its corners had time to reach the target angles."""
    drive = DriveKinematics(layout, limits)
    drive.command(v, w, 0.0)
    return drive.command(v, w, 1000.0)


def test_straight_drive_points_all_wheels_ahead(layout):
    cmd = settled(layout, 0.05, 0.0)
    assert np.allclose(cmd.steer, 0.0)
    assert np.allclose(cmd.wheel_rate, 0.05 / layout.radius)
    assert (cmd.v, cmd.w, cmd.mode) == (0.05, 0.0, MODE_DRIVE)


def test_reverse_uses_the_same_angles_and_negative_rates(layout):
    forward, backward = settled(layout, 0.04, 0.02), settled(layout, -0.04, -0.02)
    assert np.allclose(forward.steer, backward.steer)
    assert np.allclose(forward.wheel_rate, -backward.wheel_rate)


def test_point_turn_corners_at_atan_dx_dy_and_tangential(layout):
    angles = point_turn_angles(layout)
    corners = layout.steerable
    expected = -np.arctan(layout.x / layout.y)
    assert np.allclose(angles[corners], expected[corners])
    assert np.allclose(np.abs(angles[corners]), np.arctan(np.abs(layout.x / layout.y))[corners])
    w = 0.05
    speed = surface_speeds(layout, angles, 0.0, w)
    radial = np.hypot(layout.x, layout.y)
    assert np.allclose(np.abs(speed[corners]), abs(w) * radial[corners])
    rolling = np.column_stack((np.cos(angles), np.sin(angles)))
    position = np.column_stack((layout.x, layout.y))
    assert np.allclose(np.sum(rolling * position, axis=1)[corners], 0.0, atol=1e-12)  # tangential


@settings(deadline=None)  # timing varies on a shared CI machine
@given(v=st.floats(0.01, 0.1), kappa=st.floats(-1.0, 1.0))
@pytest.mark.parametrize('profile', ('yutu2', 'hobby'))
def test_every_wheel_axis_passes_through_the_icr(layouts, profile, v, kappa):
    layout = layouts(profile)
    if abs(kappa) < 1e-6:
        return
    w = kappa * v
    steer = steering_angles(layout, v, w)
    icr = np.array([0.0, v / w])
    to_icr = icr - np.column_stack((layout.x, layout.y))
    rolling = np.column_stack((np.cos(steer), np.sin(steer)))
    assert np.allclose(np.sum(rolling * to_icr, axis=1)[layout.steerable], 0.0, atol=1e-9)
    speed = surface_speeds(layout, steer, v, w)
    assert np.allclose(np.abs(speed)[layout.steerable], (abs(w) * np.linalg.norm(to_icr, axis=1))[layout.steerable])


@settings(max_examples=300, deadline=None)
@given(v=speeds, w=rates, profile=st.sampled_from(ALL_LAYOUTS))
def test_no_wheel_exceeds_its_speed_or_steering_limit(layouts, v, w, profile):
    layout = layouts(profile)
    drive = DriveKinematics(layout, LIMITS)
    for t in (0.0, 1000.0):
        cmd = drive.command(v, w, t)
        assert np.max(np.abs(cmd.surface_speed)) <= LIMITS.max_wheel_speed * (1 + 1e-9)
        assert np.allclose(cmd.wheel_rate * layout.radius, cmd.surface_speed)
        assert within_steer_limits(layout, cmd.steer)
        assert np.all(cmd.steer[~layout.steerable] == 0.0)


@settings(max_examples=300, deadline=None)
@given(v=speeds, w=rates, profile=st.sampled_from(ALL_LAYOUTS))
def test_curvature_is_clamped_while_moving(layouts, v, w, profile):
    cmd = settled(layouts(profile), v, w)
    if cmd.mode == MODE_DRIVE and cmd.v != 0.0:
        assert abs(cmd.w / cmd.v) <= 1.0 / LIMITS.min_turning_radius + 1e-9


@settings(max_examples=300, deadline=None)
@given(v=speeds, w=rates, profile=st.sampled_from(('yutu2', 'hobby')))
def test_saturation_keeps_the_ratio_of_v_to_w(layouts, v, w, profile):
    layout = layouts(profile)
    cmd = settled(layout, v, w)
    if cmd.stopped:
        return
    unsaturated = settled(layout, v, w, DriveLimits(max_wheel_speed=100.0, min_turning_radius=1.0))
    if cmd.saturated:
        assert np.max(np.abs(cmd.surface_speed)) == pytest.approx(LIMITS.max_wheel_speed)
        scale = cmd.v / unsaturated.v if unsaturated.v else cmd.w / unsaturated.w
        assert 0.0 < scale < 1.0
        assert cmd.v == pytest.approx(scale * unsaturated.v, abs=1e-12)
        assert cmd.w == pytest.approx(scale * unsaturated.w, abs=1e-12)
        assert np.allclose(cmd.steer, unsaturated.steer)
    else:
        assert (cmd.v, cmd.w) == pytest.approx((unsaturated.v, unsaturated.w))


def test_a_point_turn_at_the_default_limits_is_not_saturated_on_yutu2(layouts):
    # the spec's figure: a 0.1 rad/s point turn needs ~0.071 m/s at the corners, under 0.08
    cmd = settled(layouts('yutu2'), 0.0, 0.1)
    assert cmd.mode == MODE_POINT_TURN and not cmd.saturated
    assert cmd.w == pytest.approx(0.1)
    assert np.max(np.abs(cmd.surface_speed)) == pytest.approx(0.1 * math.hypot(0.5, 0.5), rel=0.1)


def test_point_turn_only_near_zero_speed_with_hysteresis(layout):
    drive = DriveKinematics(layout, LIMITS)
    clock = iter(np.arange(0.0, 1e5, 100.0))

    def step(v: float, w: float):  # the same request twice, far apart: steering has settled
        drive.command(v, w, next(clock))
        return drive.command(v, w, next(clock))

    assert step(0.03, 0.02).mode == MODE_DRIVE
    assert step(LIMITS.v_eps * 1.5, 0.05).mode == MODE_DRIVE  # above v_eps: no point turn
    cmd = step(LIMITS.v_eps * 0.5, 0.05)
    assert cmd.mode == MODE_POINT_TURN and cmd.v == 0.0 and cmd.w == pytest.approx(0.05)
    # between v_eps and v_eps_exit the point turn continues (no chatter around v_eps)
    for v in (LIMITS.v_eps * 1.2, LIMITS.v_eps * 0.8, LIMITS.v_eps_exit, -LIMITS.v_eps_exit):
        cmd = step(v, 0.05)
        assert cmd.mode == MODE_POINT_TURN and cmd.v == 0.0 and cmd.w == pytest.approx(0.05)
    assert step(LIMITS.v_eps_exit * 1.01, 0.0).mode == MODE_DRIVE
    # back in drive mode, v between the thresholds drives (does not fall back into a point turn)
    cmd = step(LIMITS.v_eps * 1.2, 0.05)
    assert cmd.mode == MODE_DRIVE and cmd.v == pytest.approx(LIMITS.v_eps * 1.2)


def test_stop_holds_the_steering(layout):
    drive = DriveKinematics(layout, LIMITS)
    turning = settled(layout, 0.04, 0.03)
    drive.command(0.04, 0.03, 0.0)
    drive.command(0.04, 0.03, 100.0)
    for cmd in (drive.command(0.0, 0.0, 101.0), drive.hold(102.0)):
        assert cmd.stopped and np.all(cmd.wheel_rate == 0.0)
        assert np.allclose(cmd.steer, turning.steer)


def test_wheels_wait_until_the_corners_are_within_tolerance(layout):
    drive = DriveKinematics(layout, LIMITS)
    drive.command(0.05, 0.0, 0.0)
    first = drive.command(0.0, 0.05, 1.0)  # 0 -> point-turn angles: a large change
    assert first.waiting and np.all(first.wheel_rate == 0.0) and first.v == first.w == 0.0
    swing = float(np.max(np.abs(point_turn_angles(layout))))
    t_needed = (swing - LIMITS.steer_resume_tolerance) / layout.max_steer_rate
    still = drive.command(0.0, 0.05, 1.0 + 0.5 * t_needed)
    assert still.waiting
    moving = drive.command(0.0, 0.05, 1.0 + 1.01 * t_needed)
    assert not moving.waiting and moving.w == pytest.approx(0.05)


def test_measured_steering_overrides_the_model(layout):
    drive = DriveKinematics(layout, LIMITS)
    drive.command(0.0, 0.05, 0.0)
    assert not drive.command(0.0, 0.05, 1000.0).waiting
    stuck = np.zeros(layout.n)  # a jammed servo still at 0 although the model says it arrived
    drive.observe_steering(stuck, 1001.0)  # measured at the tick of the next command (lockstep)
    assert drive.command(0.0, 0.05, 1001.0).waiting
    drive.observe_steering(point_turn_angles(layout), 1002.0)
    assert not drive.command(0.0, 0.05, 1002.0).waiting


def test_small_steering_changes_do_not_stop_the_wheels(layout):
    drive = DriveKinematics(layout, LIMITS)
    drive.command(0.05, 0.0, 0.0)
    cmd = drive.command(0.05, 0.005, 0.1)  # R = 10 m: corners move a few degrees at most
    assert not cmd.waiting and cmd.v == 0.05


def test_tight_servos_clamp_curvature_and_refuse_point_turns(layouts):
    layout = layouts('tight')
    drive = DriveKinematics(layout, LIMITS)
    assert not drive.point_turn_feasible
    cmd = drive.command(0.0, 0.05, 0.0)
    assert cmd.stopped and cmd.infeasible and np.all(cmd.wheel_rate == 0.0)
    kappa = max_feasible_curvature(layout, 1.0, +1.0)
    assert 0.0 < kappa < 1.0
    assert within_steer_limits(layout, steering_angles(layout, 1.0, kappa))
    assert not within_steer_limits(layout, steering_angles(layout, 1.0, kappa * 1.001))
    cmd = settled(layout, 0.05, 0.05)
    assert cmd.clamped and cmd.w / cmd.v == pytest.approx(kappa)
    right = settled(layout, 0.05, -0.05)
    assert right.w / right.v == pytest.approx(-max_feasible_curvature(layout, 1.0, -1.0))


@settings(deadline=None)  # timing varies on a shared CI machine
@given(st.floats(-50.0, 50.0))
def test_fold_angle_range(angle):
    folded = float(fold_angle(angle))
    assert -math.pi / 2 <= folded < math.pi / 2
    assert math.sin(2 * folded) == pytest.approx(math.sin(2 * angle), abs=1e-9)  # same axis, maybe reversed


@pytest.mark.parametrize('field', ['max_wheel_speed', 'min_turning_radius', 'v_eps', 'steer_resume_tolerance'])
@pytest.mark.parametrize('bad', [0.0, -1.0, math.nan, math.inf])
def test_bad_limits_name_the_field(field, bad):
    with pytest.raises(ValueError, match=field):
        DriveLimits(**{'max_wheel_speed': 0.08, 'min_turning_radius': 1.0, field: bad})


def test_hysteresis_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match='v_eps_exit'):
        DriveLimits(0.08, 1.0, v_eps=0.01, v_eps_exit=0.005)
    with pytest.raises(ValueError, match='steer_resume_tolerance'):
        DriveLimits(0.08, 1.0, steer_tolerance=0.1, steer_resume_tolerance=0.2)


@pytest.mark.parametrize('v, w', [(math.nan, 0.0), (0.0, math.inf), (-math.inf, 0.1)])
def test_non_finite_commands_are_rejected(layout, v, w):
    with pytest.raises(ValueError, match='must be finite'):
        DriveKinematics(layout, LIMITS).command(v, w, 0.0)


def test_runtime_limit_change_applies(layout):
    drive = DriveKinematics(layout, LIMITS)
    drive.set_limits(DriveLimits(max_wheel_speed=0.02, min_turning_radius=2.0))
    drive.command(0.05, 0.05, 0.0)
    cmd = drive.command(0.05, 0.05, 1000.0)
    assert np.max(np.abs(cmd.surface_speed)) == pytest.approx(0.02)
    assert cmd.w / cmd.v == pytest.approx(0.5)


def test_motor_rate_limit_from_the_description_caps_wheel_speed(layout):
    drive = DriveKinematics(layout, DriveLimits(max_wheel_speed=100.0, min_turning_radius=1.0))
    assert drive.max_wheel_speed == pytest.approx(layout.max_surface_speed)
    assert math.isfinite(layout.max_surface_speed)
    drive.command(10.0, 0.0, 0.0)
    cmd = drive.command(10.0, 0.0, 1000.0)
    assert cmd.saturated and np.max(np.abs(cmd.wheel_rate)) == pytest.approx(layout.max_wheel_rate)


def test_waiting_for_the_steering_has_a_hysteresis_band(layout):
    """Between steer_resume_tolerance and steer_tolerance nothing changes: driving wheels keep driving,
    waiting wheels keep waiting (issue 18, finding 16: no test pinned the band)."""
    drive = DriveKinematics(layout, LIMITS)
    target = point_turn_angles(layout)
    corner = int(np.argmax(np.abs(target)))
    drive.command(0.0, 0.05, 0.0)
    assert not drive.command(0.0, 0.05, 1000.0).waiting  # the corners arrived
    band = 0.5 * (LIMITS.steer_tolerance + LIMITS.steer_resume_tolerance)

    def measured_off_by(error: float, now: float) -> bool:
        angles = target.copy()
        angles[corner] -= math.copysign(error, target[corner])
        drive.observe_steering(angles, now)
        return drive.command(0.0, 0.05, now).waiting

    assert not measured_off_by(band, 1001.0)  # in the band while driving: keeps driving
    assert measured_off_by(1.5 * LIMITS.steer_tolerance, 1002.0)  # beyond tolerance: waits
    assert measured_off_by(band, 1003.0)  # in the band while waiting: keeps waiting
    assert not measured_off_by(0.5 * LIMITS.steer_resume_tolerance, 1004.0)  # within resume: drives
