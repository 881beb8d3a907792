"""The Gazebo joint adapter: splitting joint_commands, and zeroing the wheels when they go stale."""

from __future__ import annotations

import math

import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64

from rover_bringup.gz_joint_adapter import GzJointAdapter, split_command
from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS
from rover_nav.runtime import qos

NAN = math.nan


def test_split_keeps_wheel_velocities_and_steer_positions():
    names = [*STEER_JOINTS, *WHEEL_JOINTS]
    positions = [0.1, -0.1, 0.2, -0.2] + [NAN] * 6
    velocities = [NAN] * 4 + [1.0, 2.0, 3.0, -1.0, -2.0, -3.0]
    out = split_command(names, positions, velocities)
    assert out['steer_fl_joint/cmd_pos'] == 0.1
    assert out['wheel_rr_joint/cmd_vel'] == -3.0
    assert len(out) == 10


def test_split_skips_nan_unknown_and_short_arrays():
    out = split_command(['wheel_fl_joint', 'steer_fl_joint', 'mystery_joint', 'wheel_ml_joint'],
                        [NAN, NAN, 1.0], [math.inf, 0.5, 1.0])
    assert out == {}


@pytest.mark.ros
def test_commands_are_forwarded_and_stale_commands_zero_the_wheels(probe):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = GzJointAdapter(context=ctx, parameter_overrides=[Parameter('joint_command_timeout', value=0.3)])
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    wheel = probe.subscribe('gz/wheel_fl_joint/cmd_vel', Float64, qos.COMMAND)
    steer = probe.subscribe('gz/steer_fl_joint/cmd_pos', Float64, qos.COMMAND)
    pub = probe.publisher('joint_commands', JointState, qos.COMMAND)

    def spin_both(dt: float) -> None:
        ex.spin_once(timeout_sec=dt / 2)
        probe.spin(dt / 2)

    try:
        cmd = JointState(name=['wheel_fl_joint', 'steer_fl_joint'], position=[NAN, 0.25], velocity=[0.4, NAN])
        from helpers.processes import wait_until
        wait_until(lambda: pub.get_subscription_count() >= 1, 10.0, spin=spin_both, what='adapter subscription')

        def got_command() -> bool:
            pub.publish(cmd)
            return any(r.msg.data == 0.4 for r in wheel) and any(r.msg.data == 0.25 for r in steer)

        wait_until(got_command, 10.0, poll_s=0.05, spin=spin_both, what='forwarded commands')
        n = len(wheel)
        wait_until(lambda: len(wheel) > n and wheel[-1].msg.data == 0.0, 10.0, spin=spin_both,
                   what='wheel zeroed after joint_command_timeout')
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)
