"""rosdep keys without rosdep: which Python module needs which key, and does a key resolve on noble.

`rosdep install` stops at the first key it cannot resolve, and a node whose import has no key dies
on a rosdep-only install. The suite checks both offline, against the Jazzy rosdistro snapshot the
team keeps in `../shared/rosdistro` (or `$ROSDISTRO_SNAPSHOT`), with rosdep's own resolution rule
(`rosdep2.lookup.RosdepDefinition.get_rule_for_platform`). tools/tier1_check.sh also runs the real
rosdep against the same snapshot.
"""

from __future__ import annotations

from functools import cache
import os
from pathlib import Path

import yaml

from rover_description.paths import REPO_ROOT

# Third-party Python module (top level) -> the rosdep key that installs it on Ubuntu 24.04.
# A ROS 2 package (rclpy, std_msgs, launch...) is its own key and is not listed here.
MODULE_KEYS = {
    'numpy': 'python3-numpy',
    'yaml': 'python3-yaml',
    'transforms3d': 'python3-transforms3d',
    'matplotlib': 'python3-matplotlib',
    'mpl_toolkits': 'python3-matplotlib',
    'serial': 'python3-serial',
    'smbus2': 'python3-smbus2',
    'evdev': 'python3-evdev',
    'lgpio': 'python3-lgpio',
    'gpiozero': 'python3-gpiozero',
    'mcap': 'mcap-ros2-support',  # no key of its own: mcap-ros2-support depends on mcap
    'mcap_ros2': 'mcap-ros2-support',
    'mujoco': 'python3-mujoco-pip',
    'catkin_pkg': 'python3-catkin-pkg',
    'hypothesis': 'python3-hypothesis',
    'pytest': 'python3-pytest',
    'setuptools': 'python3-setuptools',
    'rosbags': 'python3-rosbags-pip',
}

# Modules imported only as an alternative to a declared one (estop_backend: gpiozero instead of lgpio), or
# for an optional back end with no rosdep key: `rover campaign --ray` (the default runs drives locally;
# without ray, --ray says `pip install ray`; the Ray test skips without it).
OPTIONAL_MODULES = {'gpiozero', 'ray'}

_INSTALLERS = ('apt', 'pip', 'source', 'gem', 'npm')


def snapshot_dir() -> Path | None:
    """The offline rosdistro snapshot, or None when this machine has none."""
    env = os.environ.get('ROSDISTRO_SNAPSHOT')
    path = Path(env) if env else REPO_ROOT.parent / 'shared' / 'rosdistro'
    return path if (path / 'rosdep' / 'base.yaml').is_file() else None


@cache
def _rosdep_rules(snapshot: Path) -> dict:
    rules: dict = {}
    for name in ('base.yaml', 'python.yaml'):
        rules.update(yaml.safe_load((snapshot / 'rosdep' / name).read_text()))
    return rules


@cache
def _ros_packages(snapshot: Path, distro: str = 'jazzy') -> frozenset[str]:
    dist = yaml.safe_load((snapshot / distro / 'distribution.yaml').read_text())
    names = set()
    for repo, entry in dist['repositories'].items():
        release = (entry or {}).get('release')
        if release:
            names.update(release.get('packages', [repo]))
    return frozenset(names)


def resolve(key: str, snapshot: Path, os_name: str = 'ubuntu', codename: str = 'noble') -> str | None:
    """What rosdep installs for `key` on os_name:codename (e.g. 'apt: python3-numpy'), or None."""
    if key in _ros_packages(snapshot):
        return 'apt: ros-jazzy-' + key.replace('_', '-')
    definition = _rosdep_rules(snapshot).get(key)
    if not isinstance(definition, dict):
        return None
    data = definition.get(os_name)
    if isinstance(data, dict) and not any(i in data for i in _INSTALLERS):
        data = data.get(codename, data.get('*'))  # keyed by release: this one, or every release
    if not data:
        return None  # no rule, or explicitly unsupported (null)
    if isinstance(data, dict):
        installer = next((i for i in _INSTALLERS if i in data), None)
        if installer is None:
            return None
        packages = data[installer].get('packages') if isinstance(data[installer], dict) else data[installer]
        return f'{installer}: {" ".join(packages or [])}' if packages else None
    packages = data if isinstance(data, list) else [data]
    return 'apt: ' + ' '.join(packages)
