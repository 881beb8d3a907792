"""Start nodes in child processes and always stop them, even when a test fails.

Each child runs in its own session (process group), so stopping it also stops whatever it
spawned. Stop = SIGINT (the nodes' normal exit path), then SIGKILL after a grace period.
Output goes to a log file that failing tests print.
"""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from rover_bringup.child_process import die_with_parent

_live: list[NodeProcess] = []


def _as_background_job() -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


class NodeProcess:
    """One child process (`python -m module args` or any argv) with a log file."""

    def __init__(self, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 sigint_ignored: bool = False) -> None:
        """`sigint_ignored`: start it as a shell script's background job (`cmd &`) is started, with
        SIGINT and SIGQUIT ignored (POSIX), to prove the child still stops on SIGINT."""
        self.argv = list(argv)
        self.log_path = log_path
        full_env = dict(os.environ)
        full_env['PYTHONUNBUFFERED'] = '1'
        full_env.update(env or {})
        self._log = open(log_path, 'wb')  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=full_env, start_new_session=True,
                                     preexec_fn=_as_background_job if sigint_ignored else die_with_parent)
        _live.append(self)

    @classmethod
    def module(cls, module: str, args: Sequence[str], log_path: Path, **kw: object) -> NodeProcess:
        return cls([sys.executable, '-m', module, *args], log_path, **kw)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def stop(self, grace_s: float = 10.0) -> int:
        """SIGINT the process group, wait, then SIGKILL; return the exit code."""
        if self.alive():
            self.signal_group(signal.SIGINT)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=5.0)
        self.signal_group(signal.SIGKILL)  # anything the child left behind in its group
        self._log.close()
        if self in _live:
            _live.remove(self)
        return self.proc.returncode

    def signal_group(self, sig: int) -> None:
        """Send `sig` to the child's process group (as Ctrl-C in its terminal would)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_all() -> None:
    """Kill every child still running (session teardown safety net)."""
    for child in list(_live):
        child.stop(grace_s=2.0)


def wait_until(predicate, timeout_s: float, poll_s: float = 0.02, spin=None, what: str = 'condition') -> None:
    """Wait for `predicate()` with a deadline; `spin(dt)` is called while waiting (e.g. an executor)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f'timed out after {timeout_s:.1f} s waiting for {what}')
        if spin is not None:
            spin(poll_s)
        else:
            time.sleep(poll_s)


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc (for tests that check nothing outlives a run)."""
    kids = []
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / 'stat').read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state != 'Z'
