"""The ament_python package: package.xml, setup.py entry points and data files."""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path
import re
import sys

from catkin_pkg.package import parse_package
from helpers.rosdistro import MODULE_KEYS, OPTIONAL_MODULES, resolve, snapshot_dir
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _setup_tables() -> dict[str, object]:
    tree = ast.parse((ROOT / 'setup.py').read_text())
    tables = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                tables[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return tables


def _package():
    return parse_package(str(ROOT / 'package.xml'))


def _declared(*kinds: str) -> set[str]:
    pkg = _package()
    return {d.name for kind in kinds for d in getattr(pkg, kind)}


def test_package_xml_parses_with_catkin_pkg():
    pkg = _package()
    assert pkg.name == 'rover_testbed'
    assert pkg.package_format == 3
    assert any(e.tagname == 'build_type' and e.content == 'ament_python' for e in pkg.exports)
    # real ament_python packages say so in <export>: there is no rosdep key `ament_python`
    assert 'ament_python' not in {d.name for d in pkg.buildtool_depends}
    deps = _declared('exec_depends', 'test_depends')
    for needed in ('rclpy', 'launch', 'launch_ros', 'launch_testing', 'launch_testing_ros', 'ros_gz_sim',
                   'ros_gz_bridge', 'robot_state_publisher', 'xacro', 'joy', 'geometry_msgs', 'sensor_msgs',
                   'python3-pytest'):
        assert needed in deps


def _snapshot() -> Path:
    snapshot = snapshot_dir()
    if snapshot is None:
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail('no rosdistro snapshot under CI=true: expected ../shared/rosdistro or $ROSDISTRO_SNAPSHOT')
        pytest.skip('no offline rosdistro snapshot (../shared/rosdistro or $ROSDISTRO_SNAPSHOT)')
    return snapshot


def test_every_package_xml_key_resolves_for_ubuntu_noble():
    snapshot = _snapshot()
    keys = _declared('build_depends', 'buildtool_depends', 'exec_depends', 'test_depends', 'doc_depends')
    unresolved = sorted(k for k in keys if resolve(k, snapshot) is None)
    assert not unresolved, f'rosdep keys with no rule for ubuntu:noble (jazzy): {unresolved}'


def test_the_resolver_follows_rosdep_rules():
    snapshot = _snapshot()
    assert resolve('ament_python', snapshot) is None  # the key the package once declared
    assert resolve('rclpy', snapshot) == 'apt: ros-jazzy-rclpy'
    assert resolve('python3-numpy', snapshot) == 'apt: python3-numpy'
    assert resolve('mcap-ros2-support', snapshot) == 'pip: mcap-ros2-support'
    assert resolve('python3-lgpio', snapshot) == 'apt: python3-lgpio'  # keyed by release: '*' on noble
    assert resolve('python3-lgpio', snapshot, codename='focal') == 'pip: lgpio'
    assert resolve('python3-mujoco-pip', snapshot, os_name='fedora') is None


def _third_party_imports(paths: list[Path], local: set[str]) -> dict[str, str]:
    """Top-level module -> one file importing it, for every import that is neither stdlib nor local."""
    found: dict[str, str] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split('.')[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


PACKAGES = ('rover_description', 'rover_nav', 'rover_bringup', 'rover_sim')


@pytest.mark.parametrize('kind', ['package', 'tests'])
def test_every_imported_module_has_a_declared_key(kind):
    """A node importing a module no key installs dies on a rosdep-only install (mcap once did)."""
    if kind == 'package':
        paths = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob('*.py')]
        declared = _declared('exec_depends')
    else:
        paths = list((ROOT / 'test').rglob('*.py'))
        declared = _declared('buildtool_depends', 'exec_depends', 'test_depends')
    local = {*PACKAGES, *(p.name for p in (ROOT / 'test').iterdir() if p.is_dir()), 'conftest'}
    missing = []
    for module, where in sorted(_third_party_imports(paths, local).items()):
        key = MODULE_KEYS.get(module, module)  # a ROS 2 package is its own key
        if key not in declared and module not in OPTIONAL_MODULES:
            missing.append(f'{module} (key {key}, imported in {where})')
    assert not missing, f'imported but not declared in package.xml: {missing}'


def test_every_console_script_imports_and_has_main():
    scripts = _setup_tables()['CONSOLE_SCRIPTS']
    assert 'rover' in scripts
    for name, target in scripts.items():
        module_name, func = target.split(':')
        module = importlib.import_module(module_name)
        assert callable(getattr(module, func)), f'{name}: {target} is not callable'


def _setup_kwargs(monkeypatch) -> dict:
    """The keyword arguments setup.py passes to setup(), captured the way colcon's setup.py reader does."""
    import runpy

    import setuptools

    captured: dict = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kw: captured.update(kw))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / 'setup.py'), run_name='__main__')
    return captured


def test_colcon_test_runs_pytest_on_the_package(monkeypatch):
    """colcon-core's pytest step matches only if tests_require or extras_require[test|tests|testing] names
    pytest (`colcon_core.task.python.test.has_test_dependency`); else colcon runs unittest: 0 tests."""
    kwargs = _setup_kwargs(monkeypatch)
    extras = kwargs.get('extras_require') or {}
    test_deps = [*(kwargs.get('tests_require') or []),
                 *(dep for key in ('test', 'tests', 'testing') for dep in extras.get(key, []))]
    names = {re.split(r' |<|=|>|!', dep)[0] for dep in test_deps}
    assert 'pytest' in names, f'setup.py declares no pytest test dependency: {test_deps}'


def test_layout_and_marker_files():
    for folder in ('rover_description', 'rover_nav', 'rover_bringup', 'worlds', 'test'):
        assert (ROOT / folder).is_dir(), folder
    assert (ROOT / 'resource' / 'rover_testbed').is_file()
    assert 'script_dir=$base/lib/rover_testbed' in (ROOT / 'setup.cfg').read_text()


def test_console_scripts_are_found_in_a_colcon_install(tmp_path, monkeypatch):
    """On tier 1 the scripts live in <prefix>/lib/rover_testbed (where `ros2 run` looks), not beside python
    nor on PATH: `rover run --processes` and `rover teleop` must still start them."""
    from rover_bringup.runner import executable_argv

    script = tmp_path / 'install' / 'lib' / 'rover_testbed' / 'drive_controller'
    script.parent.mkdir(parents=True)
    script.write_text('#!/bin/sh\n')
    script.chmod(0o755)
    monkeypatch.setattr(sys, 'executable', str(tmp_path / 'usr' / 'bin' / 'python3'))
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    monkeypatch.setenv('AMENT_PREFIX_PATH', os.pathsep.join([str(tmp_path / 'other'), str(tmp_path / 'install')]))
    assert executable_argv('drive_controller') == [str(script)]
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path / 'other'))
    with pytest.raises(FileNotFoundError, match='drive_controller'):
        executable_argv('drive_controller')


def test_package_data_is_found_through_paths_only():
    """A path built from __file__ breaks in a colcon install (site-packages has no config/ beside it):
    only rover_description/paths.py may do that; every other module asks it (data_dir / data_file)."""
    offenders = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob('*.py'):
            if path == ROOT / 'rover_description' / 'paths.py':
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Name) and node.id == '__file__':
                    offenders.append(f'{path.relative_to(ROOT)}:{node.lineno}')
    assert not offenders, f'use rover_description.paths instead of __file__: {offenders}'


def test_venv_is_hidden_from_colcon():
    venv = ROOT / '.venv'
    if venv.is_dir():
        assert (venv / 'COLCON_IGNORE').is_file()
