"""Choosing the gamepad among input devices: by path, by name, auto-detected; evtest parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from rover_nav.teleop.device_select import DeviceInfo, choose_device, looks_like_gamepad
from rover_nav.teleop.evdev_joy import AxisInfo
from rover_nav.teleop.evtest_format import parse_evtest

DATA = Path(__file__).resolve().parent / 'data'
XY = (AxisInfo(0, 0, 255), AxisInfo(1, 0, 255))

KEYBOARD = DeviceInfo('/dev/input/event0', 'AT Translated Set 2 keyboard', (), (1, 2, 30, 57))
MOUSE = DeviceInfo('/dev/input/event1', 'Logitech USB Optical Mouse', (), (0x110, 0x111))
DS4_TOUCHPAD = DeviceInfo('/dev/input/event11', 'Sony Interactive Entertainment Wireless Controller Touchpad',
                          (*XY, AxisInfo(0x2F, 0, 1), AxisInfo(0x35, 0, 1920)), (0x110, 0x145, 0x14A))
DS4_MOTION = DeviceInfo('/dev/input/event12', 'Sony Interactive Entertainment Wireless Controller Motion Sensors',
                        (*XY, AxisInfo(2, 0, 255)), (), props=(6,))
DS4 = DeviceInfo('/dev/input/event10', 'Sony Interactive Entertainment Wireless Controller',
                 XY, (0x130, 0x131, 0x136))
XBOX = DeviceInfo('/dev/input/event2', 'Microsoft X-Box 360 pad', XY, (0x130, 0x131, 0x136))
FLIGHT_STICK = DeviceInfo('/dev/input/event3', 'Thrustmaster T.16000M', XY, (0x120, 0x121))


def test_gamepad_heuristic():
    assert looks_like_gamepad(XBOX) and looks_like_gamepad(DS4) and looks_like_gamepad(FLIGHT_STICK)
    for other in (KEYBOARD, MOUSE, DS4_TOUCHPAD, DS4_MOTION):
        assert not looks_like_gamepad(other), other.name


def test_auto_detect_picks_lowest_numbered_pad():
    devices = [DS4_MOTION, DS4, KEYBOARD, DS4_TOUCHPAD, MOUSE, XBOX]
    assert choose_device(devices) == XBOX            # event2 before event10 (numeric order)
    assert choose_device([DS4_MOTION, DS4_TOUCHPAD, DS4, KEYBOARD]) == DS4
    assert choose_device([KEYBOARD, MOUSE]) is None


def test_by_name_exact_then_substring():
    devices = [DS4_TOUCHPAD, DS4_MOTION, DS4, XBOX]
    assert choose_device(devices, name='Sony Interactive Entertainment Wireless Controller') == DS4
    assert choose_device(devices, name='x-box') == XBOX
    assert choose_device(devices, name='nothing like it') is None


def test_by_path_even_if_not_a_pad():
    assert choose_device([XBOX, KEYBOARD], path='/dev/input/event0') == KEYBOARD
    assert choose_device([XBOX], path='/dev/input/event9') is None


def test_parse_recording_capabilities():
    info, events = parse_evtest((DATA / 'ds4_drive.evtest').read_text(), path='/dev/input/event7')
    assert info.name == 'Sony Interactive Entertainment Wireless Controller'
    assert info.path == '/dev/input/event7'
    assert [a.code for a in info.axes] == [0, 1, 2, 3, 4, 5, 16, 17]
    assert info.axes[1].value == 127 and info.axes[1].flat == 15 and info.axes[6].minimum == -1
    assert 315 in info.key_codes and len(info.key_codes) == 13
    scan = [e for e in events if e.type == 4]
    assert scan[1].value == 0x9000A                       # MSC_SCAN is printed in hex by evtest
    assert looks_like_gamepad(info)


def test_parse_rejects_other_text():
    with pytest.raises(ValueError, match='device name'):
        parse_evtest('hello\nworld\n')
    with pytest.raises(ValueError, match='Min/Max'):
        parse_evtest('Input device name: "x"\n  Event type 3 (EV_ABS)\n    Event code 0 (ABS_X)\n      Value 0\n')
