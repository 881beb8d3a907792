"""Teleop test fixtures: run a node in-process in its own rclpy context, spun by a background thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import threading
from typing import Any

import pytest


class InProcessNode:
    """A node in a private context, spun in a thread; `close()` runs its shutdown hook like run_node."""

    def __init__(self, factory: Callable[..., Any], overrides: dict[str, Any], **kwargs: Any) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        params = [Parameter(name, value=value) for name, value in overrides.items()]
        try:
            self.node = factory(context=self.context, parameter_overrides=params, **kwargs)
        except BaseException:
            rclpy.try_shutdown(context=self.context)
            raise
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            self.executor.spin_once(timeout_sec=0.02)

    def close(self) -> None:
        import rclpy

        self._stop.set()
        self._thread.join(timeout=5.0)
        try:
            self.node.on_shutdown()
        finally:
            self.executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()
            rclpy.try_shutdown(context=self.context)


@pytest.fixture
def start_node() -> Iterator[Callable[..., InProcessNode]]:
    """`start_node(factory, {param: value}, **kwargs)` -> InProcessNode, closed after the test."""
    started: list[InProcessNode] = []

    def start(factory: Callable[..., Any], overrides: dict[str, Any] | None = None, **kwargs: Any) -> InProcessNode:
        node = InProcessNode(factory, overrides or {}, **kwargs)
        started.append(node)
        return node

    try:
        yield start
    finally:
        for node in reversed(started):
            node.close()
