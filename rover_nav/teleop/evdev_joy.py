"""Linux evdev events -> `sensor_msgs/Joy` arrays, in the order and sign convention of joy_linux.

joy_linux reads the kernel's joydev interface (`/dev/input/js*`), so ROS users know gamepads in
*joydev order*; we read evdev (`/dev/input/event*`) directly and rebuild that order:

- axes: every ABS code the device reports, sorted by code (ABS_X=0, ABS_Y=1, ABS_Z=2, ABS_RX=3 ...);
- buttons: the device's key codes >= BTN_MISC, first those from BTN_JOYSTICK (0x120) up to KEY_MAX
  in code order, then those from BTN_MISC (0x100) to BTN_JOYSTICK-1. Key codes below BTN_MISC
  (keyboard keys) are not buttons, as in joydev.

Axis values: the raw range [min, max] of the device's absinfo maps linearly onto [-1, 1] around
its centre; the larger of the `deadzone` parameter and the device's own `flat` band reads 0 and
the rest is rescaled so full deflection still reads exactly +/-1 (no jump at the deadzone edge).
The sign is inverted like joy_linux: evdev reports stick up and left as negative, Joy reports
them as +1 (REP-103 style: forward / left positive). Triggers therefore read +1 released and
-1 fully pressed, again as joy_linux does. Buttons read 1 pressed (including key autorepeat,
value 2) and 0 released.

This module is pure: it consumes `(type, code, value)` integer tuples and absinfo numbers, so
recorded sequences (see `evtest_format`) drive it in tests without a device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import math

# Kernel input ABI constants (linux/input-event-codes.h); stable, so no evdev import is needed.
EV_SYN = 0x00
EV_KEY = 0x01
EV_ABS = 0x03
SYN_REPORT = 0
SYN_DROPPED = 3
BTN_MISC = 0x100
BTN_JOYSTICK = 0x120
BTN_DIGI = 0x140
BTN_TRIGGER_HAPPY = 0x2C0
BTN_TRIGGER_HAPPY_LAST = 0x2E7
KEY_MAX = 0x2FF
ABS_X = 0x00
ABS_Y = 0x01
ABS_CNT = 0x40
ABS_MT_FIRST = 0x2F  # ABS_MT_SLOT: multitouch (touchpad) axes start here
INPUT_PROP_ACCELEROMETER = 0x06


@dataclass(frozen=True)
class AxisInfo:
    """One absolute axis as the kernel describes it (`struct input_absinfo`), in raw device units.

    `value` is the axis position when the info was read (the starting state); `flat` is the
    device's own centre dead band (joydev removes it too).
    """

    code: int
    minimum: int
    maximum: int
    flat: int = 0
    value: int = 0

    def __post_init__(self) -> None:
        for name in ('code', 'minimum', 'maximum', 'flat', 'value'):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise ValueError(f'AxisInfo.{name} must be an int, got {getattr(self, name)!r}')
        if not 0 <= self.code < ABS_CNT:
            raise ValueError(f'AxisInfo.code {self.code} is not an ABS code (0..{ABS_CNT - 1})')
        if self.flat < 0:
            raise ValueError(f'AxisInfo.flat must be >= 0, got {self.flat}')


def joydev_button_order(key_codes: Iterable[int]) -> tuple[int, ...]:
    """The key codes that joydev exposes as buttons, in joydev's button order."""
    present = sorted({int(c) for c in key_codes if BTN_MISC <= int(c) <= KEY_MAX})
    return tuple([c for c in present if c >= BTN_JOYSTICK] + [c for c in present if c < BTN_JOYSTICK])


def joydev_axis_order(axes: Iterable[AxisInfo]) -> tuple[AxisInfo, ...]:
    """The axes in joydev order (by ABS code); duplicate codes are a caller error."""
    ordered = sorted(axes, key=lambda a: a.code)
    codes = [a.code for a in ordered]
    if len(set(codes)) != len(codes):
        raise ValueError(f'duplicate ABS codes in axes: {codes}')
    return tuple(ordered)


def normalize_axis(value: int, info: AxisInfo, deadzone: float) -> float:
    """Raw axis value -> Joy value in [-1, 1] (up/left positive), dead band removed and rescaled.

    Args:
        value: raw reading in device units (clamped to [minimum, maximum]).
        info: the axis range and the device's `flat` band.
        deadzone: fraction of the half range in [0, 1) that reads 0.

    Returns:
        `-sign(x) * (|x| - dz) / (1 - dz)` for `|x| > dz`, else 0, with x the reading scaled to
        [-1, 1] around the range centre and dz = max(deadzone, flat / half range).
    """
    half = (info.maximum - info.minimum) / 2.0
    if half <= 0.0:
        return 0.0
    centre = (info.maximum + info.minimum) / 2.0
    x = max(-1.0, min(1.0, (value - centre) / half))
    dz = min(max(deadzone, info.flat / half), 0.99)
    magnitude = abs(x)
    if magnitude <= dz:
        return 0.0
    scaled = (magnitude - dz) / (1.0 - dz)
    return -math.copysign(min(scaled, 1.0), x)


class EvdevJoyMapper:
    """Keeps a gamepad's Joy state from its evdev event stream.

    Feed every event with `feed(type, code, value)`; it returns True when a SYN_REPORT closes a
    frame that changed the state (the moment joy_linux would publish). After SYN_DROPPED the
    kernel's buffer overflowed: events up to the next SYN_REPORT are ignored and
    `needs_resync` is set; the caller then reads the device's current state and calls `resync`.
    """

    def __init__(self, axes: Sequence[AxisInfo], key_codes: Iterable[int], deadzone: float) -> None:
        if not isinstance(deadzone, (int, float)) or not 0.0 <= deadzone < 1.0:
            raise ValueError(f'deadzone must be in [0, 1), got {deadzone!r}')
        self.deadzone = float(deadzone)
        self.axis_infos = joydev_axis_order(axes)
        self.button_codes = joydev_button_order(key_codes)
        self._axis_index = {info.code: i for i, info in enumerate(self.axis_infos)}
        self._button_index = {code: i for i, code in enumerate(self.button_codes)}
        self._axes = [normalize_axis(info.value, info, self.deadzone) for info in self.axis_infos]
        self._buttons = [0] * len(self.button_codes)
        self._dirty = False
        self._dropping = False
        self.needs_resync = False

    @property
    def axes(self) -> tuple[float, ...]:
        return tuple(self._axes)

    @property
    def buttons(self) -> tuple[int, ...]:
        return tuple(self._buttons)

    def neutral(self) -> tuple[tuple[float, ...], tuple[int, ...]]:
        """All axes 0 (centred sticks; triggers read half-way) and all buttons released."""
        return (0.0,) * len(self._axes), (0,) * len(self._buttons)

    def feed(self, ev_type: int, code: int, value: int) -> bool:
        """Apply one event; True when it is a SYN_REPORT ending a frame that changed the state."""
        for name, item in (('type', ev_type), ('code', code), ('value', value)):
            if not isinstance(item, int) or isinstance(item, bool):
                raise ValueError(f'event {name} must be an int, got {item!r}')
        if ev_type == EV_SYN:
            if code == SYN_DROPPED:
                self._dropping = True
                return False
            if code == SYN_REPORT:
                if self._dropping:
                    self._dropping = False
                    self.needs_resync = True
                    return False
                changed, self._dirty = self._dirty, False
                return changed
            return False
        if self._dropping:
            return False
        if ev_type == EV_ABS:
            index = self._axis_index.get(code)
            if index is not None:
                self._set_axis(index, value)
        elif ev_type == EV_KEY:
            index = self._button_index.get(code)
            if index is not None:
                self._set_button(index, 1 if value else 0)
        return False

    def resync(self, abs_values: Mapping[int, int], pressed_codes: Iterable[int]) -> bool:
        """Replace the state with the device's current one (after SYN_DROPPED or on connect).

        Args:
            abs_values: ABS code -> current raw value (missing codes keep their state).
            pressed_codes: key codes currently held down.

        Returns:
            True when the state changed.
        """
        before = (self.axes, self.buttons)
        for code, value in abs_values.items():
            index = self._axis_index.get(code)
            if index is not None:
                self._set_axis(index, int(value))
        pressed = {int(c) for c in pressed_codes}
        for index, code in enumerate(self.button_codes):
            self._set_button(index, 1 if code in pressed else 0)
        self.needs_resync = False
        self._dirty = False
        return (self.axes, self.buttons) != before

    def _set_axis(self, index: int, raw: int) -> None:
        new = normalize_axis(raw, self.axis_infos[index], self.deadzone)
        if new != self._axes[index]:
            self._axes[index] = new
            self._dirty = True

    def _set_button(self, index: int, pressed: int) -> None:
        if pressed != self._buttons[index]:
            self._buttons[index] = pressed
            self._dirty = True
