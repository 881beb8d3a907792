"""The ament_python package: package.xml, setup.py entry points and data files."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parents[2]

# Every exec/test dependency must be a real ROS 2 (rosdep) key; a typo fails `rosdep install`.
KNOWN_ROS_KEYS = {
    'ament_python', 'rclpy', 'std_msgs', 'std_srvs', 'geometry_msgs', 'sensor_msgs', 'nav_msgs',
    'diagnostic_msgs', 'rosgraph_msgs', 'lifecycle_msgs', 'tf2_ros', 'tf2_msgs', 'launch', 'launch_ros',
    'robot_state_publisher', 'joint_state_publisher', 'xacro', 'joy', 'joy_linux', 'diagnostic_aggregator',
    'ros_gz_sim', 'ros_gz_bridge', 'rosbag2_storage_mcap', 'python3-numpy', 'python3-yaml',
    'python3-transforms3d', 'python3-serial', 'python3-smbus2', 'python3-evdev', 'python3-matplotlib',
    'ament_copyright', 'ament_flake8', 'ament_pep257', 'launch_testing', 'launch_testing_ros', 'ros_testing',
    'python3-pytest', 'python3-hypothesis',
}


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


def test_package_xml_parses_with_catkin_pkg():
    pkg = parse_package(str(ROOT / 'package.xml'))
    assert pkg.name == 'rover_testbed'
    assert pkg.package_format == 3
    assert any(e.tagname == 'build_type' and e.content == 'ament_python' for e in pkg.exports)
    deps = {d.name for d in pkg.exec_depends} | {d.name for d in pkg.test_depends}
    for needed in ('rclpy', 'launch', 'launch_ros', 'launch_testing', 'launch_testing_ros', 'ros_gz_sim',
                   'ros_gz_bridge', 'robot_state_publisher', 'xacro', 'joy', 'geometry_msgs', 'sensor_msgs'):
        assert needed in deps
    unknown = deps | {d.name for d in pkg.buildtool_depends}
    assert unknown <= KNOWN_ROS_KEYS, f'not rosdep keys: {sorted(unknown - KNOWN_ROS_KEYS)}'


def test_every_console_script_imports_and_has_main():
    scripts = _setup_tables()['CONSOLE_SCRIPTS']
    assert 'rover' in scripts
    for name, target in scripts.items():
        module_name, func = target.split(':')
        module = importlib.import_module(module_name)
        assert callable(getattr(module, func)), f'{name}: {target} is not callable'


def test_layout_and_marker_files():
    for folder in ('rover_description', 'rover_nav', 'rover_bringup', 'worlds', 'test'):
        assert (ROOT / folder).is_dir(), folder
    assert (ROOT / 'resource' / 'rover_testbed').is_file()
    assert 'script_dir=$base/lib/rover_testbed' in (ROOT / 'setup.cfg').read_text()


def test_venv_is_hidden_from_colcon():
    venv = ROOT / '.venv'
    if venv.is_dir():
        assert (venv / 'COLCON_IGNORE').is_file()
