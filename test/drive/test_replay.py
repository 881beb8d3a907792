"""The drive and odometry cores on the simulator core (no ROS): an L-shaped drive on lunar regolith."""

from __future__ import annotations

import math

import pytest

from rover_bringup.drive_replay import replay

L_DRIVE = [{'duration_s': 20.0, 'linear_x': 0.05, 'angular_z': 0.0},  # 1 m
           {'duration_s': 15.708, 'linear_x': 0.0, 'angular_z': 0.1},  # quarter turn in place
           {'duration_s': 20.0, 'linear_x': 0.05, 'angular_z': 0.0}]  # 1 m


@pytest.fixture(scope='module')
def results():
    pytest.importorskip('mujoco')
    return {mode: replay(L_DRIVE, world='flat', imu_yaw=mode == 'imu') for mode in ('wheels', 'imu')}


def test_the_rover_drives_the_l_with_some_slip(results):
    r = results['wheels']
    assert 1.6 < r.path_m < 2.1  # 2 m commanded, less the ramps, the steering waits and the slip
    assert 60.0 < r.final_yaw_deg < 95.0
    assert 0.0 < r.mean_slip < 0.2  # regolith: the wheels turn faster than the ground goes by
    assert r.waiting_s > 0.0  # the wheels waited for the corners at each mode change


def test_wheel_odometry_error_is_within_its_own_covariance(results):
    r = results['wheels']
    assert r.odom_error_m < 0.15 * r.path_m
    assert r.odom_position_nees < 13.8  # chi^2(2) 99.9 %: the covariance is not overconfident
    assert max(r.odom_sigma_xy_m) < 0.5  # nor uselessly wide


def test_imu_heading_removes_the_turn_slip(results):
    wheels, imu = results['wheels'], results['imu']
    assert abs(wheels.odom_yaw_error_deg) > 1.0  # the wheels over-count the turn (they slip)
    assert abs(imu.odom_yaw_error_deg) < 0.5
    assert imu.odom_position_nees < 13.8  # position still drifts with the straight-line slip
    assert math.isfinite(imu.odom_error_m)
