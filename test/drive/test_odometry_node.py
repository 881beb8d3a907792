"""wheel_odometry over DDS: joint_states in, odom out (stamp copied, frames, covariance), IMU fusion, bad input."""

from __future__ import annotations

import math

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from sensor_msgs.msg import Imu, JointState

from rover_description.geometry import load_geometry
from rover_nav.drive.kinematics import steering_angles, surface_speeds
from rover_nav.drive.layout import WheelLayout
from rover_nav.drive.odometry_node import WheelOdometryNode
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
LAYOUT = WheelLayout.from_geometry(load_geometry('yutu2'))
DT = 0.1


def stamp_at(t: float) -> Time:
    return Time(sec=int(t), nanosec=int(round((t - int(t)) * 1e9)))


def states(v: float, w: float, t: float, *, spin_wheel: int | None = None, with_velocity: bool = True,
           travelled: np.ndarray | None = None) -> JointState:
    """The joint_states a rigid rover moving with (v, w) reports at time t (steer + wheel joints)."""
    steer = steering_angles(LAYOUT, v, w)
    rate = surface_speeds(LAYOUT, steer, v, w) / LAYOUT.radius
    if spin_wheel is not None:
        rate[spin_wheel] *= 2.0
    idx = LAYOUT.steer_index
    msg = JointState(name=[*LAYOUT.steer_joint_names, *LAYOUT.wheel_joints])
    msg.header.stamp = stamp_at(t)
    wheel_pos = travelled if travelled is not None else np.zeros(LAYOUT.n)
    msg.position = [*map(float, steer[idx]), *map(float, wheel_pos)]
    msg.velocity = [0.0] * len(idx) + [*map(float, rate)] if with_velocity else []
    return msg


@pytest.fixture
def wired(probe, start_node):
    def make(**overrides):
        node = start_node(WheelOdometryNode, overrides)
        io = {'node': node, 'states': probe.publisher('joint_states', JointState, qos.SENSOR_PUB),
              'imu': probe.publisher('imu', Imu, qos.SENSOR_PUB), 'odom': probe.subscribe('odom', Odometry, qos.STATE)}
        node.wait_for(lambda: io['states'].get_subscription_count() >= 1
                      and node.node._pub.get_subscription_count() >= 1, what='odometry and probe matched')
        return io

    return make


def feed(io, messages: list[JointState]) -> None:
    """Publish joint_states one by one, each only after the previous one was answered (best effort)."""
    for msg in messages:
        def answered(msg=msg) -> bool:
            if not any(r.msg.header.stamp == msg.header.stamp for r in io['odom']):
                io['states'].publish(msg)
                return False
            return True

        io['node'].wait_for(answered, 10.0, f'odom for stamp {msg.header.stamp.sec}.{msg.header.stamp.nanosec}')


def test_straight_drive_integrates_with_copied_stamps_and_frames(wired):
    io = wired()
    feed(io, [states(0.05, 0.0, 10.0 + k * DT) for k in range(21)])
    last = io['odom'][-1].msg
    assert last.header.stamp == stamp_at(10.0 + 20 * DT)
    assert (last.header.frame_id, last.child_frame_id) == ('odom', 'base_link')
    assert last.pose.pose.position.x == pytest.approx(0.05 * 2.0, rel=1e-6)
    assert last.pose.pose.position.y == pytest.approx(0.0, abs=1e-9)
    assert last.twist.twist.linear.x == pytest.approx(0.05)
    pose_cov = np.array(last.pose.covariance).reshape(6, 6)
    assert pose_cov[0, 0] > 0.0 and np.all(np.linalg.eigvalsh(pose_cov) > 0.0)
    assert np.array(last.twist.covariance).reshape(6, 6)[0, 0] == pytest.approx((0.1 * 0.05) ** 2, rel=0.5)


def test_point_turn_and_arc(wired):
    io = wired()
    feed(io, [states(0.0, 0.1, 5.0 + k * DT) for k in range(11)])
    yaw = 2 * math.atan2(io['odom'][-1].msg.pose.pose.orientation.z, io['odom'][-1].msg.pose.pose.orientation.w)
    assert yaw == pytest.approx(0.1, rel=1e-6)
    assert io['odom'][-1].msg.pose.pose.position.x == pytest.approx(0.0, abs=1e-9)


def test_slipping_wheel_is_left_out_and_a_persistent_one_reported(wired, probe):
    io = wired(diagnostics_period=0.1)
    diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    feed(io, [states(0.05, 0.02, 1.0 + k * DT, spin_wheel=3) for k in range(11)])
    last = io['odom'][-1].msg
    assert last.twist.twist.linear.x == pytest.approx(0.05)
    assert last.twist.twist.angular.z == pytest.approx(0.02)
    assert io['node'].node._outlier_count[3] == 11

    def warned() -> bool:
        return any(st.level == DiagnosticStatus.WARN and 'fr' in st.message for d in diags for st in d.msg.status)

    io['node'].wait_for(lambda: any(st.level == DiagnosticStatus.OK and 'slipping' in st.message
                                     for d in diags for st in d.msg.status), 5.0, 'OK-level slip note')
    assert not warned()  # an occasional slip is normal on regolith
    feed(io, [states(0.05, 0.02, 2.1 + k * DT, spin_wheel=3) for k in range(40)])
    io['node'].wait_for(warned, 5.0, 'persistent outlier warning')


def test_position_only_encoders_are_differentiated(wired):
    io = wired()
    rate = 0.05 / LAYOUT.radius
    msgs = [states(0.05, 0.0, 1.0 + k * DT, with_velocity=False, travelled=np.full(LAYOUT.n, rate * k * DT))
            for k in range(11)]
    node = io['node'].node
    # the first sample gives no rate yet, so no odom: wait until the node has taken it
    io['node'].wait_for(lambda: io['states'].publish(msgs[0]) or node._prev_t == pytest.approx(1.0), 10.0,
                        'first position sample')
    feed(io, msgs[1:])
    last = io['odom'][-1].msg
    assert last.twist.twist.linear.x == pytest.approx(0.05, rel=1e-6)
    assert last.pose.pose.position.x == pytest.approx(0.05 * 0.9, rel=1e-3)


def test_bad_joint_states_are_rejected_without_crashing(wired):
    io = wired()
    feed(io, [states(0.05, 0.0, 1.0)])
    nan_wheel = states(0.05, 0.0, 1.1)
    nan_wheel.velocity[5] = math.nan
    feed(io, [nan_wheel])  # one wheel unknown: estimate from the other five
    assert io['odom'][-1].msg.twist.twist.linear.x == pytest.approx(0.05)
    rejected_before = io['node'].node._rejected_msgs
    all_nan = states(0.05, 0.0, 1.2)
    all_nan.velocity = [math.nan] * len(all_nan.velocity)
    all_nan.position = [math.nan] * len(all_nan.position)
    malformed = states(0.05, 0.0, 1.3)
    malformed.velocity = malformed.velocity[:3]
    node = io['node'].node
    for bad in (all_nan, malformed):
        def rejected(bad=bad, before=rejected_before) -> bool:
            io['states'].publish(bad)
            return node._rejected_msgs > before

        io['node'].wait_for(rejected, 10.0, 'rejection')
        rejected_before = node._rejected_msgs
    feed(io, [states(0.05, 0.0, 1.4)])
    assert all(math.isfinite(v) for v in io['odom'][-1].msg.pose.covariance)


def test_imu_yaw_mode_takes_the_heading_from_the_imu(wired):
    io = wired(imu_fusion='yaw', imu_timeout=30.0, frame_prefix='rover1/')

    def imu(yaw: float) -> Imu:
        msg = Imu()
        msg.orientation.z, msg.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        return msg

    def imu_seen(yaw: float):
        def seen() -> bool:
            io['imu'].publish(imu(yaw))
            sample = io['node'].node._imu
            return sample is not None and sample[1] == pytest.approx(yaw)
        return seen

    io['node'].wait_for(imu_seen(0.7), 10.0, 'first IMU sample')
    feed(io, [states(0.05, 0.0, 1.0 + k * DT) for k in range(3)])
    io['node'].wait_for(imu_seen(0.9), 10.0, 'second IMU sample')  # the rover turned 0.2 rad; the wheels missed it
    feed(io, [states(0.05, 0.0, 1.3)])
    last = io['odom'][-1].msg
    yaw = 2 * math.atan2(last.pose.pose.orientation.z, last.pose.pose.orientation.w)
    assert yaw == pytest.approx(0.2, abs=1e-6)
    assert (last.header.frame_id, last.child_frame_id) == ('rover1/odom', 'rover1/base_link')
    assert np.array(last.pose.covariance).reshape(6, 6)[5, 5] == pytest.approx(0.02**2)


def test_imu_subscription_follows_imu_fusion_at_runtime(wired):
    """With imu_fusion none the node does not take the IMU at all; switching fusion on subscribes (and the
    IMU is then fused), switching it off again drops the subscription and the last sample."""
    from rclpy.parameter import Parameter

    io = wired(imu_timeout=30.0)
    harness = io['node']
    node = harness.node

    def imu_subscribers() -> int:
        return io['imu'].get_subscription_count()

    assert node._imu_sub is None
    feed(io, [states(0.05, 0.0, 1.0 + k * DT) for k in range(2)])
    harness.wait_for(lambda: imu_subscribers() == 0, 10.0, 'no imu subscription while fusion is none')

    assert node.set_parameters([Parameter('imu_fusion', value='yaw_rate')])[0].successful
    assert node._imu_sub is not None
    harness.wait_for(lambda: imu_subscribers() >= 1, 10.0, 'imu subscription after imu_fusion yaw_rate')
    gyro = Imu()
    gyro.angular_velocity.z = 0.05  # the IMU is mounted level on yutu2: base yaw rate

    def gyro_seen() -> bool:
        io['imu'].publish(gyro)
        return node._imu is not None

    harness.wait_for(gyro_seen, 10.0, 'IMU sample after switching fusion on')
    feed(io, [states(0.05, 0.0, 1.2)])
    fused_w = io['odom'][-1].msg.twist.twist.angular.z
    assert 0.0 < fused_w <= 0.05  # the wheels say 0: the gyro pulled the yaw rate towards its 0.05

    assert node.set_parameters([Parameter('imu_fusion', value='none')])[0].successful
    assert node._imu_sub is None and node._imu is None
    harness.wait_for(lambda: imu_subscribers() == 0, 10.0, 'imu subscription dropped after imu_fusion none')
    feed(io, [states(0.05, 0.0, 1.3)])
    assert io['odom'][-1].msg.twist.twist.angular.z == pytest.approx(0.0, abs=1e-12)

    assert node.set_parameters([Parameter('imu_fusion', value='yaw')])[0].successful
    harness.wait_for(lambda: imu_subscribers() >= 1, 10.0, 'imu subscription again after imu_fusion yaw')


def test_absurd_wheel_rates_do_not_kill_the_node(wired):
    """Issue 18 finding 9: a wheel velocity >= 1e200 rad/s overflowed (squares, covariances) and the
    node exited 1. The message is rejected or its estimate dropped; the next good sample is answered."""
    io = wired()
    feed(io, [states(0.05, 0.0, 1.0)])
    node = io['node'].node
    for k, value in enumerate((1e200, -1e300, 1.7e308)):
        absurd = states(0.05, 0.0, 1.1 + 0.1 * k)
        absurd.velocity = [0.0] * 4 + [value] * 6
        io['states'].publish(absurd)
    feed(io, [states(0.05, 0.0, 1.5), states(0.05, 0.0, 1.6)])
    assert node.context.ok() and node._rejected_msgs >= 2
    last = io['odom'][-1].msg
    assert math.isfinite(last.pose.pose.position.x) and abs(last.pose.pose.position.x) < 1.0
