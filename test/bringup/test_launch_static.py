"""Static checks of every launch file, runnable without ROS: a launch mistake fails `make test` here.

Each `rover_bringup/launch/*.launch.py` is executed against recording stand-ins of launch and
launch_ros (`helpers.fake_launch`), with `share/rover_testbed` rebuilt from setup.py's
data_files. Checked: it loads; every argument has a description; every rover_testbed executable
is a console script; every other package is a dependency in package.xml; every file it
references in our share folder exists (so it is installed); every parameter it sets is declared
by the node it goes to, and the nodes start with the parameters the launch file gives them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
import runpy
from typing import Any
from unittest import mock

from catkin_pkg.package import parse_package
from helpers.fake_launch import SHARE_PREFIX, LaunchSummary, load_launch_file
import pytest
import yaml

from rover_bringup import graph
from rover_bringup.paths import REPO_ROOT, data_dir

PACKAGE = 'rover_testbed'
LAUNCH_FILES = sorted(data_dir('launch').glob('*.launch.py'))


def _setup_kwargs() -> dict[str, Any]:
    captured: dict[str, Any] = {}
    with mock.patch('setuptools.setup', lambda **kw: captured.update(kw)):
        runpy.run_path(str(REPO_ROOT / 'setup.py'), run_name='__main__')
    return captured


@pytest.fixture(scope='module')
def setup_kwargs() -> dict[str, Any]:
    return _setup_kwargs()


@pytest.fixture(scope='module')
def share_tree(tmp_path_factory, setup_kwargs) -> Path:
    """share/rover_testbed as colcon would install it, built from data_files (symlinks)."""
    root = tmp_path_factory.mktemp('install')
    for target, files in setup_kwargs['data_files']:
        folder = root / target
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            (folder / Path(f).name).symlink_to(REPO_ROOT / f)
    return root / 'share' / PACKAGE


@pytest.fixture(scope='module')
def summaries(share_tree) -> dict[str, LaunchSummary]:
    return {p.name: load_launch_file(p, {PACKAGE: str(share_tree)}) for p in LAUNCH_FILES}


def _console_scripts(setup_kwargs) -> set[str]:
    return {entry.split('=')[0].strip() for entry in setup_kwargs['entry_points']['console_scripts']}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def test_there_are_launch_files():
    names = {p.name for p in LAUNCH_FILES}
    assert {'sim.launch.py', 'teleop.launch.py'} <= names


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_arguments_are_described(path, summaries):
    summary = summaries[path.name]
    for name, text in summary.descriptions.items():
        assert len(text) >= 10, f'{path.name}: launch argument {name!r} needs a description'


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_executables_and_packages_exist(path, summaries, setup_kwargs):
    scripts = _console_scripts(setup_kwargs)
    pkg = parse_package(str(REPO_ROOT / 'package.xml'))
    deps = {d.name for d in pkg.exec_depends}
    summary = summaries[path.name]
    assert summary.nodes, f'{path.name} starts no node'
    for node in summary.nodes:
        if node['package'] == PACKAGE:
            assert node['executable'] in scripts, f'{path.name}: {node["executable"]} is not a console script'
        else:
            assert node['package'] in deps, f'{path.name}: package {node["package"]} missing from package.xml'


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_referenced_files_are_installed(path, summaries, share_tree):
    summary = summaries[path.name]
    pkg = parse_package(str(REPO_ROOT / 'package.xml'))
    deps = {d.name for d in pkg.exec_depends}
    values = [*_strings(summary.nodes), *_strings(summary.arguments), *summary.includes,
              *_strings(summary.processes)]
    checked = 0
    for text in values:
        for token in text.split():
            if token.startswith(str(share_tree)):
                assert Path(token).exists(), f'{path.name} references {token}, which is not installed'
                checked += 1
            elif token.startswith(SHARE_PREFIX):
                other = token[len(SHARE_PREFIX):].split('/')[0]
                assert other in deps, f'{path.name} uses the share folder of {other}, not in package.xml'
    assert checked > 0, f'{path.name} references no installed file: is the share folder resolved?'


def _node_params(node: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    files, values = [], {}
    for entry in node.get('parameters') or []:
        if isinstance(entry, dict):
            values.update(entry)
        else:
            files.append(str(entry))
    return files, values


def _start_node(ctx: Any, node: dict[str, Any], launch_name: str, shared_keys: set[str]) -> set[str]:
    """Instantiate one of our nodes with the launch file's parameters; return the shared keys it declares."""
    from rclpy.parameter import Parameter

    classes = graph.node_classes()
    exe = node['executable']
    assert exe in classes, f'{exe}: add its class to rover_bringup.graph'
    module_name, class_name = classes[exe].split(':')
    cls = getattr(importlib.import_module(module_name), class_name)
    files, values = _node_params(node)
    name = node.get('name') or exe
    cli = ['--ros-args', '-r', f'__node:={name}']
    scoped: set[str] = set()
    for f in files:
        cli += ['--params-file', f]
        data = yaml.safe_load(Path(f).read_text()) or {}
        for scope, body in data.items():
            keys = set((body or {}).get('ros__parameters', {}))
            if scope in ('/**', '**'):
                shared_keys |= keys
            elif scope.strip('/') == name:
                scoped |= keys
    overrides = [Parameter(k, value=v) for k, v in values.items()]
    instance = cls(context=ctx, cli_args=cli, use_global_arguments=False, parameter_overrides=overrides)
    try:
        for key in (*values, *scoped):
            assert instance.has_parameter(key), f'{launch_name}: {exe} does not declare parameter {key!r}'
        return {p for p in shared_keys if instance.has_parameter(p)}
    finally:
        instance.destroy_node()


@pytest.mark.ros
def test_parameters_are_declared_by_their_nodes(summaries, tmp_path, monkeypatch):
    """Start each of our nodes with its launch file's parameters: every key set must be declared, bad values
    fail here (ConfigError names the key), and every key of a shared YAML is used by some node."""
    import rclpy

    monkeypatch.chdir(tmp_path)
    shared_keys: set[str] = set()
    declared: set[str] = set()
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        for launch_name, summary in summaries.items():
            for node in summary.nodes:
                if node['package'] == PACKAGE:
                    declared |= _start_node(ctx, node, launch_name, shared_keys)
    finally:
        rclpy.try_shutdown(context=ctx)
    unused = shared_keys - declared - {'use_sim_time'}
    assert not unused, f'shared YAML keys that no launched node declares (typos?): {sorted(unused)}'


def test_node_classes_live_in_their_console_script_modules(setup_kwargs):
    targets = dict(entry.replace(' ', '').split('=') for entry in setup_kwargs['entry_points']['console_scripts'])
    for exe, target in graph.node_classes().items():
        assert exe in targets, f'{exe} is in rover_bringup.graph but not a console script'
        assert target.split(':')[0] == targets[exe].split(':')[0], f'{exe}: class and main in different modules'
