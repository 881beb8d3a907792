"""One campaign drive as a child process: `rover run` with a timeout, its own ROS domain, its peak memory.

The child is started in a session of its own, so a timeout stops the whole drive (the runner
and, with --processes, its node processes) by process group: SIGINT first, so the logger
still finishes the bag and the summary, then SIGKILL after a grace period. The child gets no
ROS_DOMAIN_ID: each `rover run` claims a free private domain on its host (file locks), so
drives never hear each other, however many run at once.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
import io
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

from rover_bringup.child_process import die_with_parent

KILL_GRACE_S = 20.0  # after SIGINT, how long a timed-out drive may take to finish its files
LOG_NAME = 'campaign_drive.log'  # the child's stdout/stderr, inside the drive's folder


@dataclass
class DriveResult:
    """How a drive ended. status: ok | failed | timeout."""

    status: str
    exit_code: int | None
    wall_s: float
    max_rss_mb: float
    message: str = ''

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def rover_argv() -> list[str]:
    """The `rover` command beside this interpreter (the same install), else on PATH."""
    beside = Path(sys.executable).with_name('rover')
    if beside.is_file():
        return [str(beside)]
    found = shutil.which('rover')
    if found:
        return [found]
    return [sys.executable, '-m', 'rover_bringup.cli']


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != 'ROS_DOMAIN_ID'}
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    return env


def _last_line(log: Path) -> str:
    """The child's last non-empty output line: usually why it failed."""
    try:
        with log.open('rb') as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            lines = [ln.strip() for ln in handle.read().decode('utf-8', 'replace').splitlines() if ln.strip()]
    except OSError:
        return ''
    return lines[-1][:300] if lines else ''


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, sig)


def run_drive(run_args: list[str], run_dir: Path, timeout_s: float) -> DriveResult:
    """Run `rover <run_args>` writing into run_dir; never raises for a failing or hanging drive."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = run_dir.parent / f'{run_dir.name}.{LOG_NAME}'
    start = time.monotonic()
    with log_path.open('wb') as log:
        try:
            proc = subprocess.Popen([*rover_argv(), *run_args], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=_child_env(), start_new_session=True,
                                    preexec_fn=die_with_parent)  # this thread waits for it: see run_drive
        except OSError as exc:
            return DriveResult('failed', None, 0.0, 0.0, f'could not start rover run: {exc}')
        timed_out, finished = threading.Event(), threading.Event()

        def stop() -> None:
            timed_out.set()
            _signal_group(proc.pid, signal.SIGINT)  # the logger finishes the bag and the summary
            if not finished.wait(KILL_GRACE_S):
                _signal_group(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, stop)
        timer.daemon = True
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone (ru_maxrss in kB)
        timer.cancel()
        _signal_group(proc.pid, signal.SIGKILL)  # leftovers of the drive's group die with it
        finished.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if run_dir.is_dir():
        shutil.move(str(log_path), run_dir / LOG_NAME)
        log_path = run_dir / LOG_NAME
    code = proc.returncode
    rss_mb = usage.ru_maxrss / 1024.0
    if timed_out.is_set():
        return DriveResult('timeout', code, wall, rss_mb, f'stopped after the {timeout_s:g} s timeout')
    if code != 0:
        return DriveResult('failed', code, wall, rss_mb, _last_line(log_path) or f'exit code {code}')
    if not (run_dir / 'summary.json').is_file():
        return DriveResult('failed', code, wall, rss_mb, 'rover run exited 0 but wrote no summary.json')
    return DriveResult('ok', code, wall, rss_mb)


def pack_dir(path: Path) -> bytes:
    """A drive's folder as tar bytes, to bring it back from a Ray worker on another machine."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as tar:
        if path.is_dir():
            tar.add(path, arcname='.')
    return buffer.getvalue()


def unpack_dir(data: bytes, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode='r') as tar:
        tar.extractall(path, filter='data')


def run_drive_packed(run_args: list[str], key: str, timeout_s: float) -> tuple[dict[str, object], bytes]:
    """A Ray task's body: the drive in a scratch folder on the worker, returned as (result, tar)."""
    with tempfile.TemporaryDirectory(prefix='rover-campaign-') as scratch:
        run_dir = Path(scratch) / key
        args = list(run_args)
        args[args.index('--out') + 1] = str(run_dir)
        result = run_drive(args, run_dir, timeout_s)
        return result.as_dict(), pack_dir(run_dir)
