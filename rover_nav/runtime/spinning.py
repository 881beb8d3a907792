"""Spin a node so that its shutdown hook can still publish the final zero command.

rclpy's default signal handlers shut the context down the moment SIGINT/SIGTERM arrives, so a
node's `on_shutdown()` can no longer publish (its publish fails with "context is invalid") and
the rover is left to the downstream command timeout. Every node must stop the rover itself
(EXAMPLES practice 7), so `run_node` hands rclpy's handlers back to Python: SIGINT
raises KeyboardInterrupt, SIGTERM and SIGHUP raise `Terminated` (a KeyboardInterrupt, so
`run_node` treats them as a normal exit), and the executor waits in short slices so the
Python handler runs within `slice_s`.

While the executor itself runs, the exception is deferred to the end of the slice: raised inside
rclpy's C++ code (which calls back into Python to build messages) it would surface as a pybind11
"Unable to convert call argument" RuntimeError and a non-zero exit instead of a clean stop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
import contextlib
import signal
import sys
import threading
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: leave like Ctrl-C (exit code 0 through run_node, shutdown hook runs)."""


_pending: list[BaseException] = []  # a signal that arrived while the executor was running
_in_executor = 0  # > 0 while the main thread is inside executor.spin_once


def _interrupt(exc: BaseException) -> None:
    if _in_executor:
        _pending.append(exc)  # raised by the spin loop at the end of the slice
        return
    raise exc


def _on_sigint(_signum: int, _frame: Any) -> None:
    _interrupt(KeyboardInterrupt())


def _raise_terminated(signum: int, _frame: Any) -> None:
    # One is enough: a second hang-up/terminate must not interrupt the shutdown hook's zero command.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _interrupt(Terminated(f'signal {signal.Signals(signum).name}'))


def spin_slice(executor: Any, timeout_s: float) -> None:
    """One `executor.spin_once`, with signals deferred until it returns (then raised here)."""
    global _in_executor
    _in_executor += 1
    try:
        executor.spin_once(timeout_sec=timeout_s)
    finally:
        _in_executor -= 1
    if _pending:
        raise _pending.pop(0)


def spin_composed(executor: Any, bus: Any, timeout_s: float, turn_every_s: float = 0.05,
                  stop: Callable[[], bool] | None = None) -> None:
    """One slice of nodes composed on an intra-process bus (`rover_nav.runtime.intra_process`).

    Queued bus callbacks run for up to `turn_every_s` of wall time, then the executor gets one
    turn for its own events (steady-clock timers, services, messages from other processes); it
    waits up to `timeout_s` for one only when the bus is idle. A turn costs ~80 us even when
    nothing is ready (and more when other threads then hold the GIL), a bus callback nothing
    beyond the callback, so the executor is given a turn per `turn_every_s`, not one per message:
    the steady-clock timers of composed nodes must not be faster than that (one event per turn).
    `stop()`, when given, is checked after every bus callback (see `IntraProcessBus.deliver`).
    Signals are deferred to the end of the slice, as in `spin_slice`.
    """
    import time

    global _in_executor
    _in_executor += 1
    try:
        bus.deliver(until=time.monotonic() + turn_every_s, stop=stop)
        if stop is None or not stop():
            executor.spin_once(timeout_sec=0.0 if bus.pending else timeout_s)
    finally:
        _in_executor -= 1
    if _pending:
        raise _pending.pop(0)


def publish_and_flush(publisher: Any, msg: Any, timeout_s: float = 1.0) -> bool:
    """Publish a last message and wait until reliable subscribers acknowledged it.

    Needed in shutdown hooks: the node is destroyed right after the hook, and a reliable message
    still in the writer's history when its writer goes away may never reach the subscriber.
    Returns False if not every subscriber acknowledged within `timeout_s`.
    """
    from rclpy.duration import Duration

    publisher.publish(msg)
    return bool(publisher.wait_for_all_acked(Duration(nanoseconds=int(timeout_s * 1e9))))


def flush_publishers(node: Any, timeout_s: float = 1.0) -> None:
    """Wait (bounded, shared budget) until reliable subscribers acknowledged every publisher's last messages."""
    import time

    from rclpy.duration import Duration

    deadline = time.monotonic() + timeout_s
    for pub in list(node.publishers):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        pub.wait_for_all_acked(Duration(nanoseconds=int(remaining * 1e9)))


def use_python_signal_handlers() -> None:
    """Replace rclpy's context-killing handlers with Python ones (main thread only)."""
    from rclpy.signals import uninstall_signal_handlers

    uninstall_signal_handlers()
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _raise_terminated)
    signal.signal(signal.SIGHUP, _raise_terminated)


def spin_keeping_context(node: Any, slice_s: float = 0.05,
                         between: Callable[[], None] | None = None) -> None:
    """Spin `node` until its context shuts down or a signal arrives; `between()` runs each slice."""
    from rclpy.executors import SingleThreadedExecutor

    use_python_signal_handlers()
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while node.context.ok():
            spin_slice(executor, slice_s)
            if between is not None:
                between()
    finally:
        executor.remove_node(node)
        executor.shutdown(timeout_sec=1.0)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def shutting_down(who: str) -> Iterator[None]:
    """Run shutdown hooks to their end: a second Ctrl-C (or SIGTERM/SIGHUP) while they run is
    reported, not raised. Raised inside a hook it skipped the hooks after it (the track logger's
    bag and summary). The hooks are bounded (flush timeouts), and Ctrl-\\ (SIGQUIT) still forces.
    Outside the main thread (signals cannot be handled there) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pending.clear()

    def report(signum: int, _frame: Any) -> None:
        print(f'{who}: still stopping ({signal.Signals(signum).name} noted): the motors are commanded to zero '
              'and the recording is closed first; Ctrl-\\ forces', file=sys.stderr, flush=True)

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, report)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_shutdown_hooks(who: str, nodes: Iterable[Any], after_each: Callable[[Any], None] | None = None) -> list[str]:
    """Every node's `on_shutdown`, in order and to the end, inside `shutting_down(who)`.

    A hook that raises is reported and the hooks after it still run (the motor stop of the other
    nodes, the logger's summary); `after_each(node)` (publisher flushing) follows each hook.
    Returns the names of the nodes whose hook failed.
    """
    failed: list[str] = []
    with shutting_down(who):
        for node in nodes:
            hook = getattr(node, 'on_shutdown', None)
            if hook is None:
                continue
            try:
                hook()
                if after_each is not None:
                    after_each(node)
            except Exception as exc:  # never let a failing hook turn a clean stop into a traceback
                print(f'{who}: shutdown hook of {node.get_name()} failed: {exc}', file=sys.stderr)
                failed.append(node.get_name())
    return failed
