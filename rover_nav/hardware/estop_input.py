"""The GPIO e-stop input: a normally-closed switch to ground with the pin's pull-up enabled.

Closed (normal): the pin reads LOW. Pressed, or the wire cut: the pull-up makes it HIGH = stop.
So a broken wire stops the rover too. This input supplements, never replaces, the mushroom
switch that cuts motor power.

Backends are imported lazily (neither is needed off the board): `lgpio` (Raspberry Pi 5 and 4,
Ubuntu and Raspberry Pi OS: apt install python3-lgpio, or pip install lgpio) or `gpiozero`.
"""

from __future__ import annotations

from typing import Protocol


class EstopPin(Protocol):
    def is_high(self) -> bool: ...
    def close(self) -> None: ...


class EstopUnavailableError(RuntimeError):
    """The GPIO backend is missing or the pin cannot be claimed (the message says how to fix it)."""


class FakePin:
    """A pin for tests and emulation: set `.high` to press (True) or release (False) the switch."""

    def __init__(self, high: bool = False) -> None:
        self.high = high
        self.closed = False

    def is_high(self) -> bool:
        return self.high

    def close(self) -> None:
        self.closed = True


class LgpioPin:
    def __init__(self, chip: int, pin: int) -> None:
        try:
            import lgpio
        except ImportError as exc:
            raise EstopUnavailableError('lgpio is not installed: sudo apt install python3-lgpio (or pip install '
                                        'lgpio), or set estop_backend: gpiozero') from exc
        self._lgpio = lgpio
        try:
            self._handle = lgpio.gpiochip_open(chip)
            lgpio.gpio_claim_input(self._handle, pin, lgpio.SET_PULL_UP)
        except Exception as exc:  # lgpio.error has no stable base class across versions
            raise EstopUnavailableError(f'cannot claim GPIO {pin} on gpiochip{chip}: {exc} '
                                        '(is the user in the gpio group? is estop_gpiochip right?)') from exc
        self._pin = pin

    def is_high(self) -> bool:
        return self._lgpio.gpio_read(self._handle, self._pin) == 1

    def close(self) -> None:
        try:
            self._lgpio.gpio_free(self._handle, self._pin)
            self._lgpio.gpiochip_close(self._handle)
        except Exception:  # closing twice or a vanished chip must not mask the shutdown
            pass


class GpiozeroPin:
    def __init__(self, pin: int) -> None:
        try:
            from gpiozero import DigitalInputDevice
        except ImportError as exc:
            raise EstopUnavailableError('gpiozero is not installed: sudo apt install python3-gpiozero') from exc
        try:
            # pull_up=True makes gpiozero call LOW "active"; HIGH (our stop) is then "inactive"
            self._device = DigitalInputDevice(pin, pull_up=True)
        except Exception as exc:
            raise EstopUnavailableError(f'cannot claim GPIO {pin} with gpiozero: {exc}') from exc

    def is_high(self) -> bool:
        return not self._device.is_active

    def close(self) -> None:
        self._device.close()


def open_estop_pin(backend: str, chip: int, pin: int) -> EstopPin:
    """Open the e-stop input with `backend` ('lgpio' or 'gpiozero')."""
    if backend == 'lgpio':
        return LgpioPin(chip, pin)
    if backend == 'gpiozero':
        return GpiozeroPin(pin)
    raise EstopUnavailableError(f'unknown e-stop backend {backend!r}; use lgpio or gpiozero')
