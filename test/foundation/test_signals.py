"""A signal that arrives while the executor is inside rclpy is deferred to the end of the slice.

Raised inside rclpy's C++ take path (which calls back into Python to build messages), a
KeyboardInterrupt surfaced as a pybind11 RuntimeError and exit code 1 (seen at the end of a
`rover run --processes`). `spin_slice` must let the executor's work finish, then raise.
"""

from __future__ import annotations

import signal
from typing import Any

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


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_second_stop_signal_during_the_shutdown_hooks_is_reported_not_raised(python_handlers, capsys, sig):
    """Raised inside a shutdown hook, a second Ctrl-C skipped every hook after it (the logger's bag)."""
    hooks_done = []
    with spinning.shutting_down('rover board'):
        signal.raise_signal(sig)  # the user presses Ctrl-C again while the motors are being stopped
        hooks_done.append('driver')
        hooks_done.append('logger')
    assert hooks_done == ['driver', 'logger']
    assert 'rover board: still stopping' in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is spinning._on_sigint  # the handlers are back afterwards
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


def _node_process(tmp_path, hook: str, destroy: str, spin: str, prelude: str = '') -> Any:
    """Run a run_node process of a minimal node: `hook` is its on_shutdown body, `destroy` its
    destroy_node body, `spin` the spin function's body (with `node`); the hook writes `hook_finished`."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / 'node.py'
    done = tmp_path / 'hook_finished'
    script.write_text(textwrap.dedent("""
        import ctypes, os, signal
        import rclpy
        from rover_nav.runtime import node_main
        {prelude}
        class Node:
            def __init__(self):
                self.node = rclpy.create_node('test_node')
                self.context = self.node.context
                self.publishers = []
            def get_name(self):
                return 'test_node'
            def on_shutdown(self):
                {hook}
                open({done!r}, 'w').write('yes')
            def destroy_node(self):
                {destroy}

        def spin(node):
            {spin}

        raise SystemExit(node_main.run_node(Node, [], spin=spin))
    """).format(prelude=prelude, hook=hook, destroy=destroy, spin=spin, done=str(done)))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)


def test_run_node_finishes_the_hook_when_a_second_sigint_arrives_in_it(tmp_path):
    """The whole path of a node process: SIGINT stops it, a second one lands inside its shutdown hook."""
    proc = _node_process(tmp_path, hook='os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, in the hook',
                         destroy='self.node.destroy_node()',
                         spin='os.kill(os.getpid(), signal.SIGINT); signal.pause()  # the first Ctrl-C')
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'hook_finished').read_text() == 'yes'
    assert 'test_node: still stopping' in proc.stderr


class _HookNode:
    def __init__(self, name: str, calls: list[str], fail: BaseException | None = None) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    def get_name(self) -> str:
        return self.name

    def on_shutdown(self) -> None:
        self.calls.append(self.name)
        if self.fail is not None:
            raise self.fail


def test_shutdown_hooks_all_run_in_order_and_failures_are_named(python_handlers, capsys):
    """One helper for run_node, rover run and rover board: a hook that raises costs none of the others."""
    calls: list[str] = []
    flushed: list[str] = []
    nodes = [_HookNode('driver', calls), _HookNode('sim', calls, OSError('disk full')), object(),
             _HookNode('logger', calls)]
    failed = spinning.run_shutdown_hooks('rover run', nodes, after_each=lambda n: flushed.append(n.get_name()))
    assert calls == ['driver', 'sim', 'logger'] and failed == ['sim']
    assert flushed == ['driver', 'logger']  # after each hook that finished
    assert 'rover run: shutdown hook of sim failed: disk full' in capsys.readouterr().err


def test_a_second_sigint_inside_a_hook_does_not_skip_the_later_hooks(python_handlers, capsys):
    calls: list[str] = []

    class Interrupted(_HookNode):
        def on_shutdown(self) -> None:
            super().on_shutdown()
            signal.raise_signal(signal.SIGINT)

    assert spinning.run_shutdown_hooks('rover board', [Interrupted('driver', calls), _HookNode('logger', calls)]) == []
    assert calls == ['driver', 'logger'] and 'still stopping' in capsys.readouterr().err


def test_a_teardown_that_hangs_holding_the_gil_is_ended_with_its_stacks_after_the_hook_ran(tmp_path):
    """Fast DDS can deadlock while a node's entities are destroyed (peers leaving at the same moment),
    holding the GIL: no Python timer can end that. Twice a node then outlived `rover run`'s 20 s grace
    and was SIGKILLed, failing the run. run_node arms a kernel alarm once the hook has run."""
    import time

    from rover_nav.runtime.node_main import TEARDOWN_HUNG

    start = time.monotonic()
    proc = _node_process(tmp_path, hook='pass', destroy='a_deadlocked_dds_teardown()',
                         spin='os.kill(os.getpid(), signal.SIGINT)',
                         prelude='node_main.TEARDOWN_BUDGET_S = 1\n'
                                 'def a_deadlocked_dds_teardown():\n'
                                 '    ctypes.PyDLL(None).sleep(60)  # in C, the GIL held, as in the deadlock\n')
    assert proc.returncode == TEARDOWN_HUNG, proc.stderr
    assert time.monotonic() - start < 30, 'ended by the watchdog, not by the 60 s sleep'
    assert (tmp_path / 'hook_finished').read_text() == 'yes'  # the hook ran before the watchdog was armed
    assert 'a_deadlocked_dds_teardown' in proc.stderr  # the stacks, for whoever reads the log


def test_a_ctrl_c_that_xacro_turns_into_another_error_is_a_stop_not_a_configuration_error(monkeypatch):
    """Seen: SIGINT while a node loaded its geometry exited 2 with "cannot load the rover geometry:
    cannot access local variable 'ArgException'" (xacro's `except` clause names a class whose import
    the signal interrupted)."""
    from rover_description import geometry
    from rover_nav.runtime.geometry_param import geometry_for
    from rover_nav.runtime.params import ConfigError

    def interrupted_import(_profile):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise UnboundLocalError("cannot access local variable 'ArgException'") from None

    monkeypatch.setattr(geometry, 'load_geometry', interrupted_import)
    with pytest.raises(KeyboardInterrupt):
        geometry_for('yutu2')

    def broken(_profile):
        raise ValueError('no such profile')

    monkeypatch.setattr(geometry, 'load_geometry', broken)
    with pytest.raises(ConfigError, match="parameter 'profile'"):
        geometry_for('nope')
