"""Expand the rover's xacro into URDF text and a parsed model, once per profile.

`urdf_xml(profile)` is the one place the xacro is run (with the `xacro` PyPI module, no ROS
install needed); everything else (geometry, the MuJoCo twin, `rover describe`, the launch files'
robot_description) starts from its output, so the numbers have a single source.
"""

from __future__ import annotations

import functools

from rover_description.geometry import PROFILES
from rover_description.paths import data_file
from rover_description.urdf_model import UrdfModel, parse_urdf

XACRO_FILE = 'rover.urdf.xacro'


def check_profile(profile: str) -> str:
    """Return `profile` if it names a description profile, else raise ValueError listing them."""
    if profile not in PROFILES:
        raise ValueError(f'unknown rover profile {profile!r}; expected one of {PROFILES}')
    return profile


@functools.cache
def urdf_xml(profile: str = 'yutu2') -> str:
    """The expanded URDF of `profile` ('yutu2' or 'hobby') as an XML string."""
    import xacro

    check_profile(profile)
    path = data_file('urdf', XACRO_FILE)
    doc = xacro.process_file(str(path), mappings={'profile': profile})
    return doc.toprettyxml(indent='  ')


@functools.cache
def urdf_model(profile: str = 'yutu2') -> UrdfModel:
    """The parsed URDF of `profile` (cached; treat as read-only)."""
    return parse_urdf(urdf_xml(profile))
