"""Probe logic shared by the launch_testing tests (tier 1) and the embedded end-to-end tests.

Each check drives a running stack over DDS with a `RosProbe` (on simulated time) and asserts
what a user relies on: `/cmd_vel` never exceeds the cap, a stale operator stops the rover
(judged on stamps, so a loaded machine does not flake), the run's bag appears. The launch
tests call them against `sim.launch.py` + Gazebo; `test/e2e` calls them against
`rover run --processes`, so every assertion a launch test makes also runs here.
"""

from __future__ import annotations

from pathlib import Path

from geometry_msgs.msg import TwistStamped

from helpers.probe import Received, RosProbe
from helpers.processes import wait_until
from rover_nav.runtime import qos

MAX_LINEAR_SPEED = 0.0559  # m/s, ROVER_SPEC section 4
COMMAND_TIMEOUT = 0.5  # s
LIMITER_PERIOD = 0.1  # s, the limiter's watchdog period at the 10 Hz control rate
CLOCK_TICK = 0.1  # s, the simulated clock's step in lockstep (10 Hz): how far the probe's clock may lag


def _stamp_s(r: Received) -> float:
    st = r.msg.header.stamp
    return st.sec + st.nanosec * 1e-9


def _twist(probe: RosProbe, v: float, w: float = 0.0) -> TwistStamped:
    msg = TwistStamped()
    msg.header.stamp = probe.now_msg()
    msg.header.frame_id = 'base_link'
    msg.twist.linear.x = v
    msg.twist.angular.z = w
    return msg


class ChainProbe:
    """Publishes operator commands on teleop/cmd_vel and watches cmd_vel."""

    def __init__(self, probe: RosProbe) -> None:
        self.probe = probe
        self.teleop = probe.publisher('teleop/cmd_vel', TwistStamped, qos.COMMAND)
        self.cmd_vel = probe.subscribe('cmd_vel', TwistStamped, qos.COMMAND)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until the limiter listens, the chain answers and simulated time runs."""
        self.probe.wait_for_subscribers(self.teleop, 1, timeout_s)
        self.probe.wait_for(lambda: self.probe.node.get_clock().now().nanoseconds > 0, timeout_s, '/clock')

    def check_cmd_vel_capped(self, demand: float = 1.0, cap: float = MAX_LINEAR_SPEED,
                             timeout_s: float = 60.0) -> float:
        """Demand far more than the cap until the output has ramped up; no output may exceed the cap."""
        start = len(self.cmd_vel)

        def ramped() -> bool:
            return any(abs(r.msg.twist.linear.x) >= 0.95 * cap for r in self.cmd_vel[start:])

        self.probe.publish_for(self.teleop, lambda: _twist(self.probe, demand), timeout_s, 10.0, until=ramped)
        seen = [abs(r.msg.twist.linear.x) for r in self.cmd_vel[start:]]
        assert seen, 'no cmd_vel at all while the operator commanded motion'
        assert max(seen) <= cap * (1 + 1e-9), f'cmd_vel {max(seen)} m/s above the {cap} m/s cap'
        assert ramped(), f'cmd_vel never reached the cap (max {max(seen):.4f} m/s): is a guard blocking?'
        return max(seen)

    def check_stale_teleop_stops(self, command_timeout: float = COMMAND_TIMEOUT, timeout_s: float = 60.0,
                                 clock_tick: float = CLOCK_TICK) -> float:
        """Drive, then go silent: cmd_vel must drop to zero within command_timeout + one limiter period
        (+ one clock tick: the probe's clock may be one tick behind the limiter's when it stamps).

        Judged on stamps (the limiter stamps its timeout zero with its clock), not on arrival times.
        """
        self.probe.publish_for(self.teleop, lambda: _twist(self.probe, 0.03), timeout_s, 10.0,
                               until=lambda: any(r.msg.twist.linear.x > 0.0 for r in self.cmd_vel[-3:]))
        # Stamp the last command on a FRESH tick of the probe's clock and send it at once: the probe takes
        # /clock whenever its executor runs, so on a loaded machine its clock lagged the limiter's by
        # several ticks and the measured delay grew by that lag (0.700 s against 0.6 s). Even fresh, it
        # may be one tick behind the limiter's, which the bound below allows for.
        seen_ns = self.probe.node.get_clock().now().nanoseconds
        self.probe.wait_for(lambda: self.probe.node.get_clock().now().nanoseconds > seen_ns, timeout_s,
                            'a fresh /clock tick')
        last = _twist(self.probe, 0.03)
        self.teleop.publish(last)
        last_s = last.header.stamp.sec + last.header.stamp.nanosec * 1e-9
        start = len(self.cmd_vel)

        def stopped() -> bool:
            return any(r.msg.twist.linear.x == 0.0 and r.msg.twist.angular.z == 0.0 and _stamp_s(r) > last_s
                       for r in self.cmd_vel[start:])

        self.probe.wait_for(stopped, timeout_s, 'zero cmd_vel after the operator went silent')
        zero = next(r for r in self.cmd_vel[start:] if r.msg.twist.linear.x == 0.0 and _stamp_s(r) > last_s)
        delay = _stamp_s(zero) - last_s
        bound = command_timeout + LIMITER_PERIOD + clock_tick + 1e-3
        assert delay <= bound, f'zero came {delay:.3f} s after the last command (bound {bound:.3f} s)'
        return delay


def check_bag_appears(out_dir: Path, timeout_s: float = 30.0) -> Path:
    """The track logger's rosbag2 directory exists with its first MCAP file."""
    bag = Path(out_dir) / 'bag'
    wait_until(lambda: bag.is_dir() and any(bag.glob('*.mcap')), timeout_s, what=f'{bag}/*.mcap')
    return bag


def check_teleop_publishes_zero_without_joy(probe: RosProbe, rate_hz: float = 10.0, timeout_s: float = 30.0) -> None:
    """joy_teleop with no /joy keeps publishing zero at its output rate: never silence, never motion."""
    out = probe.subscribe('teleop/cmd_vel', TwistStamped, qos.COMMAND)
    probe.wait_for(lambda: len(out) >= 10, timeout_s, '10 teleop/cmd_vel messages')
    assert all(r.msg.twist.linear.x == 0.0 and r.msg.twist.angular.z == 0.0 for r in out)
    stamps = [_stamp_s(r) for r in out[-10:]]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert max(gaps) <= 2.5 / rate_hz, f'teleop output gap of {max(gaps):.3f} s: it must not go silent'
