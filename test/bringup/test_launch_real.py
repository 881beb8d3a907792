"""Where the real `launch`/`launch_ros` are importable (the full ROS 2 tier), the launch stand-ins must
agree with them: every launch file, with its defaults (plus its required arguments) and with each
value of each argument that has choices, is built and visited with the real classes and with
`helpers.fake_launch`, and the nodes each would start (package, executable, name, namespace,
parameter files, parameter values, remappings, command-line arguments) must be the same. Skipped
where launch is not installed (PyPI has no launch); no module-level skip, since launch_testing's
hook imports this module too.

The real visit does what launch's LaunchService does up to starting processes: it executes
DeclareLaunchArgument, PushROSNamespace, environment actions and OpaqueFunction, evaluates every
condition, and runs Node._perform_substitutions (names, namespaces, parameters, remappings, the
xacro Command). Included launch files (ros_gz_sim's) are resolved but not opened.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
import tempfile
from typing import Any

from catkin_pkg.package import parse_package
from helpers.fake_launch import load_launch_file
from helpers.launch_files import LAUNCH_FILES, PACKAGE, REQUIRED_ARGUMENTS
import pytest
import yaml

from rover_description.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('launch') is None or importlib.util.find_spec('launch_ros') is None,
    reason='the real launch/launch_ros are not installed (full ROS 2 tier only)')


def _installed_shares(needed: set[str]) -> dict[str, str]:
    """package -> share folder, for rover_testbed and every exec_depend the ament index knows; skip
    unless the packages whose share folders the launch file opens (`needed`) are all there."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    shares = {}
    for name in [PACKAGE, *(d.name for d in parse_package(str(REPO_ROOT / 'package.xml')).exec_depends)]:
        with contextlib.suppress(PackageNotFoundError, OSError, ValueError):
            shares[name] = get_package_share_directory(name)
    missing = needed - set(shares)
    if missing:
        pytest.skip(f'not in the ament index: {sorted(missing)} (colcon build; source install/setup.bash)')
    return shares


def _real_visit(path: Path, arguments: dict[str, str]) -> tuple[list[dict[str, Any]], list[Any]]:
    from launch import LaunchContext, LaunchDescription
    from launch.actions import IncludeLaunchDescription, OpaqueFunction
    from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions
    from launch_ros.actions import Node

    spec = importlib.util.spec_from_file_location(f'real_{path.stem.replace(".", "_")}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    context = LaunchContext()
    context.launch_configurations.update(arguments)
    nodes: list[dict[str, Any]] = []
    includes: list[Any] = []

    def text(value: Any) -> str | None:
        return None if value is None else perform_substitutions(context, normalize_to_list_of_substitutions(value))

    def visit(entities: list[Any]) -> None:
        for entity in entities:
            if isinstance(entity, LaunchDescription):
                visit(entity.entities)
                continue
            if entity.condition is not None and not entity.condition.evaluate(context):
                continue
            if isinstance(entity, Node):
                entity._perform_substitutions(context)
                files, values = [], {}
                for argument, is_file in entity._Node__expanded_parameter_arguments or []:
                    if is_file and Path(argument).name.startswith('launch_params_'):
                        data = yaml.safe_load(Path(argument).read_text())
                        (scope,) = data.values()
                        values.update(scope['ros__parameters'])
                    else:
                        files.append(str(argument))
                namespace = entity.expanded_node_namespace
                ros_arguments = entity._Node__ros_arguments
                command_line = [text(a) for a in entity._Node__arguments or []] + (
                    [] if ros_arguments is None else ['--ros-args', *(text(a) for a in ros_arguments)])
                nodes.append({
                    'package': text(entity.node_package), 'executable': text(entity.node_executable),
                    'name': entity.node_name.rsplit('/', 1)[-1],
                    'namespace': '/' if namespace in (None, Node.UNSPECIFIED_NODE_NAMESPACE) else namespace,
                    'files': files, 'values': values,
                    'remappings': [tuple(r) for r in entity.expanded_remapping_rules or []],
                    'arguments': command_line,
                })
            elif isinstance(entity, IncludeLaunchDescription):  # resolved, not opened
                source = entity.launch_description_source  # its unexpanded location (launch's private name)
                includes.append((text(source._LaunchDescriptionSource__location),
                                 {text(k): text(v) for k, v in entity.launch_arguments}))
            elif isinstance(entity, OpaqueFunction):
                visit(list(entity.execute(context) or []))
            else:
                entity.execute(context)

    visit(description.entities)
    return nodes, includes


def _fake_visit(path: Path, arguments: dict[str, str], shares: dict[str, str]) -> tuple[list[dict[str, Any]],
                                                                                       list[Any]]:
    summary = load_launch_file(path, shares, arguments)
    nodes = []
    for node in summary.launched:
        files = [p for p in node['parameters'] if isinstance(p, str)]
        values: dict[str, Any] = {}
        for p in node['parameters']:
            if isinstance(p, dict):
                values.update(p)
        nodes.append({
            'package': node['package'], 'executable': node['executable'], 'name': node['name'],
            'namespace': node['namespace'] or '/', 'files': files, 'values': values,
            'remappings': list(node['remappings']), 'arguments': node['arguments'],
        })
    return nodes, list(zip(summary.includes, summary.include_arguments, strict=True))


# Combinations beyond one choice at a time (free-text arguments, conditions with several terms).
EXTRA_ARGUMENTS = {
    'teleop.launch.py': [{'driver': 'joy_linux', 'device': '/dev/input/js1'},
                         {'driver': 'joy_linux', 'device_name': 'Xbox Wireless Controller'},
                         {'device': '/dev/input/event3', 'device_name': 'X-Box 360', 'use_sim_time': 'true'}],
    'rover.launch.py': [{'teleop': 'joystick', 'gamepad': 'f710', 'obstacle_guard': 'true', 'namespace': 'r2'}],
    'sim.launch.py': [{'world': 'flat', 'headless': 'true', 'profile': 'hobby', 'log_dir': '/tmp/x'}],
    'link.launch.py': [{'profile': 'ideal', 'seed': '3', 'ground_domain': '7'}],
}


def _argument_sets(path: Path, shares: dict[str, str]) -> list[dict[str, str]]:
    required = REQUIRED_ARGUMENTS.get(path.name, {})
    summary = load_launch_file(path, shares, required)
    sets = [{}, *EXTRA_ARGUMENTS.get(path.name, [])]
    for name, choices in summary.choices.items():
        sets += [{name: choice} for choice in choices or [] if choice != summary.arguments[name]]
    return [{**required, **s} for s in sets]


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_stand_ins_agree_with_real_launch(path, tmp_path, monkeypatch):
    shares = _installed_shares({PACKAGE, 'ros_gz_sim'} if path.name == 'sim.launch.py' else {PACKAGE})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))  # launch_ros writes its parameter files here
    for arguments in _argument_sets(path, shares):
        real, real_includes = _real_visit(path, arguments)
        fake, fake_includes = _fake_visit(path, arguments, shares)
        assert real_includes == fake_includes, f'{path.name} {arguments}'
        for node in real:  # the stand-in does not run Command(): compare the xacro output separately
            description = node['values'].pop('robot_description', None)
            if description is not None:
                assert description.lstrip().startswith('<?xml') and '<robot' in description
        for node in fake:
            node['values'].pop('robot_description', None)
        key = lambda n: (n['package'], n['executable'], n['name'] or '', str(n['values']))  # noqa: E731
        real_sorted, fake_sorted = sorted(real, key=key), sorted(fake, key=key)
        assert [(n['package'], n['executable']) for n in real_sorted] == \
            [(n['package'], n['executable']) for n in fake_sorted], f'{path.name} {arguments}'
        for r, f in zip(real_sorted, fake_sorted, strict=True):
            if f['name'] is None:  # the real name is the node's own default, known only at run time
                r['name'] = None
            assert r == f, f'{path.name} {arguments}: {r["executable"]}'
