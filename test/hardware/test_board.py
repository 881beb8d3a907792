"""`rover board --emulate`: the whole board graph in one process drives the emulated RoboClaws from
/teleop/cmd_vel, and SIGINT stops it cleanly."""

from __future__ import annotations

import sys

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
import pytest
from sensor_msgs.msg import JointState

from rover_bringup.commands.board import board_nodes
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros


def test_board_graph_wiring():
    names = [s.name for s in board_nodes(obstacle_guard=False, teleop='none')]
    assert names[0] == 'hardware_driver' and names[-1] == 'track_logger'
    slope = next(s for s in board_nodes(False, 'none') if s.name == 'slope_guard')
    assert ('cmd_vel_out', 'cmd_vel') in slope.remappings  # no obstacle guard: slope guard ends the chain
    with_guard = [s.name for s in board_nodes(obstacle_guard=True, teleop='joystick')]
    assert {'obstacle_guard', 'joystick', 'joy_teleop'} <= set(with_guard)


def test_board_drives_the_emulated_rover_and_stops_on_sigint(tmp_path, probe):
    argv = [sys.executable, '-m', 'rover_bringup.cli', 'board', '--emulate', '--out', str(tmp_path / 'run')]
    proc = NodeProcess(argv, tmp_path / 'board.log')
    try:
        states = probe.subscribe('joint_states', JointState, qos.SENSOR_SUB)
        pub = probe.publisher('teleop/cmd_vel', TwistStamped, qos.COMMAND)

        def command() -> TwistStamped:
            msg = TwistStamped()
            msg.header.stamp = probe.node.get_clock().now().to_msg()
            msg.twist.linear.x = 0.03
            return msg

        def rolling() -> bool:
            return any(len(r.msg.velocity) >= 6 and min(r.msg.velocity[:6]) > 0.1 for r in states)

        probe.wait_for_subscribers(pub, timeout_s=60.0)
        probe.publish_for(pub, command, 60.0, rate_hz=10, until=rolling)
        assert rolling(), proc.output()
        code = proc.stop()
    finally:
        proc.stop()
    assert code == 0, proc.output()
    assert (tmp_path / 'run' / 'summary.json').is_file()
