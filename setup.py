"""ament_python package `rover_testbed`: one distribution, several Python packages.

The same file serves colcon on the full ROS 2 tier (data lands in share/rover_testbed) and
`pip install -e .` on the embedded tier (the data is read from the source tree there).
"""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'rover_testbed'

# Executable name -> module:function. One table, so the launch-file checks can read it too.
CONSOLE_SCRIPTS = {
    'rover': 'rover_bringup.cli:main',
    'drive_controller': 'rover_nav.drive.controller_node:main',
    'wheel_odometry': 'rover_nav.drive.odometry_node:main',
    'scenario_operator': 'rover_bringup.operator_node:main',
    'gz_joint_adapter': 'rover_bringup.gz_joint_adapter:main',
    'track_logger': 'rover_nav.tracklog.logger_node:main',
    'hardware_driver': 'rover_nav.hardware.driver_node:main',
    'joystick': 'rover_nav.teleop.joystick_node:main',
    'joy_teleop': 'rover_nav.teleop.joy_teleop_node:main',
    'keyboard_teleop': 'rover_nav.teleop.keyboard_teleop_node:main',
    'speed_limiter': 'rover_nav.safety.speed_limiter_node:main',
    'slope_guard': 'rover_nav.safety.slope_guard_node:main',
    'obstacle_guard': 'rover_nav.safety.obstacle_guard_node:main',
    'lunar_sim': 'rover_sim.sim_node:main',
    'plan_executor': 'rover_nav.link.executor_node:main',
    'earth_link': 'rover_nav.link.link_main:main',
}


def _tree(share_subdir: str, source_dir: str) -> list[tuple[str, list[str]]]:
    """Install every file under source_dir into share/PACKAGE/share_subdir, keeping sub-folders."""
    entries: dict[str, list[str]] = {}
    for path in sorted(glob(os.path.join(source_dir, '**', '*'), recursive=True)):
        if os.path.isfile(path) and '__pycache__' not in path:
            rel = os.path.relpath(os.path.dirname(path), source_dir)
            target = os.path.normpath(os.path.join('share', PACKAGE, share_subdir, rel))
            entries.setdefault(target, []).append(path)
    return sorted(entries.items())


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=['rover_description*', 'rover_nav*', 'rover_bringup*', 'rover_sim*']),
    include_package_data=True,
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        *_tree('launch', 'rover_bringup/launch'),
        *_tree('config', 'rover_bringup/config'),
        *_tree('scenarios', 'rover_bringup/scenarios'),
        *_tree('urdf', 'rover_description/urdf'),
        *_tree('worlds', 'worlds'),
    ],
    install_requires=['setuptools'],
    # colcon test runs pytest only for a package that declares it as a test dependency (colcon-core reads
    # tests_require and extras_require['test']); otherwise it runs `python -m unittest`, which finds nothing.
    extras_require={'test': ['pytest', 'pytest-timeout', 'pytest-xdist', 'hypothesis']},
    zip_safe=False,
    maintainer='Rover testbed team',
    maintainer_email='rover-testbed@example.org',
    description='ROS 2 stack for a Yutu-2 class six-wheel rocker-bogie lunar rover testbed',
    license='Apache-2.0',
    python_requires='>=3.10',
    entry_points={'console_scripts': [f'{name} = {target}' for name, target in CONSOLE_SCRIPTS.items()]},
)
