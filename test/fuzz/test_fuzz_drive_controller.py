"""drive_controller under fuzzed cmd_vel, joint_states and imu over DDS: it survives, never commands a
wheel above the description's hard wheel speed (nor its top speed), keeps the steering within its
limits, and stale cmd_vel gives zero wheel speed within cmd_vel_timeout + one watchdog period."""

from __future__ import annotations

import math

from fuzz.chain_fuzz import FUZZ_SETTINGS, command_fields, imus, twist_msg
from fuzz.strategies import joint_state_fields, stamp_near
from geometry_msgs.msg import TwistStamped
from helpers.node_bench import NodeBench
from hypothesis import given
from hypothesis import strategies as st
import pytest
from safety.harness import seconds
from sensor_msgs.msg import Imu, JointState

from rover_description.geometry import STEER_JOINTS, SUSPENSION_JOINTS, WHEEL_JOINTS, load_geometry
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
GEOMETRY = load_geometry('yutu2')
RADIUS = GEOMETRY.wheel_radius
WHEEL_CAP = GEOMETRY.limits.wheel_speed / RADIUS  # rad/s
TIMEOUT, WATCHDOG = 0.5, 0.1
JOINTS = (*WHEEL_JOINTS, *STEER_JOINTS, *SUSPENSION_JOINTS)


@pytest.fixture(scope='module')
def drive():
    from rover_nav.drive.controller_node import DriveControllerNode

    params = {'cmd_vel_timeout': TIMEOUT, 'max_wheel_speed': GEOMETRY.limits.wheel_speed,
              'suspension_compensation': True, 'gyro_assist': True}
    with NodeBench(DriveControllerNode, params) as b:
        b.cmd = b.probe.publisher('cmd_vel', TwistStamped, qos.COMMAND)
        b.states = b.probe.publisher('joint_states', JointState, qos.SENSOR_PUB)
        b.imu = b.probe.publisher('imu', Imu, qos.SENSOR_PUB)
        b.out = b.probe.subscribe('joint_commands', JointState, qos.COMMAND)
        b.wait_matched()
        yield b


def check(b: NodeBench, start: int) -> None:
    limits = {w.steer_joint: (w.steer_min, w.steer_max) for w in GEOMETRY.wheels if w.steer_joint}
    for r in b.out[start:]:
        pos = dict(zip(r.msg.name, r.msg.position, strict=True))
        vel = dict(zip(r.msg.name, r.msg.velocity, strict=True))
        for j in WHEEL_JOINTS:
            assert math.isfinite(vel[j]) and abs(vel[j]) <= WHEEL_CAP * (1 + 1e-9), (j, vel[j])
        for j, (lo, hi) in limits.items():
            assert math.isfinite(pos[j]) and lo - 1e-9 <= pos[j] <= hi + 1e-9, (j, pos[j])


def publish_twist(b: NodeBench, fields, tag: str) -> None:
    b.cmd.publish(twist_msg((*fields[:4], tag)))


def answered(b: NodeBench, n_before: int) -> None:
    """A valid command stamped now; the drive answers every cmd_vel with one joint_commands stamped alike."""
    sentinel = TwistStamped()
    sentinel.header.stamp.sec, sentinel.header.stamp.nanosec = int(b.t), int(round((b.t % 1) * 1e9))
    sentinel.twist.linear.x = 0.02
    b.cmd.publish(sentinel)
    b.wait_for(lambda: any(abs(seconds(r.msg.header.stamp) - b.t) < 1e-6 for r in b.out[n_before:]), 20.0,
               'the answer to the sentinel cmd_vel')


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_inputs_never_command_a_wheel_beyond_the_hard_limit(drive, cases, data):
    cases['drive_controller'] += 1
    start = len(drive.out)
    drive.set_clock(round(drive.t + data.draw(st.floats(0.001, 0.3)), 6))
    for names, position, velocity, effort in data.draw(st.lists(joint_state_fields(JOINTS), max_size=2)):
        msg = JointState(name=names, position=position, velocity=velocity, effort=effort)
        msg.header.stamp.sec, msg.header.stamp.nanosec = data.draw(stamp_near(drive.t))
        drive.states.publish(msg)
    for msg in data.draw(st.lists(imus(drive.t), max_size=2)):
        drive.imu.publish(msg)
    for i, fields in enumerate(data.draw(st.lists(command_fields(drive.t), min_size=1, max_size=3))):
        publish_twist(drive, fields, f'f{i}')
    answered(drive, start)
    check(drive, start)


def test_after_the_fuzzing_stale_cmd_vel_gives_zero_wheels_within_timeout_plus_one_period(drive):
    drive.set_clock(round(drive.t + 0.05, 6))
    start = len(drive.out)
    answered(drive, start)
    last = drive.t
    n = len(drive.out)
    drive.advance(last + TIMEOUT + WATCHDOG + 0.02)
    zeros = [seconds(r.msg.header.stamp) for r in drive.out[n:]
             if all(v == 0.0 for j, v in zip(r.msg.name, r.msg.velocity, strict=True) if j in WHEEL_JOINTS)]
    assert zeros and zeros[0] <= last + TIMEOUT + WATCHDOG + 1e-6
    check(drive, 0)
