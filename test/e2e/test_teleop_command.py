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
        screen = _pane(session)
        domain = re.search(r'ROS domain (\d+) \(e-stop: ROS_DOMAIN_ID=\1 rover estop\)', screen)
        assert domain is not None, screen  # the full-screen display keeps the domain to aim `rover estop` at
        assert 'e-stop    clear' in screen, screen
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
    # q published zero until the rover stood, and the simulator stopped before the chain: no timeouts
    timeouts = [e for e in summary['events'] if e['kind'] == 'command_timeout']
    assert not timeouts, (summary['sim_time_s'], summary['events'])


def test_keyboard_teleop_without_a_terminal_refuses_up_front(tmp_path):
    out = tmp_path / 'run'
    result = subprocess.run([sys.executable, '-m', 'rover_bringup.cli', 'teleop', '--keyboard', '--world', 'flat',
                             '--out', str(out)], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count('\n') == 1 and 'interactive terminal' in result.stderr, result.stderr
    assert 'Traceback' not in result.stderr
    assert not out.exists()


def test_joystick_teleop_says_no_game_pad_found(tmp_path, probe):
    """No pad on this machine (or none readable): the screen says so while it is true; Ctrl-C ends it cleanly."""
    import signal

    from diagnostic_msgs.msg import DiagnosticArray
    from helpers.processes import NodeProcess

    from rover_bringup.commands.teleop import gamepad_line
    from rover_nav.runtime import qos

    if not gamepad_line().startswith('no game pad found'):
        pytest.skip('a game pad is plugged in here')
    out = tmp_path / 'run'
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'teleop', '--joystick', '--world', 'flat',
                        '--out', str(out)], tmp_path / 'teleop.log')
    try:
        diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)  # the teleop runs in our domain
        names = ('joystick', 'track_logger', 'lunar_sim')

        def reporting() -> set[str]:
            return {n for d in list(diags) for st in d.msg.status for n in names if n in st.name}

        probe.wait_for(lambda: len(reporting()) == len(names), 120.0, what=f'diagnostics from {names}')
        wait_until(lambda: 'no game pad found' in proc.output(), 30.0, poll_s=0.2, what='the no-pad line')
        proc.proc.send_signal(signal.SIGINT)
        code = proc.proc.wait(timeout=90)
    finally:
        proc.stop()
    assert code == 0, proc.output()
    assert 'Traceback' not in proc.output()
