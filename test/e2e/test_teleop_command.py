"""`rover teleop --keyboard` in a real terminal (tmux): keys drive the simulated rover, q ends the drive."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time

from helpers.processes import wait_until
from helpers.tools import require_tool
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.ros]


def _pane(session: str) -> str:
    return subprocess.run(['tmux', 'capture-pane', '-p', '-t', session], capture_output=True, text=True).stdout


def test_keyboard_drives_the_simulated_rover_and_q_ends_the_drive(tmp_path):
    require_tool('tmux', 'tmux')
    session = f'rover_teleop_{tmp_path.name}'[:60]
    out = tmp_path / 'run'
    rover = shutil.which('rover') or f'{sys.executable} -m rover_bringup.cli'
    command = f'{rover} teleop --keyboard --world flat --out {out}; echo EXITED $?; sleep 600'
    subprocess.run(['tmux', 'new-session', '-d', '-s', session, '-x', '120', '-y', '50', command], check=True)
    try:
        wait_until(lambda: 'rover keyboard teleop' in _pane(session), 90.0, poll_s=0.2, what='the teleop UI')
        wait_until(lambda: '(ground_truth)' in _pane(session), 90.0, poll_s=0.2, what='the rover state')
        deadline = time.monotonic() + 60.0
        moving = False
        while time.monotonic() < deadline and not moving:  # hold w: the terminal's autorepeat
            subprocess.run(['tmux', 'send-keys', '-t', session, 'w'], check=True)
            time.sleep(0.1)
            speed = re.search(r'^rover\s+v\s+([+-]\d+\.\d+) m/s', _pane(session), re.MULTILINE)
            moving = speed is not None and float(speed.group(1)) > 0.01
        assert moving, _pane(session)
        for _ in range(30):  # keep holding for 3 s more
            subprocess.run(['tmux', 'send-keys', '-t', session, 'w'], check=True)
            time.sleep(0.1)
        subprocess.run(['tmux', 'send-keys', '-t', session, 'q'], check=True)
        wait_until(lambda: 'EXITED' in _pane(session), 90.0, poll_s=0.2, what='rover teleop to exit')
        assert 'EXITED 0' in _pane(session), _pane(session)
    finally:
        subprocess.run(['tmux', 'kill-session', '-t', session], check=False)
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['distance_m'] > 0.05
    assert summary['max_speed_mps'] <= 0.0559 * 1.05
    assert (out / 'track.png').is_file()
