"""The joystick driver's decisions: when to publish a Joy frame, and what to say about the link.

Wraps `EvdevJoyMapper` with the connection life cycle of a hot-pluggable pad:

- `connect(info, pressed, now)`: a pad was opened; its current state is published at once.
- `on_event(type, code, value, now)`: frames are published when a SYN_REPORT closes a change.
- `repeat(now)`: with `autorepeat_rate` > 0 the last published frame is republished when nothing was sent
  for 1/rate seconds, so consumers with a staleness timeout (joy_teleop's `joy_timeout`) keep
  a held stick alive (joy_linux's default rate is 0, which such consumers cannot use).
- `disconnect(now, reason)`: the pad went away; ONE neutral frame (centred, all released) is
  published so a teleop stops at once instead of waiting for its timeout, then silence.

Times are seconds on any monotonic clock the caller chooses (the node uses its own clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rover_nav.teleop.device_select import DeviceInfo
from rover_nav.teleop.evdev_joy import EvdevJoyMapper


@dataclass(frozen=True)
class JoyFrame:
    """One Joy message's content: axes in [-1, 1] (joy_linux convention) and buttons 0/1."""

    axes: tuple[float, ...]
    buttons: tuple[int, ...]


@dataclass(frozen=True)
class LinkStatus:
    """For /diagnostics: connected or not, which device, why it was lost."""

    connected: bool
    device: str
    path: str
    message: str
    axes: int = 0
    buttons: int = 0


class JoystickDriverCore:
    """Connection state + Joy publishing policy of the `joystick` node."""

    def __init__(self, deadzone: float, autorepeat_rate: float) -> None:
        if not 0.0 <= autorepeat_rate <= 1000.0:
            raise ValueError(f'autorepeat_rate must be in [0, 1000] Hz, got {autorepeat_rate!r}')
        if not 0.0 <= deadzone < 1.0:
            raise ValueError(f'deadzone must be in [0, 1), got {deadzone!r}')
        self.deadzone = float(deadzone)
        self.autorepeat_rate = float(autorepeat_rate)
        self._mapper: EvdevJoyMapper | None = None
        self._info: DeviceInfo | None = None
        self._last_publish: float | None = None
        self._last_frame: JoyFrame | None = None
        self._last_loss = 'no game pad found yet (needs read access to /dev/input/event*, e.g. the input group)'

    @property
    def connected(self) -> bool:
        return self._mapper is not None

    @property
    def mapper(self) -> EvdevJoyMapper | None:
        return self._mapper

    def connect(self, info: DeviceInfo, pressed_codes: Iterable[int], now: float) -> JoyFrame:
        """Start reading `info` (axes carry their current values); returns the first frame."""
        self._mapper = EvdevJoyMapper(info.axes, info.key_codes, self.deadzone)
        self._mapper.resync({}, pressed_codes)
        self._info = info
        return self._frame(now)

    def on_event(self, ev_type: int, code: int, value: int, now: float) -> JoyFrame | None:
        """One evdev event; a frame when it completes a change, else None (also when unplugged)."""
        if self._mapper is None:
            return None
        return self._frame(now) if self._mapper.feed(ev_type, code, value) else None

    @property
    def needs_resync(self) -> bool:
        return self._mapper is not None and self._mapper.needs_resync

    def resync(self, abs_values: Mapping[int, int], pressed_codes: Iterable[int], now: float) -> JoyFrame | None:
        """The device's state after a SYN_DROPPED; a frame if it differs from what we had."""
        if self._mapper is None:
            return None
        return self._frame(now) if self._mapper.resync(abs_values, pressed_codes) else None

    def repeat(self, now: float) -> JoyFrame | None:
        """The current state again if autorepeat is on and nothing was published for 1/rate s."""
        if self._mapper is None or self.autorepeat_rate <= 0.0 or self._last_publish is None:
            return None
        if now - self._last_publish < 1.0 / self.autorepeat_rate and now >= self._last_publish:
            return None
        self._last_publish = now
        return self._last_frame  # the last complete frame, not a half-applied one

    def disconnect(self, now: float, reason: str) -> JoyFrame | None:
        """The pad is gone: the one neutral frame to publish (None if already disconnected)."""
        if self._mapper is None:
            return None
        axes, buttons = self._mapper.neutral()
        name = self._info.name if self._info else '?'
        self._last_loss = f'lost {name!r}: {reason}'
        self._mapper = None
        self._last_publish = now
        return JoyFrame(axes, buttons)

    def status(self) -> LinkStatus:
        if self._mapper is None or self._info is None:
            return LinkStatus(False, '', '', self._last_loss)
        return LinkStatus(True, self._info.name, self._info.path, f'reading {self._info.name!r}',
                          len(self._mapper.axis_infos), len(self._mapper.button_codes))

    def _frame(self, now: float) -> JoyFrame:
        assert self._mapper is not None
        self._last_publish = now
        self._last_frame = JoyFrame(self._mapper.axes, self._mapper.buttons)
        return self._last_frame
