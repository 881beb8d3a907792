"""The `rover` command: help, exit codes, and the doctor's real DDS check."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rover_bringup import cli


def test_help_lists_every_registered_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(['--help'])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in text


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == cli.EXIT_USAGE


def test_unknown_command_exits_2():
    with pytest.raises(SystemExit) as exc:
        cli.main(['fly-to-mars'])
    assert exc.value.code == 2


@pytest.mark.ros
def test_doctor_passes_on_this_machine():
    result = subprocess.run([sys.executable, '-m', 'rover_bringup.cli', 'doctor'], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'DDS loopback' in result.stdout and 'TwistStamped received' in result.stdout


def test_doctor_reports_offscreen_gl_as_optional():
    """A missing GL library is a warning naming the package, never a failed doctor."""
    import os

    env = {**os.environ, 'MUJOCO_GL': 'osmesa'}
    result = subprocess.run([sys.executable, '-m', 'rover_bringup.cli', 'doctor', '--timeout', '5'],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(ln for ln in result.stdout.splitlines() if 'offscreen GL' in ln)
    assert 'pictures work' in line or 'apt-get install libosmesa6' in line, line
