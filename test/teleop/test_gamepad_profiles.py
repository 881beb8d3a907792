"""Gamepad profile YAMLs: valid joy_teleop parameters, and each drives its pad's recorded stream correctly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rover_description.paths import data_dir, data_file
from rover_nav.runtime.params import validate_all
from rover_nav.teleop.deadman import JoyTeleopCore, TeleopState
from rover_nav.teleop.evdev_joy import EvdevJoyMapper
from rover_nav.teleop.evtest_format import parse_evtest
from rover_nav.teleop.joy_teleop_node import PARAMS, JoyTeleopParams, config_from

DATA = Path(__file__).resolve().parent / 'data'
PROFILES = ('xbox', 'playstation', 'f710', 'sdl_game_controller')


def load(name: str) -> dict:
    doc = yaml.safe_load(data_file('config', f'gamepads/{name}.yaml').read_text())
    return doc['/**']['ros__parameters']


def profile_config(name: str, **extra):
    values = {spec.name: spec.default for spec in PARAMS}
    values.update(load(name))
    values.update(extra)
    return config_from(validate_all(PARAMS, values, JoyTeleopParams, config_from))


def test_all_profiles_present_and_valid():
    assert sorted(p.stem for p in (data_dir('config') / 'gamepads').glob('*.yaml')) == sorted(PROFILES)
    names = {spec.name for spec in PARAMS}
    for name in PROFILES:
        params = load(name)
        assert set(params) <= names, f'{name}: unknown keys {set(params) - names}'
        profile_config(name)


def test_shared_defaults_match_the_xbox_profile():
    shared = yaml.safe_load(data_file('config', 'rover.yaml').read_text())['/**']['ros__parameters']
    xbox = load('xbox')
    for key in ('axis_linear', 'axis_angular', 'enable_button', 'estop_button', 'reset_button'):
        assert shared[key] == xbox[key], key


def drive(recording: str, profile: str) -> list[tuple]:
    """Replay a recording through the mapper and the deadman with the profile; returns (output, actions)."""
    info, events = parse_evtest((DATA / recording).read_text())
    mapper = EvdevJoyMapper(info.axes, info.key_codes, 0.05)
    core = JoyTeleopCore(profile_config(profile, max_linear_speed=0.05, max_angular_speed=0.1))
    t0 = events[0].t
    core.on_joy(mapper.axes, mapper.buttons, 0.0)
    steps = []
    for ev in events:
        if mapper.feed(ev.type, ev.code, ev.value):
            actions = core.on_joy(mapper.axes, mapper.buttons, ev.t - t0 + 0.01)
            steps.append((core.output(ev.t - t0 + 0.01), actions))
    return steps


def test_xbox_profile_on_xbox_recording():
    steps = drive('xbox360_drive.evtest', 'xbox')
    assert steps[0][0].state == TeleopState.ACTIVE and not steps[0][0].moving   # LB pressed, sticks centred
    full = steps[2][0]
    assert full.state == TeleopState.ACTIVE and full.linear == pytest.approx(0.05)
    assert steps[3][0].angular == pytest.approx(0.1 * 0.4737, abs=1e-3)
    assert steps[6][0].state == TeleopState.RELEASED and not steps[6][0].moving


def test_playstation_profile_on_ds4_recording():
    steps = drive('ds4_drive.evtest', 'playstation')
    assert steps[1][0].linear == pytest.approx(0.05)                 # L1 + left stick forward
    assert steps[2][0].angular == 0.0                                # the right stick does not steer
    assert steps[3][1].reset                                         # options
    assert steps[4][1].estop and not steps[4][0].moving              # circle


def test_f710_profile_on_dinput_recording():
    steps = drive('f710_dinput.evtest', 'f710')
    assert steps[1][0].linear < -0.02                                # LB + stick half back
    assert steps[2][1].estop and not steps[2][0].moving              # B


def test_sdl_profile_layout():
    core = JoyTeleopCore(profile_config('sdl_game_controller', max_linear_speed=0.05, max_angular_speed=0.1))
    axes, buttons = [0.0] * 6, [0] * 21
    core.on_joy(axes, buttons, 0.0)
    buttons[9] = 1                                                   # left shoulder
    core.on_joy(axes, buttons, 0.1)
    axes[1], axes[0] = 1.0, 0.5                                      # left stick up and left
    core.on_joy(axes, buttons, 0.2)
    assert (core.output(0.2).linear, core.output(0.2).angular) == pytest.approx((0.05, 0.05))
    buttons[1] = 1                                                   # B
    assert core.on_joy(axes, buttons, 0.3).estop
    buttons[6] = 1                                                   # start
    buttons[1] = 0
    assert core.on_joy(axes, buttons, 0.4).reset
