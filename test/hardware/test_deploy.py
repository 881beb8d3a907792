"""Deployment files: the systemd unit verifies, the launcher picks the tier, the udev rules parse, the
install script's dry run does every step for both tiers."""

from __future__ import annotations

import os
from pathlib import Path
import re
import shutil
import subprocess

from helpers.tools import require_tool
import pytest

from rover_description.paths import REPO_ROOT

DEPLOY = REPO_ROOT / 'deploy'
UNIT = DEPLOY / 'systemd' / 'rover-board.service'
LAUNCHER = DEPLOY / 'rover-board-start'
INSTALLED_LAUNCHER = '/usr/local/bin/rover-board-start'


def test_systemd_unit_verifies(tmp_path):
    analyze = require_tool('systemd-analyze', 'systemd')
    # the launcher is installed to /usr/local/bin on the board: point the copy at this checkout's file
    launcher = tmp_path / 'rover-board-start'
    shutil.copy(LAUNCHER, launcher)
    text = UNIT.read_text()
    assert f'ExecStart={INSTALLED_LAUNCHER}' in text
    unit = tmp_path / 'rover-board.service'
    unit.write_text(text.replace(INSTALLED_LAUNCHER, str(launcher)))
    out = subprocess.run([analyze, 'verify', str(unit)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'rover-board.service' not in out.stdout + out.stderr, out.stdout + out.stderr  # no warnings either


def test_unit_restarts_on_failure_and_stops_with_sigint():
    lines = dict(line.split('=', 1) for line in UNIT.read_text().splitlines() if '=' in line and line[0] != '#')
    assert lines['Restart'] == 'on-failure'
    assert lines['KillSignal'] == 'SIGINT'  # the nodes' clean exit: motors stopped, servos centred
    assert lines['WantedBy'] == 'multi-user.target'
    assert set(lines['SupplementaryGroups'].split()) == {'dialout', 'i2c', 'gpio'}


@pytest.mark.parametrize('script', ['rover-board-start', 'install_on_board.sh', 'deploy_over_ssh.sh'])
def test_scripts_parse_and_are_executable(script):
    path = DEPLOY / script
    assert os.access(path, os.X_OK)
    assert subprocess.run(['bash', '-n', str(path)], capture_output=True).returncode == 0


def _fake_install(tmp_path: Path) -> dict[str, str]:
    """A pip-tier checkout and a colcon workspace whose entry points just print their arguments."""
    src = tmp_path / 'src'
    (src / '.venv' / 'bin').mkdir(parents=True)
    rover = src / '.venv' / 'bin' / 'rover'
    rover.write_text('#!/bin/sh\necho "rover $*"\n')
    rover.chmod(0o755)
    ws = tmp_path / 'ws'
    (ws / 'install' / 'bin').mkdir(parents=True)
    ros2 = ws / 'install' / 'bin' / 'ros2'
    ros2.write_text('#!/bin/sh\necho "ros2 $*"\n')
    ros2.chmod(0o755)
    (ws / 'install' / 'setup.bash').write_text(f'export PATH={ws}/install/bin:$PATH\n')
    ros = tmp_path / 'ros_setup.bash'
    ros.write_text('export ROS_DISTRO=jazzy\n')
    return {'ROVER_SRC': str(src), 'ROVER_WS': str(ws), 'ROS_SETUP': str(ros), 'PATH': os.environ['PATH']}


@pytest.mark.parametrize('tier, expected', [
    ('pip', 'rover board --teleop joystick'),
    ('jazzy', 'ros2 launch rover_testbed rover.launch.py --teleop joystick'),
])
def test_launcher_starts_the_chosen_tier(tmp_path, tier, expected):
    env = _fake_install(tmp_path) | {'ROVER_TIER': tier, 'ROVER_ARGS': '--teleop joystick'}
    out = subprocess.run([str(LAUNCHER)], capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_launcher_auto_prefers_the_colcon_workspace_and_falls_back_to_pip(tmp_path):
    env = _fake_install(tmp_path) | {'ROVER_TIER': 'auto'}
    assert subprocess.run([str(LAUNCHER)], capture_output=True, text=True, env=env).stdout.startswith('ros2 launch')
    os.remove(Path(env['ROVER_WS']) / 'install' / 'setup.bash')
    assert subprocess.run([str(LAUNCHER)], capture_output=True, text=True, env=env).stdout.startswith('rover board')


def test_launcher_rejects_a_bad_tier_and_a_missing_venv(tmp_path):
    env = _fake_install(tmp_path)
    assert subprocess.run([str(LAUNCHER)], capture_output=True, env=env | {'ROVER_TIER': 'x'}).returncode == 2
    out = subprocess.run([str(LAUNCHER)], capture_output=True, text=True,
                         env=env | {'ROVER_TIER': 'pip', 'ROVER_SRC': str(tmp_path / 'nowhere')})
    assert out.returncode == 1 and 'install_on_board.sh' in out.stderr


_RULE_KEY = re.compile(r'^(SUBSYSTEM|KERNEL|ATTRS\{\w+\}|SYMLINK|GROUP|MODE)(==|!=|\+=|=)"[^"]*"$')


def test_udev_rules_are_well_formed():
    rules = [line for line in (DEPLOY / 'udev' / '99-rover.rules').read_text().splitlines()
             if line.strip() and not line.startswith('#')]
    assert rules
    for rule in rules:
        pairs = [p.strip() for p in rule.split(',')]
        assert all(_RULE_KEY.match(p) for p in pairs), rule
        assert any(p.startswith(('GROUP=', 'SYMLINK+=')) for p in pairs), rule
    assert any('SYMLINK+="roboclaw"' in r for r in rules)


def _install(tmp_path: Path, *args: str, machine: str, codename: str = 'noble') -> subprocess.CompletedProcess:
    """install_on_board.sh as it would run on `machine` under an OS with `codename`."""
    os_release = tmp_path / 'os-release'
    os_release.write_text(f'ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME={codename}\n')
    env = dict(os.environ, ROVER_MACHINE=machine, ROVER_OS_RELEASE=str(os_release))
    return subprocess.run(['bash', str(DEPLOY / 'install_on_board.sh'), *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize('tier, machine, needle', [
    ('pip', 'x86_64', 'pip install -r'),
    ('jazzy', 'aarch64', 'colcon build'),  # a Raspberry Pi
    ('jazzy', 'x86_64', 'colcon build'),
])
def test_install_dry_run_covers_every_step(tmp_path, tier, machine, needle):
    out = _install(tmp_path, '--tier', tier, '--dry-run', '--boot-config', machine=machine)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for step in (needle, '99-rover.rules', 'usermod -aG dialout,i2c,gpio', 'enable_uart=1',
                 'dtparam=i2c_arm_baudrate=10000', INSTALLED_LAUNCHER, 'systemctl enable rover-board.service',
                 'ROVER_TIER=%s'):
        assert step in text, step
    assert f"'{tier}'" in text


def test_pip_tier_is_refused_on_a_raspberry_pi(tmp_path):
    """The ros-jazzy-* wheels are x86_64 only: on aarch64 the pip tier stops before changing anything."""
    out = _install(tmp_path, '--tier', 'pip', '--dry-run', machine='aarch64')
    assert out.returncode == 2
    assert out.stdout == ''  # not a single step printed
    assert 'x86_64 only' in out.stderr and '--tier jazzy' in out.stderr


def test_jazzy_tier_needs_ubuntu_noble(tmp_path):
    out = _install(tmp_path, '--tier', 'jazzy', '--dry-run', machine='aarch64', codename='bookworm')
    assert out.returncode == 2 and out.stdout == ''
    assert 'Ubuntu 24.04' in out.stderr and 'bookworm' in out.stderr


def test_jazzy_rosdep_install_takes_the_pip_keys_on_noble(tmp_path):
    """mcap-ros2-support is a pip key: rosdep refuses pip on Ubuntu 24.04 (PEP 668) without this variable."""
    out = _install(tmp_path, '--tier', 'jazzy', '--dry-run', machine='aarch64')
    rosdep = next(line for line in out.stdout.splitlines() if 'rosdep install' in line)
    assert 'PIP_BREAK_SYSTEM_PACKAGES=1' in rosdep
    assert '--dependency-types exec' in rosdep  # the board needs no test keys


def test_install_requires_a_tier():
    out = subprocess.run(['bash', str(DEPLOY / 'install_on_board.sh'), '--dry-run'], capture_output=True, text=True)
    assert out.returncode == 2 and '--tier' in out.stderr
