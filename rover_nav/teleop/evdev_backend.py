"""Access to real `/dev/input/event*` devices through python-evdev (the `evdev-binary` wheel).

The joystick node talks to devices only through the small `InputBackend` / `InputHandle`
interface below, so tests swap in a fake backend fed with recorded events, and this module is
the only place that imports evdev. Devices the user cannot read (permissions: add the user to
the `input` group) are not listed by evdev and so are invisible here, like absent devices.
"""

from __future__ import annotations

import contextlib
import errno
from typing import Protocol

from rover_nav.teleop.device_select import DeviceInfo
from rover_nav.teleop.evdev_joy import EV_ABS, EV_KEY, AxisInfo


class InputHandle(Protocol):
    """An opened device: its description, a file descriptor to wait on, non-blocking reads."""

    info: DeviceInfo

    def fileno(self) -> int: ...

    def read_events(self) -> list[tuple[int, int, int]]:
        """All pending (type, code, value) events; [] if none; OSError when the device is gone."""
        ...

    def pressed_keys(self) -> list[int]: ...

    def abs_values(self) -> dict[int, int]: ...

    def close(self) -> None: ...


class InputBackend(Protocol):
    """Lists devices and opens one."""

    def scan(self) -> list[DeviceInfo]: ...

    def open(self, info: DeviceInfo) -> InputHandle: ...


def _describe(device: object) -> DeviceInfo:
    caps = device.capabilities(absinfo=True)  # type: ignore[attr-defined]
    axes = tuple(AxisInfo(code=int(code), minimum=int(info.min), maximum=int(info.max), flat=int(info.flat),
                          value=int(info.value))
                 for code, info in caps.get(EV_ABS, []))
    keys = tuple(int(code) for code in caps.get(EV_KEY, []))
    try:
        props = tuple(int(p) for p in device.input_props())  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        props = ()
    return DeviceInfo(path=str(device.path), name=str(device.name), axes=axes,  # type: ignore[attr-defined]
                      key_codes=keys, props=props)


class EvdevHandle:
    """An open evdev InputDevice."""

    def __init__(self, device: object) -> None:
        self._device = device
        self.info = _describe(device)

    def fileno(self) -> int:
        return int(self._device.fd)  # type: ignore[attr-defined]

    def read_events(self) -> list[tuple[int, int, int]]:
        events: list[tuple[int, int, int]] = []
        try:
            for event in self._device.read():  # type: ignore[attr-defined]
                events.append((int(event.type), int(event.code), int(event.value)))
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return events
            raise
        return events

    def pressed_keys(self) -> list[int]:
        return [int(k) for k in self._device.active_keys()]  # type: ignore[attr-defined]

    def abs_values(self) -> dict[int, int]:
        return {a.code: int(self._device.absinfo(a.code).value) for a in self.info.axes}  # type: ignore[attr-defined]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._device.close()  # type: ignore[attr-defined]


class EvdevBackend:
    """Real devices under /dev/input."""

    def scan(self) -> list[DeviceInfo]:
        import evdev

        found = []
        for path in evdev.list_devices():
            try:
                device = evdev.InputDevice(path)
            except OSError:  # unplugged between listing and opening, or not readable
                continue
            try:
                found.append(_describe(device))
            except OSError:
                continue
            finally:
                with contextlib.suppress(OSError):
                    device.close()
        return found

    def open(self, info: DeviceInfo) -> EvdevHandle:
        import evdev

        return EvdevHandle(evdev.InputDevice(info.path))
