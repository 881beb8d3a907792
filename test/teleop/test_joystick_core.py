"""Joystick driver policy: first frame on connect, autorepeat of complete frames, one neutral on loss."""

from __future__ import annotations

import pytest

from rover_nav.teleop.device_select import DeviceInfo
from rover_nav.teleop.evdev_joy import EV_ABS, EV_KEY, EV_SYN, SYN_REPORT, AxisInfo
from rover_nav.teleop.joystick_core import JoystickDriverCore

PAD = DeviceInfo('/dev/input/event4', 'pad', (AxisInfo(0, -32768, 32767), AxisInfo(1, -32768, 32767, value=-32768)),
                 (0x130, 0x136))


def test_connect_publishes_current_state_including_held_buttons():
    core = JoystickDriverCore(deadzone=0.05, autorepeat_rate=20.0)
    assert not core.connected and core.status().message.startswith('no game pad found yet')
    frame = core.connect(PAD, pressed_codes=[0x136], now=1.0)
    assert frame.axes == (0.0, 1.0) and frame.buttons == (0, 1)
    assert core.status().connected and core.status().buttons == 2


def test_autorepeat_republishes_last_complete_frame():
    core = JoystickDriverCore(deadzone=0.05, autorepeat_rate=20.0)
    first = core.connect(PAD, [], now=0.0)
    assert core.repeat(0.04) is None                       # within 1/20 s of the last publish
    assert core.repeat(0.05) == first
    core.on_event(EV_ABS, 0, -32768, now=0.06)              # frame still open
    assert core.repeat(0.2) == first                        # half-applied state is not repeated
    frame = core.on_event(EV_SYN, SYN_REPORT, 0, now=0.21)
    assert frame is not None and frame.axes == (1.0, 1.0)
    assert core.repeat(0.22) is None and core.repeat(0.30) == frame
    assert core.repeat(0.1) == frame                        # clock jumped back: republish, do not stall


def test_autorepeat_off():
    core = JoystickDriverCore(deadzone=0.05, autorepeat_rate=0.0)
    core.connect(PAD, [], now=0.0)
    assert core.repeat(100.0) is None


def test_disconnect_publishes_one_neutral_then_nothing():
    core = JoystickDriverCore(deadzone=0.05, autorepeat_rate=20.0)
    core.connect(PAD, [0x130], now=0.0)
    neutral = core.disconnect(now=1.0, reason='No such device')
    assert neutral is not None and neutral.axes == (0.0, 0.0) and neutral.buttons == (0, 0)
    assert core.disconnect(now=1.1, reason='again') is None
    assert core.repeat(5.0) is None
    assert core.on_event(EV_KEY, 0x130, 1, now=5.0) is None
    status = core.status()
    assert not status.connected and status.message.startswith("lost 'pad'") and 'No such device' in status.message


def test_bad_settings():
    with pytest.raises(ValueError, match='autorepeat_rate'):
        JoystickDriverCore(deadzone=0.05, autorepeat_rate=-1.0)
    with pytest.raises(ValueError, match='deadzone'):
        JoystickDriverCore(deadzone=1.5, autorepeat_rate=1.0)
