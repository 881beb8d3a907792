"""wheel_odometry under fuzzed joint_states and imu over DDS: it survives, and every odom it publishes
is finite and moves at most what a plausible twist moves in max_integration_dt."""

from __future__ import annotations

import math

from fuzz.chain_fuzz import FUZZ_SETTINGS, imus
from fuzz.strategies import joint_state_fields, stamp_near
from helpers.node_bench import NodeBench, count_callbacks
from hypothesis import given
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
import pytest
from sensor_msgs.msg import Imu, JointState

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS, load_geometry
from rover_nav.drive.layout import WheelLayout
from rover_nav.drive.odometry import plausible_twist_limits
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
V_LIMIT, _ = plausible_twist_limits(WheelLayout.from_geometry(load_geometry('yutu2')))
MAX_DT = 1.0  # max_integration_dt
JOINTS = (*WHEEL_JOINTS, *STEER_JOINTS)


@pytest.fixture(scope='module')
def odometry():
    from rover_nav.drive.odometry_node import WheelOdometryNode

    with NodeBench(WheelOdometryNode, {'imu_fusion': 'yaw_rate', 'max_integration_dt': MAX_DT}) as b:
        b.states = b.probe.publisher('joint_states', JointState, qos.SENSOR_PUB)
        b.imu = b.probe.publisher('imu', Imu, qos.SENSOR_PUB)
        b.out = b.probe.subscribe('odom', Odometry, qos.STATE)
        b.wait_matched()
        b.taken = count_callbacks(b.node, 'joint_states')
        yield b


def check(b: NodeBench, start: int) -> None:
    prev = b.out[start - 1].msg.pose.pose.position if start > 0 else None
    for r in b.out[start:]:
        p = r.msg.pose.pose.position
        assert math.isfinite(p.x) and math.isfinite(p.y), (p.x, p.y)
        assert all(math.isfinite(c) for c in r.msg.pose.covariance)
        if prev is not None:
            assert math.hypot(p.x - prev.x, p.y - prev.y) <= V_LIMIT * MAX_DT + 1e-9, (prev, p)
        prev = p


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_joint_states_give_finite_plausible_odometry(odometry, cases, data):
    cases['wheel_odometry'] += 1
    b = odometry
    start = len(b.out)
    b.set_clock(round(b.t + data.draw(st.floats(0.001, 0.3)), 6))
    for msg in data.draw(st.lists(imus(b.t), max_size=2)):
        b.imu.publish(msg)
    sent = len(b.taken)
    states = data.draw(st.lists(joint_state_fields(JOINTS), min_size=1, max_size=3))
    for names, position, velocity, effort in states:
        msg = JointState(name=names, position=position, velocity=velocity, effort=effort)
        msg.header.stamp.sec, msg.header.stamp.nanosec = data.draw(stamp_near(b.t))
        b.states.publish(msg)
    b.wait_for(lambda: len(b.taken) >= sent + len(states), 20.0, 'the node to take every joint_states')
    check(b, start)
