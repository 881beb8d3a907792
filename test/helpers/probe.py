"""A graph probe: a private rclpy context with one node that publishes inputs and collects outputs.

Tests use it to talk to nodes running in other processes (or in-process, in another context)
over real DDS, and wait on conditions with deadlines instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile

from helpers.processes import wait_until


@dataclass
class Received:
    """One message with its wall-clock receive time."""

    t: float
    msg: Any


class RosProbe:
    """Publish and subscribe from a private context; call `close()` (or use `with`)."""

    def __init__(self, name: str = 'test_probe', use_sim_time: bool = False) -> None:
        from rclpy.parameter import Parameter

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context,
                                      parameter_overrides=[Parameter('use_sim_time', value=use_sim_time)])
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.inbox: dict[str, list[Received]] = {}

    def now_msg(self) -> Any:
        """The probe's clock (sim time when use_sim_time) as a builtin_interfaces/Time."""
        return self.node.get_clock().now().to_msg()

    def publisher(self, topic: str, msg_type: type, qos: QoSProfile | int = 10) -> Any:
        return self.node.create_publisher(msg_type, topic, qos)

    def subscribe(self, topic: str, msg_type: type, qos: QoSProfile | int = 10) -> list[Received]:
        """Start collecting `topic`; returns the live list of received messages."""
        box = self.inbox.setdefault(topic, [])
        self.node.create_subscription(msg_type, topic, lambda m: box.append(Received(time.monotonic(), m)), qos)
        return box

    def spin(self, duration_s: float) -> None:
        """Process callbacks for about `duration_s`."""
        end = time.monotonic() + duration_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self.executor.spin_once(timeout_sec=min(remaining, 0.01))

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str = 'condition') -> None:
        wait_until(predicate, timeout_s, spin=self.spin, what=what)

    def wait_for_subscribers(self, publisher: Any, count: int = 1, timeout_s: float = 10.0) -> None:
        self.wait_for(lambda: publisher.get_subscription_count() >= count, timeout_s,
                      f'{count} subscriber(s) on {publisher.topic_name}')

    def publish_for(self, publisher: Any, make_msg: Callable[[], Any], duration_s: float,
                    rate_hz: float = 10.0, until: Callable[[], bool] | None = None) -> None:
        """Publish `make_msg()` at `rate_hz` for `duration_s` (or until `until()`), spinning between."""
        end = time.monotonic() + duration_s
        period = 1.0 / rate_hz
        while time.monotonic() < end:
            publisher.publish(make_msg())
            self.spin(period)
            if until is not None and until():
                return

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> RosProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
