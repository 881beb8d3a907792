"""The one `main()` shape every executable uses.

It creates the node inside try, spins it, treats SIGINT/SIGTERM as a normal exit (code 0, as
launch_testing's exit-code checks expect), turns a `ConfigError` into exit code 2 with the
offending key in the message, and always runs the node's `on_shutdown()` (publish zero, stop
motors) before destroying it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import sys
from typing import Any

from rover_nav.runtime.params import ConfigError

EXIT_OK = 0
EXIT_CONFIG = 2


def run_node(factory: Callable[[], Any], argv: Sequence[str] | None = None,
             spin: Callable[[Any], None] | None = None) -> int:
    """Create a node with `factory()`, spin it until shutdown and return the exit code."""
    import signal

    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    # rclpy's own SIGINT handler would shut the context down before on_shutdown() can publish
    # its zero command; let SIGINT raise KeyboardInterrupt instead, and SIGTERM likewise.
    rclpy.init(args=list(sys.argv if argv is None else argv), signal_handler_options=SignalHandlerOptions.NO)
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    node = None
    try:
        node = factory()
        (spin or _spin_interruptibly)(node)
        return EXIT_OK
    except (KeyboardInterrupt, ExternalShutdownException):
        return EXIT_OK
    except ConfigError as exc:
        print(f'configuration error: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    finally:
        if node is not None:
            shutdown_hook = getattr(node, 'on_shutdown', None)
            if shutdown_hook is not None:
                try:
                    shutdown_hook()
                except Exception as exc:  # the context may already be gone after SIGINT
                    print(f'{node.get_name()}: shutdown hook failed: {exc}', file=sys.stderr)
            node.destroy_node()
        rclpy.try_shutdown()
        signal.signal(signal.SIGTERM, previous_term)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _spin_interruptibly(node: Any) -> None:
    """Spin with a bounded wait, so Python's signal handlers run within 0.1 s even on a silent graph."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while rclpy.ok(context=node.context):
            executor.spin_once(timeout_sec=0.1)
    finally:
        executor.remove_node(node)
