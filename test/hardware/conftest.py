"""Fixtures for the hardware tests: an emulated board (pty RoboClaws, I2C fakes, fake e-stop pin)."""

from __future__ import annotations

import pytest


@pytest.fixture
def emulation():
    from rover_nav.hardware.devices import Emulation

    emu = Emulation()
    try:
        yield emu
    finally:
        emu.close()
