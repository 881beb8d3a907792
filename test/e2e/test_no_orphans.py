"""A `rover run --processes` killed outright (SIGKILL) takes its node processes with it.

Orphaned nodes would keep a simulated rover driving in a ROS domain that the next run or test may
claim again (the domain's lock dies with the parent). Children get PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import signal
import sys

from helpers.processes import NodeProcess, wait_until
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.ros]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / 'stat').read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(')', 1)[1].split()[1])
            if ppid == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state != 'Z'


def test_sigkilled_runner_leaves_no_node_behind(spare_domain, tmp_path):
    run = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', '--world', 'flat', '--processes',
                       '--no-operator', '--realtime', '--duration', '600', '--out', str(tmp_path / 'run'), '--quiet'],
                      tmp_path / 'rover_run.log')
    nodes: list[int] = []
    try:
        wait_until(lambda: len(_children(run.proc.pid)) >= 7, 60.0, poll_s=0.2, what='the node processes')
        nodes = _children(run.proc.pid)
        os.kill(run.proc.pid, signal.SIGKILL)
        wait_until(lambda: not any(_alive(p) for p in nodes), 30.0, poll_s=0.2, what='the nodes to stop')
    finally:
        run.stop()
        for pid in nodes:  # a failing run must not leave them behind either (each leads its own session)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
