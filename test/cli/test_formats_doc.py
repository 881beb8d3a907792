"""docs/formats.md is what a user writes their own files from: its examples must load, its
example world and scenario must drive, and its key tables must match the validators exactly."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
import re
import subprocess
import sys

import pytest
import yaml

from rover_description.paths import REPO_ROOT
from rover_nav.runtime.params import ConfigError, ParamSpec, check_value

DOC = REPO_ROOT / 'docs' / 'formats.md'
NODE_MODULES = ('rover_nav.safety.speed_limiter_node', 'rover_nav.safety.slope_guard_node',
                'rover_nav.safety.obstacle_guard_node', 'rover_nav.safety.chain_node', 'rover_nav.safety.sensor_params',
                'rover_nav.drive.controller_node', 'rover_nav.drive.odometry_node',
                'rover_nav.teleop.joy_teleop_node', 'rover_nav.teleop.keyboard_teleop_node',
                'rover_nav.teleop.joystick_node', 'rover_sim.sim_node', 'rover_bringup.operator_node',
                'rover_nav.tracklog.logger_node')
NUMBER = r'-?[0-9.]+(?:e[+-]?[0-9]+)?'


def examples() -> dict[str, str]:
    """The doc's YAML blocks that start with `# file: NAME`, by NAME."""
    blocks = re.findall(r'```yaml\n# file: (\S+)\n(.*?)```', DOC.read_text(), flags=re.S)
    return dict(blocks)


def table_rows() -> dict[str, list[str]]:
    """Every table row whose first cell is a `key`: key -> the other cells."""
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        m = re.fullmatch(r'`([^`]+)`', cells[0]) if line.startswith('|') else None
        if m:
            rows[m.group(1)] = cells[1:]
    return rows


def node_specs() -> dict[str, list[ParamSpec]]:
    specs: dict[str, list[ParamSpec]] = {}
    for name in NODE_MODULES:
        for value in vars(importlib.import_module(name)).values():
            for spec in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(spec, ParamSpec) and spec not in specs.setdefault(spec.name, []):
                    specs[spec.name].append(spec)
    return specs


def _range(cell: str) -> tuple[float, float]:
    lo, hi = re.search(rf'({NUMBER}) \.\. ({NUMBER})', cell).groups()
    return float(lo), float(hi)


def test_the_examples_are_valid_files(tmp_path):
    from rover_bringup.scenario import load_scenario
    from rover_sim.terrain import load_world

    ex = examples()
    assert set(ex) == {'my_world.yaml', 'my_drive.yaml', 'my_params.yaml'}
    for name, text in ex.items():
        (tmp_path / name).write_text(text)
    world = load_world(tmp_path / 'my_world.yaml')
    assert world.name == 'my_world' and len(world.rocks) == 1 and len(world.ramps) == 1
    scenario = load_scenario(str(tmp_path / 'my_drive.yaml'))
    assert scenario.duration_s == 41.0
    specs = node_specs()
    params = yaml.safe_load(ex['my_params.yaml'])
    for section in params.values():
        for key, value in section['ros__parameters'].items():
            assert key in specs, f'{key} is declared by no node'
            for spec in specs[key]:
                check_value(spec, value)  # raises ConfigError naming the key


def test_the_world_tables_are_the_validators_ranges_and_defaults():
    from rover_sim.terrain import config

    rows = table_rows()
    tables = {'terrain': config._TERRAIN_FIELDS, 'terrain.craters': config._CRATER_FIELDS,
              'terrain.rocks': config._ROCKFIELD_FIELDS, 'rocks[i]': config._ROCK_FIELDS,
              'ramps[i]': config._RAMP_FIELDS, 'lander': config._LANDER_FIELDS, 'spawn': config._SPAWN_FIELDS}
    for prefix, fields in tables.items():
        for key, (lo, hi, default, integer) in fields.items():
            _unit, cell_range, cell_default, *_ = rows[f'{prefix}.{key}']
            assert _range(cell_range) == (lo, hi), f'{prefix}.{key}'
            assert ('(integer)' in cell_range) == integer, f'{prefix}.{key}'
            expected = 'required' if default is config.REQUIRED else default
            assert (cell_default if expected == 'required' else float(cell_default)) == expected, f'{prefix}.{key}'
    for key in config._TOP_KEYS:
        assert key in rows, key


def test_the_scenario_table_matches_the_validator():
    from rover_bringup.scenario import parse_scenario

    rows = table_rows()
    lo, hi = _range(rows['rate_hz'][1])
    for bad in (lo - 0.5, hi + 1):
        with pytest.raises(ConfigError, match='rate_hz'):
            parse_scenario({'rate_hz': bad, 'commands': [{'duration_s': 1}]})
    for key in ('duration_s', 'linear_x', 'angular_z'):
        lo, hi = _range(rows[f'commands[i].{key}'][1])
        parse_scenario({'commands': [{'duration_s': 1, key: lo}, {'duration_s': 1, key: hi}]})
        with pytest.raises(ConfigError, match=key):
            parse_scenario({'commands': [{'duration_s': 1, key: hi + 1}]})


def test_the_parameter_table_covers_rover_yaml_with_the_strictest_ranges():
    from rover_description.paths import data_file

    rows = table_rows()
    specs = node_specs()
    shared = yaml.safe_load(data_file('config', 'rover.yaml').read_text())['/**']['ros__parameters']
    for key, value in shared.items():
        unit, cell_range, cell_default, *_ = rows[key]
        if isinstance(value, str):
            assert cell_default == value
            continue
        assert float(cell_default) == value, key
        lo = max(s.lo for s in specs[key] if s.lo is not None)
        hi = min(s.hi for s in specs[key] if s.hi is not None)
        assert _range(cell_range) == (lo, hi), key


@pytest.mark.e2e
def test_the_example_world_and_scenario_drive(tmp_path):
    """As the doc shows: `rover run --world my_world.yaml --scenario my_drive.yaml` (first 25 s)."""
    for name, text in examples().items():
        (tmp_path / name).write_text(text)
    out = tmp_path / 'run'
    result = subprocess.run([sys.executable, '-m', 'rover_bringup.cli', 'run', '--world', 'my_world.yaml',
                             '--scenario', 'my_drive.yaml', '--duration', '25', '--out', str(out), '--quiet'],
                            cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['distance_m'] == pytest.approx(1.0, abs=0.15)  # 20 s forward at 0.05 m/s, ramped
    assert math.isclose(summary['final_pose']['x'], -5.0, abs_tol=0.15)
    assert Path(out / 'track.png').is_file()
