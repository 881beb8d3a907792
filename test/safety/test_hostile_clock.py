"""A `/clock` that is not a time (negative seconds, -2^31 s, nanosec >= 1e9) must not kill a node on sim
time: rclpy's TimeSource raises on it inside the executor (issue 18). The node drops it with a warning and
still stops the rover on stale input, judged on the stamps of its output."""

from __future__ import annotations

from pathlib import Path

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
import pytest
from rosgraph_msgs.msg import Clock
from safety.harness import seconds, stamp

from rover_nav.runtime import qos
from rover_nav.runtime.clock_guard import ClockMessageFilter, clock_message_problem

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / 'rover_bringup' / 'config' / 'rover.yaml'
COMMAND_TIMEOUT = 0.5  # rover.yaml
WATCHDOG_PERIOD = 0.05  # the limiter's default watchdog_period
CLOCK_STEP = 0.05
HOSTILE = ((-1, 0), (-(2**31), 0), (-(2**31), 999_999_999), (5, 2_000_000_000), (5, 2**32 - 1))


def test_malformed_clock_values_are_named_and_valid_ones_pass():
    assert clock_message_problem(0, 0) is None
    assert clock_message_problem(2**31 - 1, 999_999_999) is None
    for sec, nanosec in HOSTILE:
        assert clock_message_problem(sec, nanosec) is not None
    seen, warnings = [], []
    filt = ClockMessageFilter(seen.append, warnings.append)
    for sec, nanosec in ((3, 0), *HOSTILE, (3, 500_000_000)):
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = sec, nanosec
        filt(msg)
    assert [seconds(m.clock) for m in seen] == [3.0, 3.5]
    assert filt.dropped == len(HOSTILE) and 'negative seconds' in warnings[0]


def test_every_sim_time_node_filters_its_time_source_clock():
    """The filter sits in the node base (IntraProcessMixin), under rclpy's TimeSource subscription."""
    import rclpy
    from rclpy.parameter import Parameter

    from rover_nav.safety.speed_limiter_node import SpeedLimiterNode

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = SpeedLimiterNode(context=context, parameter_overrides=[Parameter('use_sim_time', value=True)])
        try:
            clock_subs = [s for s in node.subscriptions if s.topic_name == '/clock']
            assert clock_subs and all(isinstance(s.callback, ClockMessageFilter) for s in clock_subs)
            for sec, nanosec in HOSTILE:  # what the executor would call: no exception, the clock unmoved
                msg = Clock()
                msg.clock.sec, msg.clock.nanosec = sec, nanosec
                for sub in clock_subs:
                    sub.callback(msg)
            assert node.get_clock().now().nanoseconds == 0
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


@pytest.mark.ros
def test_a_chain_process_survives_hostile_clocks_and_still_stops_on_stale_commands(tmp_path, probe):
    out = probe.subscribe('cmd_vel_out', TwistStamped, qos.COMMAND)
    clock = probe.publisher('/clock', Clock, qos.CLOCK)
    cmd = probe.publisher('cmd_vel_in', TwistStamped, qos.COMMAND)
    node = NodeProcess.module('rover_nav.safety.speed_limiter_node',
                              ['--ros-args', '--params-file', str(PARAMS), '-p', 'use_sim_time:=true'],
                              tmp_path / 'speed_limiter.log')
    t = 1.0

    def tick(dt: float = CLOCK_STEP) -> None:
        """One step of the test's sim clock; a command stamped with it (the operator's)."""
        nonlocal t
        t = round(t + dt, 9)
        clock.publish(Clock(clock=stamp(t)))
        msg = TwistStamped()
        msg.header.stamp = stamp(t)
        msg.twist.linear.x = 0.05
        cmd.publish(msg)
        probe.spin(0.02)

    def hostile() -> None:
        for sec, nanosec in HOSTILE:
            msg = Clock()
            msg.clock.sec, msg.clock.nanosec = sec, nanosec
            clock.publish(msg)
        probe.spin(0.02)

    try:
        probe.wait_for_subscribers(cmd)
        probe.wait_for(lambda: (tick(), any(r.msg.twist.linear.x > 0.0 for r in out))[1], 60.0, 'the limiter moving')
        probe.wait_for(lambda: (hostile(), '/clock dropped' in node.output())[1] or not node.alive(), 30.0,
                       'the limiter to receive the hostile /clock')
        assert node.alive(), node.output()
        for _ in range(5):  # it goes on driving on the valid clock...
            hostile()
            tick()
        count = len(out)
        probe.wait_for(lambda: (tick(), len(out) > count + 3)[1], 30.0, 'more commands through the limiter')
        assert out[-1].msg.twist.linear.x > 0.0 and node.alive(), node.output()
        # ...and stops on stale input: no more commands, only the clock (and more hostile values) moves
        last_command = t
        mark = len(out)

        def zero_seen() -> bool:
            nonlocal t
            hostile()
            t = round(t + CLOCK_STEP, 9)
            clock.publish(Clock(clock=stamp(t)))
            probe.spin(0.02)
            return any(r.msg.twist.linear.x == 0.0 for r in out[mark:])

        probe.wait_for(zero_seen, 60.0, 'the watchdog zero')
        zero = next(r.msg for r in out[mark:] if r.msg.twist.linear.x == 0.0)
        # the watchdog runs on the node's clock: zero is stamped within the timeout + one period
        # (+ one step of this test's clock, which it may have missed: /clock is best effort)
        assert seconds(zero.header.stamp) <= last_command + COMMAND_TIMEOUT + WATCHDOG_PERIOD + CLOCK_STEP + 1e-6
        assert seconds(zero.header.stamp) > last_command
        assert node.alive(), node.output()
    finally:
        code = node.stop()
    assert code == 0, node.output()
    assert 'Traceback' not in node.output()
