"""A signal that arrives while the executor is inside rclpy is deferred to the end of the slice.

Raised inside rclpy's C++ take path (which calls back into Python to build messages), a
KeyboardInterrupt surfaced as a pybind11 RuntimeError and exit code 1 (seen at the end of a
`rover run --processes`). `spin_slice` must let the executor's work finish, then raise.
"""

from __future__ import annotations

import signal

import pytest

from rover_nav.runtime import spinning


class _Executor:
    """Stands in for an executor whose callback is interrupted by a signal half-way."""

    def __init__(self, sig: int) -> None:
        self.sig = sig
        self.finished = False

    def spin_once(self, timeout_sec: float) -> None:
        signal.raise_signal(self.sig)  # the handler runs here, "inside rclpy"
        self.finished = True  # the work after the signal still completes


@pytest.fixture
def python_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGINT, spinning._on_sigint)
    signal.signal(signal.SIGTERM, spinning._raise_terminated)
    signal.signal(signal.SIGHUP, spinning._raise_terminated)
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        spinning._pending.clear()


@pytest.mark.parametrize(('sig', 'exc'), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, spinning.Terminated)])
def test_signal_inside_the_executor_is_raised_after_the_slice(python_handlers, sig, exc):
    executor = _Executor(sig)
    with pytest.raises(exc):
        spinning.spin_slice(executor, 0.01)
    assert executor.finished, 'the executor was interrupted in the middle of its work'
    assert not spinning._pending


def test_signal_outside_the_executor_is_raised_at_once(python_handlers):
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
