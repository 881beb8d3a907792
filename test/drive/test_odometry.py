"""The odometry core: least-squares twist, outlier wheels, honest covariance, SE(2) integration."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.rotations import rpy_matrix
from rover_nav.drive.kinematics import DriveKinematics, DriveLimits, steering_angles, surface_speeds
from rover_nav.drive.odometry import (
    ImuYaw,
    Odometry2D,
    OdometryConfig,
    ResidualPool,
    arc_step,
    base_yaw_from_imu,
    base_yaw_rate_from_imu,
    estimate_twist,
    fuse_rates,
    wrap_angle,
)

LIMITS = DriveLimits(max_wheel_speed=0.08, min_turning_radius=1.0)


def wheels_for(layout, v: float, w: float) -> tuple[np.ndarray, np.ndarray]:
    """Steering angles and wheel rates a rigid body moving with (v, w) would show."""
    steer = steering_angles(layout, v, w)
    return steer, surface_speeds(layout, steer, v, w) / layout.radius


@settings(max_examples=300, deadline=None)
@given(v=st.floats(-0.3, 0.3), w=st.floats(-0.5, 0.5), profile=st.sampled_from(('yutu2', 'hobby', 'tight')))
def test_kinematics_then_odometry_returns_the_commanded_twist(layouts, v, w, profile):
    """For every command, the odometry of the wheels equals what the drive realises; for feasible ones, the request."""
    layout = layouts(profile)
    drive = DriveKinematics(layout, LIMITS)
    drive.command(v, w, 0.0)
    cmd = drive.command(v, w, 1000.0)  # steering settled
    est = estimate_twist(layout, cmd.steer, cmd.wheel_rate)
    assert est.v == pytest.approx(cmd.v, abs=1e-9)
    assert est.w == pytest.approx(cmd.w, abs=1e-9)
    assert est.rejected == 0
    feasible = not (cmd.stopped or cmd.clamped or cmd.saturated) and abs(v) > LIMITS.v_eps_exit
    if feasible:
        assert (est.v, est.w) == pytest.approx((v, w), abs=1e-9)


def test_feasible_commands_are_a_large_share(layouts):
    """Guard against the property above passing vacuously: typical commands are feasible."""
    layout = layouts('yutu2')
    for v, w in ((0.05, 0.0), (0.05, 0.03), (-0.04, 0.02), (0.03, -0.03)):
        drive = DriveKinematics(layout, LIMITS)
        drive.command(v, w, 0.0)
        cmd = drive.command(v, w, 1000.0)
        assert not (cmd.stopped or cmd.clamped or cmd.saturated)
        est = estimate_twist(layout, cmd.steer, cmd.wheel_rate)
        assert (est.v, est.w) == pytest.approx((v, w), abs=1e-9)


@pytest.mark.parametrize('wheel', range(6))
@pytest.mark.parametrize('fault', ['stalled', 'spinning', 'reversed'])
@pytest.mark.parametrize('v, w', [(0.05, 0.0), (0.05, 0.03), (0.0, 0.08), (-0.04, -0.02)])
def test_one_slipping_or_stalled_wheel_is_rejected(layout, wheel, fault, v, w):
    steer, rate = wheels_for(layout, v, w)
    if abs(rate[wheel]) < 1e-9:
        pytest.skip('this wheel does not turn for this motion')
    rate[wheel] = {'stalled': 0.0, 'spinning': 1.8 * rate[wheel], 'reversed': -rate[wheel]}[fault]
    est = estimate_twist(layout, steer, rate)
    assert (est.v, est.w) == pytest.approx((v, w), abs=1e-9)
    assert not est.used[wheel] and est.rejected == 1
    assert abs(est.residual[wheel]) > 0.0
    if fault == 'spinning':
        assert est.slip[wheel] == pytest.approx(1.0 - 1.0 / 1.8)


def test_two_bad_wheels_are_rejected(layout):
    steer, rate = wheels_for(layout, 0.05, 0.02)
    rate[0] = 0.0  # fl stalled
    rate[4] *= 2.0  # mr spinning
    est = estimate_twist(layout, steer, rate)
    assert (est.v, est.w) == pytest.approx((0.05, 0.02), abs=1e-9)
    assert list(np.flatnonzero(~est.used)) == [0, 4]


def test_no_rejection_without_an_outlier(layout):
    rng = np.random.default_rng(1)
    steer, rate = wheels_for(layout, 0.05, 0.02)
    noisy = rate + rng.normal(0.0, 0.0005, 6) / layout.radius
    est = estimate_twist(layout, steer, noisy)
    assert est.rejected == 0
    assert est.v == pytest.approx(0.05, abs=0.002)


def test_missing_wheels_are_skipped_and_too_few_raise(layout):
    steer, rate = wheels_for(layout, 0.05, 0.02)
    rate[[0, 2]] = np.nan
    est = estimate_twist(layout, steer, rate)
    assert (est.v, est.w) == pytest.approx((0.05, 0.02))
    assert np.isnan(est.residual[0]) and not est.used[0]
    one_wheel = np.full(6, np.nan)
    one_wheel[1] = rate[1]
    with pytest.raises(ValueError, match='cannot determine'):
        estimate_twist(layout, steer, one_wheel)
    with pytest.raises(ValueError, match='shape'):
        estimate_twist(layout, steer[:4], rate[:4])


def test_covariance_is_never_zero_and_grows_with_disagreement(layout):
    cfg = OdometryConfig(slip_ratio_sigma=0.0)
    steer, rate = wheels_for(layout, 0.05, 0.0)
    clean = estimate_twist(layout, steer, rate, cfg)
    assert np.all(np.linalg.eigvalsh(clean.cov) > 0.0)
    assert clean.sigma == pytest.approx(cfg.speed_noise)
    rough = rate + np.array([1, -1, 1, -1, 1, -1]) * 0.002 / layout.radius  # disagree, but under the outlier bar
    noisy = estimate_twist(layout, steer, rough, cfg)
    assert noisy.rejected == 0
    assert np.trace(noisy.cov) > 4.0 * np.trace(clean.cov)


def test_common_mode_slip_term_scales_with_speed(layout):
    steer, rate = wheels_for(layout, 0.05, 0.02)
    with_slip = estimate_twist(layout, steer, rate, OdometryConfig(slip_ratio_sigma=0.1))
    without = estimate_twist(layout, steer, rate, OdometryConfig(slip_ratio_sigma=0.0))
    assert np.allclose(with_slip.cov, without.cov)
    assert np.allclose(with_slip.slip_cov, np.diag([(0.1 * 0.05) ** 2, (0.1 * 0.02) ** 2]))
    assert np.allclose(with_slip.total_cov, with_slip.cov + with_slip.slip_cov)


def _nees(layout, pool: ResidualPool | None, samples: int = 2000) -> np.ndarray:
    """Normalised estimation errors e^T P^-1 e of (v, w) under Gaussian wheel-speed noise."""
    rng = np.random.default_rng(7)
    cfg = OdometryConfig(speed_noise=1e-5, slip_ratio_sigma=0.0, max_rejected=0)
    true = np.array([0.04, 0.03])
    steer, rate = wheels_for(layout, *true)
    nees = []
    for _ in range(samples):
        noisy = rate + rng.normal(0.0, 0.002, 6) / layout.radius
        est = estimate_twist(layout, steer, noisy, cfg, sigma2=pool.sigma2 if pool else None)
        if pool is not None:
            pool.update(est.rss, est.dof)
        err = np.array([est.v, est.w]) - true
        nees.append(float(err @ np.linalg.solve(est.cov, err)))
    return np.array(nees[100:])


def test_pooled_covariance_is_honest_under_wheel_noise(layout):
    """With a pooled sigma^2 the normalised errors follow chi^2(2): mean ~2, 95 % under 5.99."""
    nees = _nees(layout, ResidualPool(memory=200.0))
    assert 1.8 < np.mean(nees) < 2.3
    assert 0.93 < np.mean(nees < 5.99) < 0.97


def test_single_estimate_covariance_is_not_overconfident(layout):
    """Four residual dof per estimate: heavy tails, but the bulk is covered, and never wildly over-wide."""
    nees = _nees(layout, None)
    assert 0.9 < np.mean(nees < 5.99) < 0.98
    assert 0.5 < np.median(nees) < 2.5


def test_residual_pool_needs_data_then_tracks_the_variance():
    pool = ResidualPool(memory=50.0)
    assert pool.sigma2 is None
    pool.update(4e-6, 4)
    assert pool.sigma2 is None
    for _ in range(200):
        pool.update(4 * 9e-6, 4)
    assert pool.sigma2 == pytest.approx(9e-6, rel=0.01)
    with pytest.raises(ValueError, match='memory'):
        ResidualPool(0.5)


@settings(deadline=None)  # timing varies on a shared CI machine
@given(v=st.floats(-0.2, 0.2), w=st.floats(-0.5, 0.5), dt=st.floats(0.0, 20.0))
def test_arc_step_matches_fine_integration(v, w, dt):
    dx, dy, dth = arc_step(v, w, dt)
    x = y = yaw = 0.0
    n = 2000
    for _ in range(n):  # midpoint rule
        mid = yaw + 0.5 * w * dt / n
        x += v * math.cos(mid) * dt / n
        y += v * math.sin(mid) * dt / n
        yaw += w * dt / n
    assert (dx, dy, dth) == pytest.approx((x, y, yaw), abs=1e-6)


def test_a_full_circle_returns_to_the_start_and_grows_uncertainty():
    odom = Odometry2D()
    cov = np.diag([1e-6, 1e-6])
    w = 0.05
    for _ in range(100):
        odom.step(0.05, w, cov, 2.0 * math.pi / w / 100)
    assert (odom.x, odom.y) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert wrap_angle(odom.yaw) == pytest.approx(0.0, abs=1e-9)
    assert odom.distance == pytest.approx(2.0 * math.pi)
    assert np.all(np.linalg.eigvalsh(odom.cov) > 0.0)
    assert odom.cov[2, 2] == pytest.approx(1e-6 * (2.0 * math.pi / w) ** 2 / 100, rel=1e-6)


def test_straight_then_turn_in_the_world_frame():
    odom = Odometry2D()
    zero = np.zeros((2, 2))
    odom.step(0.05, 0.0, zero, 20.0)  # 1 m ahead
    odom.step(0.0, 0.1, zero, math.pi / 2 / 0.1)  # quarter turn left in place
    odom.step(0.05, 0.0, zero, 20.0)  # 1 m to the left
    assert (odom.x, odom.y, odom.yaw) == pytest.approx((1.0, 1.0, math.pi / 2))


def test_systematic_slip_uncertainty_grows_with_distance_and_turn_angle():
    odom = Odometry2D(slip_ratio_sigma=0.1, slip_correlation_m=100.0, slip_correlation_rad=100.0)
    zero = np.zeros((2, 2))
    for _ in range(200):
        odom.step(0.05, 0.0, zero, 0.1)  # 1 m straight: sigma_x = 10 % of 1 m, not 10 % of sqrt(steps)
    assert math.sqrt(odom.covariance[0, 0]) == pytest.approx(0.1)
    assert odom.covariance[1, 1] == pytest.approx(0.0, abs=1e-15)
    for _ in range(100):
        odom.step(0.0, 0.1 * math.pi / 2, zero, 0.1)  # quarter turn in place
    assert math.sqrt(odom.covariance[2, 2]) == pytest.approx(0.1 * math.pi / 2)
    for _ in range(200):
        odom.step(0.05, 0.0, zero, 0.1)  # 1 m to the left: a heading error now moves x
    cov = odom.covariance
    assert math.sqrt(cov[0, 0]) == pytest.approx(math.hypot(0.1, 0.1 * math.pi / 2), rel=1e-6)
    assert math.sqrt(cov[1, 1]) == pytest.approx(0.1, rel=1e-6)
    assert np.all(np.linalg.eigvalsh(cov) >= -1e-15)
    odom.set_yaw(0.0, 1e-4)
    assert odom.covariance[2, 2] == pytest.approx(1e-4)
    with pytest.raises(ValueError, match='slip_ratio_sigma'):
        Odometry2D(slip_ratio_sigma=-0.1)
    with pytest.raises(ValueError, match='slip_correlation_m'):
        Odometry2D(slip_correlation_m=math.nan)


def test_slip_of_separate_stretches_is_independent():
    """Two 1 m stretches: variance adds (sqrt(2) x 10 % of 1 m), unlike one 2 m stretch (10 % of 2 m)."""
    zero = np.zeros((2, 2))
    stretches = Odometry2D(slip_ratio_sigma=0.1, slip_correlation_m=1.0)
    single = Odometry2D(slip_ratio_sigma=0.1, slip_correlation_m=10.0)
    for odom in (stretches, single):
        for _ in range(400):
            odom.step(0.05, 0.0, zero, 0.1)
    assert math.sqrt(stretches.covariance[0, 0]) == pytest.approx(0.1 * math.sqrt(2.0), rel=1e-6)
    assert math.sqrt(single.covariance[0, 0]) == pytest.approx(0.2, rel=1e-6)
    turned = Odometry2D(slip_ratio_sigma=0.1, slip_correlation_rad=0.999 * math.pi / 2)  # rounding-safe
    for _ in range(4):  # four quarter turns: independent 10 % errors of pi/2 each
        for _ in range(100):
            turned.step(0.0, math.pi / 20, zero, 0.1)
    assert math.sqrt(turned.covariance[2, 2]) == pytest.approx(0.1 * math.pi / 2 * 2.0, rel=1e-6)


def test_step_rejects_bad_input():
    odom = Odometry2D()
    with pytest.raises(ValueError, match='twist'):
        odom.step(math.nan, 0.0, np.eye(2), 0.1)
    with pytest.raises(ValueError, match='dt'):
        odom.step(0.0, 0.0, np.eye(2), -0.1)


def test_set_yaw_replaces_heading_and_its_variance():
    odom = Odometry2D()
    odom.step(0.05, 0.01, np.eye(2) * 1e-4, 10.0)
    odom.set_yaw(3.5, 1e-4)
    assert odom.yaw == pytest.approx(3.5 - 2 * math.pi)
    assert odom.cov[2, 2] == 1e-4 and odom.cov[0, 2] == 0.0


def test_imu_yaw_keeps_the_odom_origin():
    imu = ImuYaw()
    assert imu.odom_yaw(1.0, 0.0) == pytest.approx(0.0)  # first reading: odom keeps its heading
    assert imu.odom_yaw(1.5, 123.0) == pytest.approx(0.5)


def test_fuse_rates_weights_by_inverse_variance():
    w, var = fuse_rates(0.1, 1e-4, 0.2, 1e-4)
    assert (w, var) == pytest.approx((0.15, 5e-5))
    w, _ = fuse_rates(0.1, 1e-8, 0.2, 1.0)
    assert w == pytest.approx(0.1, abs=1e-6)
    with pytest.raises(ValueError):
        fuse_rates(0.1, 0.0, 0.2, 1.0)


@pytest.mark.parametrize('field', ['speed_noise', 'outlier_floor', 'slip_ratio_sigma'])
def test_bad_config_names_the_field(field):
    with pytest.raises(ValueError, match=field):
        OdometryConfig(**{field: -1.0})


@settings(deadline=None)  # timing varies on a shared CI machine
@given(roll=st.floats(-0.5, 0.5), pitch=st.floats(-0.5, 0.5), yaw=st.floats(-3.0, 3.0),
       mount_yaw=st.floats(-3.0, 3.0))
def test_base_yaw_from_a_rotated_imu(roll, pitch, yaw, mount_yaw):
    """An IMU mounted yawed on the body still gives the body's heading, at any tilt."""
    mount = rpy_matrix(0.0, 0.0, mount_yaw)
    r_world_base = rpy_matrix(roll, pitch, yaw)
    r_world_imu = r_world_base @ mount
    q = _quaternion_of(r_world_imu)
    expected = math.atan2(r_world_base[1, 0], r_world_base[0, 0])
    assert wrap_angle(base_yaw_from_imu(q, mount) - expected) == pytest.approx(0.0, abs=1e-9)
    if abs(roll) < 1e-9 and abs(pitch) < 1e-9:
        assert wrap_angle(expected - yaw) == pytest.approx(0.0, abs=1e-9)


def _quaternion_of(r: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation matrix (Shepperd's method, the branch on the largest diagonal term)."""
    t = np.trace(r)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        return ((r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s)
    i = int(np.argmax(np.diag(r)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = math.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k]) * 2
    q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
    q[i] = 0.25 * s
    q[j] = (r[j, i] + r[i, j]) / s
    q[k] = (r[k, i] + r[i, k]) / s
    return tuple(q)  # type: ignore[return-value]


def test_gyro_rate_in_a_rolled_imu_is_turned_into_body_yaw_rate():
    mount = rpy_matrix(math.pi, 0.0, 0.0)  # upside-down IMU: its z points down
    assert base_yaw_rate_from_imu((0.0, 0.0, -0.1), mount) == pytest.approx(0.1)


def test_gyro_turns_carry_no_wheel_slip_bias():
    wheels = Odometry2D(slip_ratio_sigma=0.1, slip_correlation_rad=10.0)
    gyro = Odometry2D(slip_ratio_sigma=0.1, slip_correlation_rad=10.0)
    for _ in range(100):
        wheels.step(0.0, 0.1, np.zeros((2, 2)), 0.1)
        gyro.step(0.0, 0.1, np.zeros((2, 2)), 0.1, w_from_wheels=False)
    assert wheels.covariance[2, 2] == pytest.approx((0.1 * 1.0) ** 2)
    assert gyro.covariance[2, 2] == pytest.approx(0.0, abs=1e-15)
