"""How the driver and `rover hw-check` obtain their devices: real ones, or emulated ones.

`DeviceFactories` bundles the constructors (serial port, I2C bus, e-stop pin, sleep), so the
same driver code runs on the board, against the pty RoboClaw emulator and I2C fakes in tests,
and in `--emulate` mode for a demonstration without hardware.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import time
from typing import Any

from rover_nav.hardware.estop_input import EstopPin, FakePin, open_estop_pin
from rover_nav.hardware.i2c_fakes import FakeBNO055, FakePCA9685, FakeSMBus
from rover_nav.hardware.roboclaw import SerialPort, open_serial


def open_smbus(bus: int) -> Any:
    """smbus2.SMBus(bus), imported lazily (only the board needs it)."""
    from smbus2 import SMBus

    return SMBus(bus)


@dataclass
class DeviceFactories:
    serial: Callable[[str, int, float], SerialPort] = open_serial
    i2c: Callable[[int], Any] = open_smbus
    estop_pin: Callable[[str, int, int], EstopPin] = open_estop_pin
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Emulation:
    """Emulated board: a RoboClaw emulator on a pty, fake I2C devices and a fake e-stop pin.

    `factories` open these instead of real devices; the serial port name asked for is ignored
    and the emulator's pty is used. Call `close()` when done.
    """

    addresses: Iterable[int] = (128, 129, 130)
    pca9685_address: int = 0x40
    imu_address: int = 0x28
    emulator: Any = None
    pca: FakePCA9685 = field(default_factory=FakePCA9685)
    imu: FakeBNO055 = field(default_factory=FakeBNO055)
    pin: FakePin = field(default_factory=FakePin)
    buses: dict[int, FakeSMBus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.emulator is None:
            from rover_nav.hardware.roboclaw_emulator import RoboClawEmulator

            self.emulator = RoboClawEmulator(self.addresses)

    def _bus(self, number: int) -> FakeSMBus:
        bus = FakeSMBus({self.pca9685_address: self.pca, self.imu_address: self.imu})
        self.buses[number] = bus
        return bus

    def factories(self) -> DeviceFactories:
        return DeviceFactories(
            serial=lambda _port, baud, timeout: open_serial(self.emulator.port, baud, timeout),
            i2c=self._bus,
            estop_pin=lambda _backend, _chip, _pin: self.pin,
            sleep=lambda _s: None)

    def close(self) -> None:
        self.emulator.close()
