"""Which `/dev/input/event*` device is the operator's gamepad: by path, by name or auto-detected.

Pure: works on `DeviceInfo` descriptions (what evdev reports about each device), so the choice
rules are tested without hardware. A game pad often shows up as several event devices (the
DualShock 4 adds a motion-sensor and a touchpad device); auto-detection keeps only devices that
look like joysticks the way joydev decides it: X and Y absolute axes plus joystick/gamepad
buttons, no multitouch axes and not an accelerometer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import re

from rover_nav.teleop.evdev_joy import (
    ABS_MT_FIRST,
    ABS_X,
    ABS_Y,
    BTN_DIGI,
    BTN_JOYSTICK,
    BTN_TRIGGER_HAPPY,
    BTN_TRIGGER_HAPPY_LAST,
    INPUT_PROP_ACCELEROMETER,
    AxisInfo,
)


@dataclass(frozen=True)
class DeviceInfo:
    """What evdev tells about one input device: path, name, axes, key codes, input properties."""

    path: str
    name: str
    axes: tuple[AxisInfo, ...] = ()
    key_codes: tuple[int, ...] = ()
    props: tuple[int, ...] = field(default=())

    @property
    def abs_codes(self) -> frozenset[int]:
        return frozenset(a.code for a in self.axes)


def looks_like_gamepad(info: DeviceInfo) -> bool:
    """True for joysticks and game pads, false for touchpads, motion sensors, mice, keyboards."""
    codes = info.abs_codes
    if ABS_X not in codes or ABS_Y not in codes:
        return False
    if any(c >= ABS_MT_FIRST for c in codes):  # multitouch: a touchpad, not a stick
        return False
    if INPUT_PROP_ACCELEROMETER in info.props:
        return False
    return any(BTN_JOYSTICK <= c < BTN_DIGI or BTN_TRIGGER_HAPPY <= c <= BTN_TRIGGER_HAPPY_LAST
               for c in info.key_codes)


def _path_key(path: str) -> tuple[str, int]:
    """Sort /dev/input/event2 before event10."""
    match = re.match(r'^(.*?)(\d+)$', path)
    return (match.group(1), int(match.group(2))) if match else (path, -1)


def choose_device(devices: Iterable[DeviceInfo], path: str = '', name: str = '') -> DeviceInfo | None:
    """Pick the device to read, or None when no suitable device is present.

    Args:
        devices: the input devices present now.
        path: if not empty, exactly this device node (the caller resolves symlinks such as
            /dev/input/by-id/...-event-joystick); it is used even if it does not look like a pad.
        name: if not empty (and no path), a device with exactly this name, else the first whose
            name contains it (case-insensitive).

    Returns:
        With neither path nor name: the first game pad by device number.
    """
    ordered: Sequence[DeviceInfo] = sorted(devices, key=lambda d: _path_key(d.path))
    if path:
        return next((d for d in ordered if d.path == path), None)
    if name:
        exact = [d for d in ordered if d.name == name]
        if exact:
            return exact[0]
        wanted = name.casefold()
        return next((d for d in ordered if wanted in d.name.casefold()), None)
    return next((d for d in ordered if looks_like_gamepad(d)), None)
