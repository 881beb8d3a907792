"""Regression tests of issue 18, "it moves when it should not" (pure cores, no ROS): plausibility of
wheel rates, odometry and clouds, quaternion norms, the roll-over limit, the drive's hard caps and
the runtime ceilings of safety parameters."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from safety.synthetic import Terrain, rectangle

from rover_description.geometry import HardLimits, load_geometry
from rover_nav.drive.kinematics import DriveKinematics, DriveLimits
from rover_nav.drive.layout import WheelLayout
from rover_nav.drive.odometry import drop_implausible, estimate_twist, plausible_rate_limit
from rover_nav.safety.attitude import up_in_base
from rover_nav.safety.cloud import FLOAT32, Field, SensorFrames, pack_xyz, xyz_from_cloud
from rover_nav.safety.command import ZERO
from rover_nav.safety.obstacle import ObstacleConfig, ObstacleGuard
from rover_nav.safety.sensor_params import cloud_in_base
from rover_nav.safety.slope import ROLLOVER, SlopeConfig, SlopeGuard

GEOMETRY = load_geometry('yutu2')
FOOTPRINT = GEOMETRY.footprint
MEMORY = ObstacleConfig(max_step_height=0.2, clearance=0.1, cloud_timeout=1.0, lookahead=0.1, use_memory=True)


def quat_from_rpy(roll: float, pitch: float, yaw: float = 0.0) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


# ---- finding 4: quaternions and the roll-over limit ---------------------------------------------------

def test_a_quaternion_scaled_by_1e160_is_not_read_as_level():
    q = tuple(c * 1e160 for c in quat_from_rpy(0.0, math.radians(-25.0)))
    with pytest.raises(ValueError, match='unit quaternion'):
        up_in_base(q, np.eye(3))


@pytest.mark.parametrize('q', [(0.0, 0.0, 0.0, 2e-6), (0.0, 0.0, 0.0, 5e-324), (0.0, 0.0, 0.0, 1.2),
                               (0.0, 0.3, 0.0, 0.5)])
def test_non_unit_quaternions_are_rejected(q):
    with pytest.raises(ValueError):
        up_in_base(q, np.eye(3))


def test_a_nearly_unit_quaternion_is_still_a_rotation():
    q = tuple(c * 1.01 for c in quat_from_rpy(0.0, math.radians(-10.0)))
    up = up_in_base(q, np.eye(3))
    assert math.degrees(math.acos(up[2])) == pytest.approx(10.0)


@pytest.mark.parametrize('roll_deg,pitch_deg', [(60.0, 0.0), (90.0, 0.0), (-90.0, 0.0), (180.0, 0.0),
                                                (0.0, 30.0), (0.0, -40.0), (26.0, 0.0)])
def test_past_the_roll_over_limit_nothing_moves(roll_deg, pitch_deg):
    guard = SlopeGuard(SlopeConfig(15.0, 20.0, 18.0, 0.5, max_tilt_deg=25.0))
    up = up_in_base(quat_from_rpy(math.radians(roll_deg), math.radians(pitch_deg)), np.eye(3))
    assert guard.update_imu(up, 1.0) == 'slope_stop'
    assert guard.state(1.0) == ROLLOVER
    for v, w in ((0.0559, 0.0), (-0.0559, 0.0), (0.0, 0.1), (0.03, -0.05)):
        decision = guard.check(v, w, 1.0)
        assert decision.command == ZERO and decision.blocked


def test_the_roll_over_block_lifts_only_below_the_limit_minus_its_hysteresis():
    guard = SlopeGuard(SlopeConfig(15.0, 20.0, 18.0, 0.5, tilt_filter_time=0.0, max_tilt_deg=25.0))
    for t, roll, rolled in ((1.0, 26.0, True), (1.1, 24.0, True), (1.2, 22.5, False)):
        guard.update_imu(up_in_base(quat_from_rpy(math.radians(roll), 0.0), np.eye(3)), t)
        assert (guard.state(t) == ROLLOVER) is rolled
    # side slope of 22.5 deg (past stop, below the roll-over limit): driving across it is allowed
    assert guard.check(0.05, 0.0, 1.2).command.v > 0.0


def test_max_tilt_must_lie_above_the_stop_tilt():
    with pytest.raises(ValueError, match='max_tilt_deg'):
        SlopeConfig(15.0, 20.0, 18.0, 0.5, max_tilt_deg=20.0)


# ---- finding 3: degenerate clouds -------------------------------------------------------------------

def _msg(points: np.ndarray, frame: str = 'hazcam_link', fields=None):
    f, data, step = pack_xyz(points)
    return SimpleNamespace(header=SimpleNamespace(frame_id=frame),
                           fields=[SimpleNamespace(name=x.name, offset=x.offset, datatype=x.datatype, count=x.count)
                                   for x in (fields or f)],
                           data=data, width=len(points), height=1, point_step=step, row_step=step * len(points),
                           is_bigendian=False)


def _frames() -> SensorFrames:
    pose = GEOMETRY.hazcam.pose
    return SensorFrames('', pose.xyz, pose.rpy)


@pytest.mark.parametrize('value', [0.0, 1e-40, -1e-45])
def test_all_zero_or_denormal_points_are_no_returns_and_the_cloud_is_not_fresh(value):
    pts = cloud_in_base(_msg(np.full((768, 3), value)), _frames())
    assert np.isnan(pts).all()
    guard = ObstacleGuard(MEMORY, FOOTPRINT)
    guard.update_odom(0.0, 0.0, 0.0, 1.0)
    assert not guard.update_cloud(pts, 1.0).accepted
    assert guard.check(0.05, 0.0, 1.0).command == ZERO


def test_a_cloud_with_a_duplicate_field_is_rejected():
    fields = [Field('x', 0, FLOAT32), Field('y', 4, FLOAT32), Field('z', 8, FLOAT32), Field('z', 4, FLOAT32)]
    _, data, _ = pack_xyz(np.ones((4, 3)))
    with pytest.raises(ValueError, match='more than once'):
        xyz_from_cloud(fields, data, 4, 1, 12, 48)


# ---- finding 2: odometry plausibility --------------------------------------------------------------

def _rock_guard() -> tuple[ObstacleGuard, Terrain]:
    terrain = Terrain(seed=3)
    guard = ObstacleGuard(MEMORY, FOOTPRINT)
    guard.update_odom(0.0, 0.0, 0.0, 1.0)
    rock = terrain.box(rectangle(FOOTPRINT[1] + 0.1 + 0.15, 0.0, 0.3, 0.35), 0.35)
    assert guard.update_cloud(np.vstack([terrain.ground(1500), rock]), 1.0).accepted
    assert guard.check(0.0559, 0.0, 1.0).blocked
    return guard, terrain


def test_an_odometry_jump_keeps_the_remembered_rock_where_it_is_relative_to_the_rover():
    guard, terrain = _rock_guard()
    assert guard.update_odom(250_000.0, -3.0, 1.0, 1.1)  # a 250 km jump in 0.1 s: not motion
    hidden = terrain.ground(1500, x=(2.0, 4.0))  # the rock is below the view now
    guard.update_cloud(hidden, 1.1)
    assert guard.check(0.0559, 0.0, 1.1).blocked


def test_odometry_at_an_implausible_magnitude_is_refused_and_the_guard_blocks():
    guard, terrain = _rock_guard()
    with pytest.raises(ValueError, match='implausible'):
        guard.update_odom(7.7e17, 0.0, 0.0, 1.1)
    guard.update_cloud(terrain.ground(1500, x=(2.0, 4.0)), 1.5)
    assert guard.check(0.0559, 0.0, 1.5).blocked  # odom went stale: blocks rather than forget the rock
    assert guard.check(0.0559, 0.0, 2.5).command == ZERO


def test_implausible_wheel_rates_are_missing_wheels_not_a_1e18_m_odometry():
    layout = WheelLayout.from_geometry(GEOMETRY)
    limit = plausible_rate_limit(layout)
    assert limit == pytest.approx(2.0 * GEOMETRY.max_wheel_rate)
    rates = [0.3] * 6
    rates[2] = 1e20
    kept, dropped = drop_implausible(rates, limit)
    assert dropped == 1 and math.isnan(kept[2])
    est = estimate_twist(layout, [0.0] * 6, kept)
    assert est.v == pytest.approx(0.3 * GEOMETRY.wheel_radius)
    kept, dropped = drop_implausible([1e6] * 6, limit)
    assert dropped == 6
    with pytest.raises(ValueError):
        estimate_twist(layout, [0.0] * 6, kept)


# ---- finding 5: the drive's own caps, runtime ceilings -----------------------------------------------

@pytest.mark.parametrize('v,w', [(5.0, 0.0), (1e308, 0.0), (-1e308, 1e308), (0.0, 1e308), (5.0, 0.3)])
def test_the_drive_never_commands_more_than_the_hard_limits(v, w):
    layout = WheelLayout.from_geometry(GEOMETRY)
    hard = GEOMETRY.limits
    drive = DriveKinematics(layout, DriveLimits(max_wheel_speed=min(10.0, hard.wheel_speed), min_turning_radius=1.0,
                                                max_linear_speed=hard.top_speed))
    cmd = None
    for k in range(200):  # long enough for the corners to reach their angles
        cmd = drive.command(v, w, k * 0.1)
    assert np.all(np.isfinite(cmd.wheel_rate))
    assert abs(cmd.v) <= hard.top_speed + 1e-12
    assert np.max(np.abs(cmd.surface_speed)) <= hard.wheel_speed + 1e-12
    if v != 0.0 and not cmd.waiting:
        assert cmd.v != 0.0


def test_the_description_carries_the_hard_limits():
    assert GEOMETRY.limits == HardLimits(top_speed=0.0559, wheel_speed=0.08, stop_tilt_deg=23.0, max_tilt_deg=27.0,
                                         step_height=0.2, command_timeout=1.0)
    assert load_geometry('hobby').limits.wheel_speed < math.inf
