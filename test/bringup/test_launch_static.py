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
from helpers.launch_files import LAUNCH_FILES, PACKAGE, REQUIRED_ARGUMENTS
import pytest
import yaml

from rover_bringup import graph
from rover_description.paths import REPO_ROOT, data_dir


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
    return {p.name: _load(share_tree, p.name) for p in LAUNCH_FILES}


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
                if node['package'] == PACKAGE and node['executable'] != graph.LINK_EXECUTABLE:
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


def _load(share_tree: Path, name: str, **arguments: str) -> LaunchSummary:
    """The launch file visited with `arguments`, on top of its required ones."""
    return load_launch_file(data_dir('launch') / name, {PACKAGE: str(share_tree)},
                            {**REQUIRED_ARGUMENTS.get(name, {}), **arguments})


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_required_arguments_are_exactly_those_without_a_default(path, summaries, share_tree):
    """Launch refuses to start without a required argument; the tests give exactly those."""
    required = REQUIRED_ARGUMENTS.get(path.name, {})
    for name in required:
        with pytest.raises(RuntimeError, match=f'Required launch argument "{name}"'):
            load_launch_file(path, {PACKAGE: str(share_tree)},
                             {k: v for k, v in required.items() if k != name})
    assert set(required) <= set(summaries[path.name].arguments)


def test_every_choice_launches(summaries, share_tree):
    """Each value of each argument with choices: the conditions evaluate (true/false only) and the
    substitutions resolve, as launch does when it visits the description."""
    cases = [(path, name, c) for path in LAUNCH_FILES
             for name, choices in summaries[path.name].choices.items() for c in choices or []]
    assert {path.name for path, _, _ in cases} >= {'sim.launch.py', 'teleop.launch.py', 'rover.launch.py'}
    for path, argument, value in cases:
        summary = _load(share_tree, path.name, **{argument: value})
        assert summary.arguments[argument] == value
        assert summary.launched, f'{path.name} {argument}:={value} starts nothing'


def test_a_value_outside_the_choices_is_rejected(share_tree):
    with pytest.raises(RuntimeError, match='is not valid'):
        _load(share_tree, 'teleop.launch.py', driver='joy')


# Parameters joy_linux_node declares (ros-drivers/joystick_drivers, branch ros2, joy_linux_node.cpp).
JOY_LINUX_PARAMETERS = {'dev', 'dev_name', 'dev_ff', 'deadzone', 'autorepeat_rate', 'coalesce_interval',
                        'default_trig_val', 'sticky_buttons', 'use_sim_time'}


def _readers(summary: LaunchSummary) -> list[dict[str, Any]]:
    return [n for n in summary.launched if n['executable'] in ('joystick', 'joy_linux_node', 'game_controller_node')]


def _values(node: dict[str, Any]) -> dict[str, Any]:
    return _node_params(node)[1]


@pytest.mark.parametrize('driver', ['joystick', 'joy_linux', 'sdl'])
def test_teleop_starts_exactly_one_reader(driver, share_tree):
    readers = _readers(_load(share_tree, 'teleop.launch.py', driver=driver))
    assert len(readers) == 1
    expected = {'joystick': 'joystick', 'joy_linux': 'joy_linux_node', 'sdl': 'game_controller_node'}[driver]
    assert readers[0]['executable'] == expected


def test_joy_linux_without_a_device_opens_its_default(share_tree):
    """An empty `dev` makes joy_linux retry opening '' forever: with `device` empty it gets no `dev`
    (its default is /dev/input/js0) and no empty `dev_name`."""
    (reader,) = _readers(_load(share_tree, 'teleop.launch.py', driver='joy_linux'))
    values = _values(reader)
    assert 'dev' not in values and 'dev_name' not in values
    assert set(values) <= JOY_LINUX_PARAMETERS


def test_joy_linux_device_and_device_name(share_tree):
    (reader,) = _readers(_load(share_tree, 'teleop.launch.py', driver='joy_linux', device='/dev/input/js1'))
    assert _values(reader)['dev'] == '/dev/input/js1' and 'dev_name' not in _values(reader)
    (reader,) = _readers(_load(share_tree, 'teleop.launch.py', driver='joy_linux', device_name='Xbox Wireless'))
    assert _values(reader)['dev_name'] == 'Xbox Wireless' and 'dev' not in _values(reader)
    assert set(_values(reader)) <= JOY_LINUX_PARAMETERS


def test_our_joystick_gets_the_device_as_given(share_tree):
    (reader,) = _readers(_load(share_tree, 'teleop.launch.py'))
    assert _values(reader)['device_path'] == ''  # our reader auto-detects on ''
    (reader,) = _readers(_load(share_tree, 'teleop.launch.py', device='/dev/input/event3'))
    assert _values(reader)['device_path'] == '/dev/input/event3'
    (reader,) = _readers(_load(share_tree, 'teleop.launch.py', device_name='X-Box 360'))
    assert _values(reader)['device_name'] == 'X-Box 360'


@pytest.mark.parametrize('launch_name', ['teleop.launch.py', 'rover.launch.py'])
@pytest.mark.parametrize('gamepad', ['xbox', 'playstation', 'f710'])
def test_gamepad_profile_file_is_installed(launch_name, gamepad, share_tree):
    extra = {'teleop': 'joystick'} if launch_name == 'rover.launch.py' else {}
    summary = _load(share_tree, launch_name, gamepad=gamepad, **extra)
    (teleop,) = [n for n in summary.launched if n['executable'] == 'joy_teleop']
    files = _node_params(teleop)[0]
    assert str(share_tree / 'config' / 'gamepads' / f'{gamepad}.yaml') in files
    assert all(Path(f).is_file() for f in files)


def test_rover_launch_teleop_none_starts_no_pad_reader(share_tree):
    names = {n['executable'] for n in _load(share_tree, 'rover.launch.py').launched}
    assert not names & {'joystick', 'joy_teleop'}


@pytest.mark.parametrize('world', ['flat', 'change4', 'rock_test', 'slope_test'])
def test_sim_opens_the_world_sdf(world, share_tree):
    summary = _load(share_tree, 'sim.launch.py', world=world, headless='true')
    (gazebo,) = summary.include_arguments
    assert gazebo['gz_args'] == f'-s -r {share_tree}/worlds/{world}.sdf'
    assert (share_tree / 'worlds' / f'{world}.sdf').is_file()


def test_sim_runs_one_rover_and_says_so(share_tree):
    """The model name and the gz topics are fixed (gz_bridge.yaml, gazebo.xacro), so sim.launch.py
    must not offer a namespace it cannot honour."""
    summary = _load(share_tree, 'sim.launch.py')
    assert 'namespace' not in summary.arguments
    (spawn,) = [n for n in summary.launched if n['executable'] == 'create']
    assert spawn['arguments'][:2] == ['-name', 'rover']
    assert all(n['namespace'] is None for n in summary.launched)


def test_the_link_gets_its_command_line_and_nothing_it_would_ignore(share_tree, monkeypatch):
    """earth_link holds a node in each of two domains and reads only its command line: a parameter
    or remapping given to it would be silently ignored, so the launch file may give none; its
    arguments must parse the way the process parses them."""
    from rover_nav.link import link_main

    monkeypatch.setenv('ROS_DOMAIN_ID', '42')
    summary = _load(share_tree, 'link.launch.py', ground_domain='7', profile='ideal', seed='5')
    (link,) = [n for n in summary.launched if n['executable'] == graph.LINK_EXECUTABLE]
    assert not link['parameters'] and not link['remappings'] and link['name'] is None
    args = link_main.parse_command_line([*link['arguments'], '--ros-args', '-r', '__node:=x', '-p', 'a:=1'])
    assert (args.ground_domain, args.profile, args.seed) == (7, 'ideal', 5)
    (executor,) = [n for n in summary.launched if n['executable'] == graph.PLAN_EXECUTOR.executable]
    assert _values(executor) == {'use_sim_time': True}  # the link and the plans run on the simulator's clock
    for wrong in (['--ground-domain', '42'],  # the rover's own domain: the link would hear itself
                  ['--ground-domain', '233'], ['--ground-domain', '7', '--sead', '1'], ['--profile', 'earth']):
        with pytest.raises(SystemExit):
            link_main.parse_command_line(wrong)
