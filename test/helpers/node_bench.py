"""One node under test in its own rclpy context on simulated time, driven over DDS by a RosProbe (any node).

The test owns /clock: `set_clock(t)` publishes it and spins until the node's clock reads t, so
timers fire at known simulated times and every judgement is made on stamps, not on how fast a
loaded machine happens to run the callbacks. The safety chain's Harness and the fuzz suites build on it.
"""

from __future__ import annotations

from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock

from helpers.probe import RosProbe
from helpers.processes import wait_until
from rover_nav.runtime import qos
from rover_nav.runtime.checks import seconds_to_time


class NodeBench:
    """`node_cls(**kwargs)` with use_sim_time; the probe owns /clock. Call close() in finally.

    A subclass wires its own publishers and subscriptions in `wire()`, before the clock starts at 1 s.
    As a context manager it closes on exit (`with NodeBench(...) as b: yield b` in a fixture).
    """

    probe_name = 'node_bench'

    def __init__(self, node_cls: type, overrides: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.probe = RosProbe(self.probe_name)
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = None
        self.executor = SingleThreadedExecutor(context=self.context)
        params = [Parameter('use_sim_time', value=True)] + [Parameter(k, value=v) for k, v in (overrides or {}).items()]
        try:
            self.node = node_cls(context=self.context, parameter_overrides=params, **kwargs)
            self.executor.add_node(self.node)
            self.clock_pub = self.probe.publisher('/clock', Clock, qos.CLOCK)
            self.wire()
            self.wait_matched()
            self.t = 0.0
            self.set_clock(1.0)
        except BaseException:
            self.close()
            raise

    def wire(self) -> None:
        """Publishers and subscriptions of a subclass (none here)."""

    def wait_matched(self, timeout_s: float = 30.0) -> None:
        """Wait until DDS has matched every probe publisher with the node's subscription on its topic and
        every node publisher with the probe's subscription on its topic. A reliable volatile writer drops
        what it publishes before the match, so a first answer could otherwise be lost for good (CI run of
        stop 25: the obstacle guard's first fuzz case waited 30 s for an answer sent before the match)."""
        node_subs = {s.topic_name for s in self.node.subscriptions}
        probe_subs = {s.topic_name for s in self.probe.node.subscriptions}
        pairs = [p for p in self.probe.node.publishers if p.topic_name in node_subs]
        pairs += [p for p in self.node.publishers if p.topic_name in probe_subs]

        def unmatched() -> list[str]:
            return [p.topic_name for p in pairs if p.get_subscription_count() < 1]

        self.wait_for(lambda: not unmatched(), timeout_s, 'DDS matching of the probe and the node')

    def spin(self, duration_s: float = 0.01) -> None:
        """Process callbacks of both sides for about `duration_s` (wall)."""
        self.executor.spin_once(timeout_sec=0.0)
        self.probe.spin(duration_s / 2)
        self.executor.spin_once(timeout_sec=duration_s / 2)

    def wait_for(self, predicate, timeout_s: float = 10.0, what: str = 'condition') -> None:
        wait_until(predicate, timeout_s, spin=self.spin, what=what)

    def set_clock(self, t: float) -> None:
        """Publish /clock = t and spin until the node's clock shows it (due timers then run)."""
        self.t = t
        msg = Clock(clock=seconds_to_time(t))
        target = int(round(t * 1e9))

        def seen() -> bool:
            if self.node.get_clock().now().nanoseconds >= target:
                return True
            self.clock_pub.publish(msg)
            return False

        self.wait_for(seen, 10.0, f'node clock at {t:.3f} s')
        for _ in range(3):  # let timers that became due run
            self.executor.spin_once(timeout_sec=0.0)

    def advance(self, until: float, step: float = 0.01) -> None:
        while self.t + step <= until + 1e-9:
            self.set_clock(round(self.t + step, 9))

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.executor.shutdown()
            if self.node is not None:
                self.node.destroy_node()
        finally:
            rclpy.try_shutdown(context=self.context)
            self.probe.close()


def count_callbacks(node: Any, topic_suffix: str) -> list[int]:
    """Wrap the node's subscription callback of the topic ending in `topic_suffix`; the returned list
    grows by one per processed message (how a test knows the node has taken everything it sent)."""
    done: list[int] = []
    sub = next(s for s in node.subscriptions if s.topic_name.endswith(topic_suffix))
    callback = sub.callback

    def counted(msg: Any) -> None:
        try:
            callback(msg)
        finally:
            done.append(1)

    sub.callback = counted
    return done
