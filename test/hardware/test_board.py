"""`rover board --emulate`: the whole board graph in one process drives the emulated RoboClaws from
/teleop/cmd_vel, obeys the e-stop until the chain's reset, and SIGINT stops it cleanly."""

from __future__ import annotations

import signal
import sys

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

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


def test_the_shipped_board_files_are_within_the_hobby_hard_limits(tmp_path):
    from rover_bringup.params_file import check_hard_limits
    from rover_description.paths import data_file
    from rover_nav.runtime.params import ConfigError

    files = [str(data_file('config', 'rover.yaml')), str(data_file('config', 'hardware.yaml'))]
    check_hard_limits(files, board_nodes(obstacle_guard=True, teleop='joystick'))  # rover.yaml's 0.2 m step lowered
    fast = tmp_path / 'fast.yaml'
    fast.write_text('/**/hardware_driver:\n  ros__parameters:\n    max_wheel_speed: 0.3\n')
    with pytest.raises(ConfigError, match="max_wheel_speed = 0.3 is above the hard limit 0.24 .*'hobby'"):
        check_hard_limits([*files, str(fast)], board_nodes(obstacle_guard=False, teleop='none'))


def test_board_drives_the_emulated_rover_and_stops_on_sigint(tmp_path, probe):
    argv = [sys.executable, '-m', 'rover_bringup.cli', 'board', '--emulate', '--out', str(tmp_path / 'run')]
    proc = NodeProcess(argv, tmp_path / 'board.log', sigint_ignored=True)
    try:
        states = probe.subscribe('joint_states', JointState, qos.SENSOR_SUB)
        pub = probe.publisher('teleop/cmd_vel', TwistStamped, qos.COMMAND)

        def command() -> TwistStamped:
            msg = TwistStamped()
            msg.header.stamp = probe.node.get_clock().now().to_msg()
            msg.twist.linear.x = 0.03
            return msg

        def rolling_since(index: int) -> bool:
            return any(len(r.msg.velocity) >= 6 and min(r.msg.velocity[:6]) > 0.1 for r in states[index:])

        def rolling() -> bool:
            return rolling_since(0)

        def stopped_since(index: int) -> bool:
            return any(len(r.msg.velocity) >= 6 and max(abs(v) for v in r.msg.velocity[:6]) < 1e-6
                       for r in states[index:])

        probe.wait_for_subscribers(pub, timeout_s=60.0)
        probe.publish_for(pub, command, 60.0, rate_hz=10, until=rolling)
        assert rolling(), proc.output()
        # the chain's e-stop protocol on the board: /estop true stops the wheels, the speed
        # limiter's estop/reset (which publishes estop false) lets them roll again
        estop = probe.publisher('estop', Bool, qos.LATCHED)
        estop.publish(Bool(data=True))
        mark = len(states)
        probe.publish_for(pub, command, 30.0, rate_hz=10, until=lambda: stopped_since(mark))
        assert stopped_since(mark), proc.output()
        reset = probe.node.create_client(Trigger, 'estop/reset')
        probe.wait_for(reset.service_is_ready, 30.0, 'estop/reset')
        future = reset.call_async(Trigger.Request())
        probe.wait_for(future.done, 30.0, 'reset answer')
        assert future.result().success
        mark = len(states)
        probe.publish_for(pub, command, 30.0, rate_hz=10, until=lambda: rolling_since(mark))
        assert rolling_since(mark), proc.output()
        # Ctrl-C, to a board started as a script's background job (SIGINT ignored when it starts):
        # it must still stop, exit 0 and leave whole files. Without rover's own SIGINT handler it
        # ignored this for good (seen in every CI run whose pytest had inherited an ignored SIGINT).
        proc.signal_group(signal.SIGINT)
        code = proc.proc.wait(timeout=60.0)
    finally:
        proc.stop()
    assert code == 0, proc.output()
    assert (tmp_path / 'run' / 'summary.json').is_file()
