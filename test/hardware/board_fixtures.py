"""Test helpers for the hardware tests: a hand-built hobby geometry and the driver parameters from
hardware.yaml (importable as `hardware.board_fixtures`)."""

from __future__ import annotations

import math
from typing import Any

import yaml

from rover_description.geometry import DepthSensor, Pose, RoverGeometry, Wheel
from rover_description.paths import data_file

RADIUS = 0.075
STEER_LIMIT = math.radians(40.0)


def hobby_geometry() -> RoverGeometry:
    """An OSR-class rover built by hand (tests must not depend on the description being done)."""
    wheels = []
    for name, x, y in (('fl', 0.26, 0.25), ('ml', 0.0, 0.27), ('rl', -0.26, 0.25),
                       ('fr', 0.26, -0.25), ('mr', 0.0, -0.27), ('rr', -0.26, -0.25)):
        steer = None if name[0] == 'm' else f'steer_{name}_joint'
        lim = STEER_LIMIT if steer else 0.0
        wheels.append(Wheel(name, f'wheel_{name}_joint', steer, x, y, 0.0, RADIUS, 0.06, -lim, lim))
    pose = Pose('imu_link', (0.0, 0.0, 0.1), (0.0, 0.0, 0.0))
    cam = DepthSensor(Pose('hazcam_link', (0.3, 0.0, 0.2), (0.0, 0.3, 0.0)), 1.0, 0.7, 32, 24, 0.1, 4.0, 5.0)
    return RoverGeometry('hobby', 12.0, tuple(wheels), (-0.4, 0.4, -0.35, 0.35), -0.05, pose, cam, 4.0)


def board_params(**overrides: Any) -> dict[str, Any]:
    """The shipped hardware.yaml values for hardware_driver plus the shared rover.yaml keys it uses."""
    shared = yaml.safe_load(data_file('config', 'rover.yaml').read_text())['/**']['ros__parameters']
    hw = yaml.safe_load(data_file('config', 'hardware.yaml').read_text())
    values = {k: shared[k] for k in ('joint_command_timeout', 'max_wheel_speed', 'max_clock_skew') if k in shared}
    values.update(hw['/**']['ros__parameters'])
    values.update(hw['/**/hardware_driver']['ros__parameters'])
    values['autostart'] = False
    values['roboclaw_read_timeout'] = 0.025  # a little slack for the emulator thread on a loaded machine
    values.update(overrides)
    return values


def make_config(**overrides: Any) -> Any:
    from rover_nav.hardware.config import SPECS, HardwareParams, build_config, cross_check
    from rover_nav.runtime.params import validate_all

    values = board_params(**overrides)
    defaults = {s.name: s.default for s in SPECS}
    defaults.update(values)
    return build_config(validate_all(SPECS, defaults, HardwareParams, cross_check), hobby_geometry())
