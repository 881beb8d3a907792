"""Wheel friction reaches every Gazebo physics engine, not only ODE/DART.

URDF `<mu1>/<mu2>` become `<surface><friction><ode>` in the SDF conversion; bullet-featherstone
reads `<surface><friction><bullet><friction>` instead (gz-physics bullet-featherstone
SDFFeatures.cc) and falls back to 1.0, so without the `<bullet>` block `wheel_mu` was silently
ignored there. The value is checked against the profile's `wheel_mu` property, in the expanded
URDF and, where sdformat's converter is installed, in the SDF Gazebo actually loads.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from helpers.tools import require_tool
import pytest

from rover_description.description import urdf_xml
from rover_description.geometry import PROFILES, WHEEL_JOINTS
from rover_description.paths import data_dir

WHEEL_LINKS = [joint.replace('_joint', '_link') for joint in WHEEL_JOINTS]


def _wheel_mu(profile: str) -> float:
    """The `wheel_mu` xacro property of the profile (the one source of the value)."""
    profile_xacro = data_dir('urdf') / 'profiles' / f'{profile}.xacro'
    root = ET.parse(profile_xacro).getroot()
    for prop in root.iter('{http://www.ros.org/wiki/xacro}property'):
        if prop.get('name') == 'wheel_mu':
            return float(prop.get('value'))
    raise AssertionError(f'{profile_xacro} has no wheel_mu property')


@pytest.fixture(params=PROFILES)
def profile(request) -> str:
    return request.param


def test_urdf_carries_wheel_mu_for_ode_and_bullet(profile):
    mu = _wheel_mu(profile)
    robot = ET.fromstring(urdf_xml(profile))
    for link in WHEEL_LINKS:
        (block,) = [g for g in robot.findall('gazebo') if g.get('reference') == link]
        assert float(block.findtext('mu1')) == mu and float(block.findtext('mu2')) == mu
        bullet = block.find('collision/surface/friction/bullet')
        assert bullet is not None, f'{link}: no <bullet> friction, bullet-featherstone would use 1.0'
        assert float(bullet.findtext('friction')) == mu
        assert float(bullet.findtext('friction2')) == mu


def test_converted_sdf_has_bullet_friction_equal_to_wheel_mu(profile, tmp_path):
    """What Gazebo loads: `ign sdf -p` (sdformat's URDF parser) merges the block into each wheel's
    collision, next to the ODE values from mu1/mu2, and the result validates."""
    ign = require_tool('ign', 'ignition-tools (+ libsdformat12)')
    mu = _wheel_mu(profile)
    urdf = tmp_path / f'rover_{profile}.urdf'
    urdf.write_text(urdf_xml(profile))
    converted = subprocess.run([ign, 'sdf', '-p', str(urdf)], capture_output=True, text=True, timeout=120)
    assert converted.returncode == 0, converted.stderr
    sdf = tmp_path / f'rover_{profile}.sdf'
    sdf.write_text(converted.stdout)
    checked = subprocess.run([ign, 'sdf', '-k', str(sdf)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and 'Valid' in checked.stdout, checked.stdout + checked.stderr
    model = ET.fromstring(converted.stdout).find('model')
    for link_name in WHEEL_LINKS:
        (link,) = [lk for lk in model.findall('link') if lk.get('name') == link_name]
        collisions = link.findall('collision')
        assert collisions, f'{link_name} has no collision'
        for collision in collisions:
            friction = collision.find('surface/friction')
            assert float(friction.findtext('bullet/friction')) == mu, link_name
            assert float(friction.findtext('bullet/friction2')) == mu, link_name
            assert float(friction.findtext('ode/mu')) == mu and float(friction.findtext('ode/mu2')) == mu
