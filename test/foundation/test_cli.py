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
