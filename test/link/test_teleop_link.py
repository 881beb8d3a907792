"""`rover teleop --link`: the keyboard screen shows the link, the telemetry's age and the plan."""

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

from rover_nav.teleop.keyboard import KeyboardCommand
from rover_nav.teleop.rover_status import RoverStatus, render_lines


def _cmd() -> KeyboardCommand:
    return KeyboardCommand(0.0, 0.0, None)


def test_screen_without_a_link_is_unchanged_and_with_one_shows_it():
    status = RoverStatus()
    plain = render_lines(_cmd(), 0.5, (0.0559, 0.1), status, 10.0)
    assert not any(line.startswith(('link', 'plan')) for line in plain)
    status.on_link_status('earth: earth link up', 9.5)
    status.on_telemetry_stamp(1.85)
    lines = render_lines(_cmd(), 0.5, (0.0559, 0.1), status, 10.0)
    assert any(line.startswith('link      earth: earth link up  telemetry 1.9 s old') for line in lines)
    assert any(line.startswith('plan      none') for line in lines)
    status.on_event(json.dumps({'t': 3.0, 'kind': 'plan_accepted', 'detail': 'plan 2 accepted', 'source': 'x'}), 9.0)
    lines = render_lines(_cmd(), 0.5, (0.0559, 0.1), status, 10.0)
    assert 'plan      plan_accepted: plan 2 accepted (1.0 s ago)' in lines
    assert len(lines) == len(plain) + 2


def _pane(session: str) -> str:
    return subprocess.run(['tmux', 'capture-pane', '-p', '-t', session], capture_output=True, text=True).stdout


@pytest.mark.e2e
@pytest.mark.ros
@pytest.mark.timeout(900)
def test_keyboard_drives_through_the_earth_link(tmp_path):
    require_tool('tmux', 'tmux')
    session = f'rover_link_{tmp_path.name}'[:60]
    out = tmp_path / 'run'
    rover = shutil.which('rover') or f'{sys.executable} -m rover_bringup.cli'
    command = f'{rover} teleop --keyboard --world flat --link earth --out {out}; echo EXITED $?; sleep 600'
    subprocess.run(['tmux', 'new-session', '-d', '-s', session, '-x', '120', '-y', '50', command], check=True)
    try:
        wait_until(lambda: 'rover keyboard teleop' in _pane(session), 120.0, poll_s=0.2, what='the teleop UI')
        wait_until(lambda: 'telemetry' in _pane(session) and '(odom)' in _pane(session), 120.0, poll_s=0.2,
                   what='the link line and the rover state')
        deadline = time.monotonic() + 90.0
        moving = False
        while time.monotonic() < deadline and not moving:  # hold w: the rover answers ~3.5 s later
            subprocess.run(['tmux', 'send-keys', '-t', session, 'w'], check=True)
            time.sleep(0.1)
            speed = re.search(r'^rover\s+v\s+([+-]\d+\.\d+) m/s', _pane(session), re.MULTILINE)
            moving = speed is not None and float(speed.group(1)) > 0.01
        assert moving, _pane(session)
        age = re.search(r'telemetry (\d+\.\d) s old', _pane(session))
        assert age is not None and 1.7 <= float(age.group(1)) <= 2.2, _pane(session)
        subprocess.run(['tmux', 'send-keys', '-t', session, 'q'], check=True)
        wait_until(lambda: 'EXITED' in _pane(session), 120.0, poll_s=0.2, what='rover teleop to exit')
        assert 'EXITED 0' in _pane(session), _pane(session)
    finally:
        subprocess.run(['tmux', 'kill-session', '-t', session], check=False)
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['distance_m'] > 0.02
    assert summary['link']['profile'] == 'earth' and summary['link']['uplink']['delivered'] > 0
