"""`rover run` refuses bad input before anything starts: exit 2, the bad key named, nothing written."""

from __future__ import annotations

import subprocess
import sys

import yaml

from rover_bringup.paths import data_file


def _rover_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'rover_bringup.cli', 'run', *args], capture_output=True, text=True,
                          timeout=120)


def test_bad_world_file_names_the_key_and_starts_nothing(tmp_path):
    world = yaml.safe_load(data_file('worlds', 'flat.yaml').read_text())
    world['resolution_m'] = -1.0
    path = tmp_path / 'bad_world.yaml'
    path.write_text(yaml.safe_dump(world))
    out = tmp_path / 'out'
    result = _rover_run('--world', str(path), '--out', str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'resolution_m' in result.stderr
    assert not out.exists()


def test_bad_scenario_file_names_the_key_and_starts_nothing(tmp_path):
    path = tmp_path / 'bad_scenario.yaml'
    path.write_text(yaml.safe_dump({'name': 'bad', 'commands': [{'duration_s': 10, 'linear_x': 'fast'}]}))
    out = tmp_path / 'out'
    result = _rover_run('--world', 'flat', '--scenario', str(path), '--out', str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'commands[0].linear_x' in result.stderr
    assert not out.exists()


def test_unknown_world_name_lists_the_known_ones(tmp_path):
    result = _rover_run('--world', 'mars', '--out', str(tmp_path / 'out'))
    assert result.returncode == 2
    assert 'change4' in result.stderr


def test_an_output_folder_that_holds_a_drive_is_refused(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'summary.json').write_text('{}')
    result = _rover_run('--world', 'flat', '--out', str(out))
    assert result.returncode == 2
    assert 'already holds files' in result.stderr
