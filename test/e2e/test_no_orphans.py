"""A `rover run --processes` killed outright (SIGKILL) takes its node processes with it.

Orphaned nodes would keep a simulated rover driving in a ROS domain that the next run or test may
claim again (the domain's lock dies with the parent). Children get PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from helpers.processes import NodeProcess, children_of, is_alive, wait_until
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.ros]




def test_sigkilled_runner_leaves_no_node_behind(spare_domain, tmp_path):
    run = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', '--world', 'flat', '--processes',
                       '--no-operator', '--realtime', '--duration', '600', '--out', str(tmp_path / 'run'), '--quiet'],
                      tmp_path / 'rover_run.log')
    nodes: list[int] = []
    try:
        wait_until(lambda: len(children_of(run.proc.pid)) >= 7, 60.0, poll_s=0.2, what='the node processes')
        nodes = children_of(run.proc.pid)
        os.kill(run.proc.pid, signal.SIGKILL)
        wait_until(lambda: not any(is_alive(p) for p in nodes), 30.0, poll_s=0.2, what='the nodes to stop')
    finally:
        run.stop()
        for pid in nodes:  # a failing run must not leave them behind either (each leads its own session)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
