"""Bosch BNO055 9-axis IMU over I2C (smbus2-style bus), publishing-ready samples (REP-145).

Register map page 0 (Bosch BNO055 datasheet): CHIP_ID 0x00 = 0xA0, PAGE_ID 0x07, ACC_DATA 0x08,
GYR_DATA 0x14, QUA_DATA 0x20 (w, x, y, z), CALIB_STAT 0x35, ST_RESULT 0x36, SYS_STATUS 0x39,
SYS_ERR 0x3A, UNIT_SEL 0x3B, OPR_MODE 0x3D, PWR_MODE 0x3E, AXIS_MAP_CONFIG 0x41,
AXIS_MAP_SIGN 0x42, calibration offsets 0x55..0x6A (22 bytes, writable in CONFIG mode only).

Units chosen with UNIT_SEL = 0x06: acceleration m/s^2 (100 LSB per m/s^2), angular rate rad/s
(900 LSB per rad/s); quaternions are 2^14 LSB per unit. ACC_DATA includes gravity, which is what
REP-145 wants in linear_acceleration (+g on z at rest). The fused orientation has z up; its yaw
is relative to the start-up heading in IMUPLUS mode and to magnetic north in NDOF mode, never
to true east: consumers should use roll/pitch and treat yaw as relative.

The chip stretches the I2C clock, which the Raspberry Pi's controller handles badly: lower the
bus speed (dtparam=i2c_arm_baudrate=10000 in config.txt), see the README.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import struct
import time
from typing import Any

CHIP_ID = 0x00
CHIP_ID_VALUE = 0xA0
PAGE_ID = 0x07
ACC_DATA = 0x08
GYR_DATA = 0x14
QUA_DATA = 0x20
CALIB_STAT = 0x35
ST_RESULT = 0x36
SYS_STATUS = 0x39
SYS_ERR = 0x3A
UNIT_SEL = 0x3B
OPR_MODE = 0x3D
PWR_MODE = 0x3E
AXIS_MAP_CONFIG = 0x41
AXIS_MAP_SIGN = 0x42
OFFSETS = 0x55
OFFSETS_LEN = 22

MODE_CONFIG = 0x00
MODE_IMUPLUS = 0x08
MODE_NDOF = 0x0C
MODES = {'imuplus': MODE_IMUPLUS, 'ndof': MODE_NDOF}
UNITS = 0x06  # m/s^2, rad/s, rad, Celsius, Windows orientation
PWR_NORMAL = 0x00
ACC_LSB = 100.0
GYR_LSB = 900.0
QUA_LSB = float(1 << 14)
SYS_STATUS_FUSION = 5


class BNO055Error(OSError):
    """The IMU is absent, answered with a wrong chip id, or refused its mode."""


@dataclass(frozen=True)
class CalibrationStatus:
    """0 (uncalibrated) .. 3 (fully calibrated) per subsystem."""

    system: int
    gyro: int
    accel: int
    mag: int

    @classmethod
    def from_byte(cls, value: int) -> CalibrationStatus:
        return cls((value >> 6) & 3, (value >> 4) & 3, (value >> 2) & 3, value & 3)

    def calibrated(self, mode: str) -> bool:
        """Fully calibrated for `mode`: gyro and accel, plus magnetometer and system for ndof."""
        ok = self.gyro == 3 and self.accel == 3
        return ok and (mode != 'ndof' or (self.mag == 3 and self.system == 3))

    def as_dict(self) -> dict[str, int]:
        return {'system': self.system, 'gyro': self.gyro, 'accel': self.accel, 'mag': self.mag}


@dataclass(frozen=True)
class ImuSample:
    """orientation (w, x, y, z) of imu_link in the fused z-up frame; gyro rad/s; accel m/s^2."""

    orientation: tuple[float, float, float, float]
    angular_velocity: tuple[float, float, float]
    linear_acceleration: tuple[float, float, float]


def decode_sample(block: bytes) -> ImuSample:
    """Decode the 32 data bytes read from ACC_DATA (0x08) through the end of QUA_DATA (0x27)."""
    if len(block) != 32:
        raise ValueError(f'expected 32 bytes from 0x08, got {len(block)}')
    acc = struct.unpack_from('<3h', block, ACC_DATA - ACC_DATA)
    gyr = struct.unpack_from('<3h', block, GYR_DATA - ACC_DATA)
    qua = struct.unpack_from('<4h', block, QUA_DATA - ACC_DATA)
    return ImuSample(tuple(q / QUA_LSB for q in qua),  # type: ignore[arg-type]
                     tuple(g / GYR_LSB for g in gyr),  # type: ignore[arg-type]
                     tuple(a / ACC_LSB for a in acc))  # type: ignore[arg-type]


class BNO055:
    def __init__(self, bus: Any, address: int = 0x28, sleep: Callable[[float], None] = time.sleep) -> None:
        self.bus = bus
        self.address = address
        self._sleep = sleep
        self.mode = ''

    def _write(self, reg: int, value: int) -> None:
        self.bus.write_byte_data(self.address, reg, value)

    def _read(self, reg: int) -> int:
        return self.bus.read_byte_data(self.address, reg)

    def begin(self, mode: str = 'imuplus', axis_map: int = 0x24, axis_sign: int = 0x00,
              offsets: bytes | None = None, boot_wait_s: float = 1.0) -> None:
        """Enter CONFIG mode, set units, axis remap and (optionally) saved offsets, then `mode`."""
        if mode not in MODES:
            raise ValueError(f'BNO055 mode must be one of {sorted(MODES)}, got {mode!r}')
        waited = 0.0
        while True:  # the chip needs up to ~850 ms after power-on before it answers
            try:
                chip = self._read(CHIP_ID)
            except OSError:
                chip = -1
            if chip == CHIP_ID_VALUE:
                break
            if waited >= boot_wait_s:
                raise BNO055Error(f'BNO055 at 0x{self.address:02x}: chip id {chip:#x}, expected 0xa0 '
                                  '(wiring, address jumper, or I2C clock stretching)')
            self._sleep(0.05)
            waited += 0.05
        self._write(OPR_MODE, MODE_CONFIG)
        self._sleep(0.025)  # any mode -> CONFIG takes 19 ms
        self._write(PAGE_ID, 0)
        self._write(PWR_MODE, PWR_NORMAL)
        self._write(UNIT_SEL, UNITS)
        self._write(AXIS_MAP_CONFIG, axis_map)
        self._write(AXIS_MAP_SIGN, axis_sign)
        if offsets is not None:
            if len(offsets) != OFFSETS_LEN:
                raise ValueError(f'BNO055 calibration offsets must be {OFFSETS_LEN} bytes, got {len(offsets)}')
            self.bus.write_i2c_block_data(self.address, OFFSETS, list(offsets))
        self._write(OPR_MODE, MODES[mode])
        self._sleep(0.02)  # CONFIG -> fusion mode takes 7 ms
        actual = self._read(OPR_MODE) & 0x0F
        if actual != MODES[mode]:
            raise BNO055Error(f'BNO055 stayed in mode {actual:#x}, asked for {MODES[mode]:#x} ({mode})')
        self.mode = mode

    def read(self) -> ImuSample:
        return decode_sample(bytes(self.bus.read_i2c_block_data(self.address, ACC_DATA, 32)))

    def calibration(self) -> CalibrationStatus:
        return CalibrationStatus.from_byte(self._read(CALIB_STAT))

    def read_offsets(self) -> bytes:
        """The 22 calibration offset bytes (switches to CONFIG mode and back)."""
        mode = self.mode
        self._write(OPR_MODE, MODE_CONFIG)
        self._sleep(0.025)
        data = bytes(self.bus.read_i2c_block_data(self.address, OFFSETS, OFFSETS_LEN))
        if mode:
            self._write(OPR_MODE, MODES[mode])
            self._sleep(0.02)
        return data

    def close(self) -> None:
        """Back to CONFIG mode (fusion off)."""
        with contextlib.suppress(OSError):
            self._write(OPR_MODE, MODE_CONFIG)
