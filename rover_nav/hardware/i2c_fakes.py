"""Register-level fakes of the I2C devices, behind an smbus2-compatible bus object.

They model what the drivers depend on, so tests (and `rover hw-check --emulate`) catch wrong
register use: the PCA9685 ignores PRE_SCALE writes unless asleep and only auto-increments block
writes when MODE1.AI is set; the BNO055 answers its chip id, accepts calibration offsets only in
CONFIG mode and reports motion data only in a fusion mode. Every write is logged as
(register, bytes) for assertions. A missing address raises OSError like a real NACK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import errno
import math
import struct

from rover_nav.hardware import bno055, pca9685


class FakeI2CDevice:
    """256 byte registers with auto-increment and a write log."""

    def __init__(self) -> None:
        self.registers = bytearray(256)
        self.writes: list[tuple[int, bytes]] = []
        self.fail = False  # True: every access raises OSError (device unplugged)

    def auto_increment(self) -> bool:
        return True

    def write(self, reg: int, data: Sequence[int]) -> None:
        self.writes.append((reg, bytes(data)))
        step = 1 if self.auto_increment() else 0
        for i, value in enumerate(data):
            self.store((reg + i * step) & 0xFF, value & 0xFF)

    def store(self, reg: int, value: int) -> None:
        self.registers[reg] = value

    def read(self, reg: int, length: int) -> list[int]:
        return [self.load((reg + i) & 0xFF) for i in range(length)]

    def load(self, reg: int) -> int:
        return self.registers[reg]

    def writes_to(self, reg: int) -> list[bytes]:
        return [data for r, data in self.writes if r == reg]


class FakePCA9685(FakeI2CDevice):
    def __init__(self, oscillator_hz: float = pca9685.NOMINAL_OSC_HZ) -> None:
        super().__init__()
        self.oscillator_hz = oscillator_hz
        self.registers[pca9685.MODE1] = 0x11  # power-on: SLEEP | ALLCALL
        self.registers[pca9685.MODE2] = 0x04
        self.registers[pca9685.PRE_SCALE] = 0x1E  # 200 Hz power-on default
        self.ignored_prescale_writes = 0

    def auto_increment(self) -> bool:
        return bool(self.registers[pca9685.MODE1] & pca9685.MODE1_AI)

    def store(self, reg: int, value: int) -> None:
        if reg == pca9685.PRE_SCALE and not self.registers[pca9685.MODE1] & pca9685.MODE1_SLEEP:
            self.ignored_prescale_writes += 1  # the chip blocks PRE_SCALE writes while awake
            return
        if reg == pca9685.MODE1:
            value &= ~pca9685.MODE1_RESTART & 0xFF  # RESTART clears itself
        self.registers[reg] = value

    @property
    def prescale(self) -> int:
        return self.registers[pca9685.PRE_SCALE]

    @property
    def awake(self) -> bool:
        return not self.registers[pca9685.MODE1] & pca9685.MODE1_SLEEP

    def pulse_us(self, channel: int) -> float:
        """The pulse the outputs produce on `channel` (us); 0 when full off or asleep."""
        base = pca9685.LED0_ON_L + 4 * channel
        on = (self.registers[base + 1] & 0x0F) << 8 | self.registers[base]
        off_h = self.registers[base + 3]
        off = (off_h & 0x0F) << 8 | self.registers[base + 2]
        if off_h & pca9685.FULL_OFF or not self.awake:
            return 0.0
        frequency = pca9685.frequency_for(self.prescale, self.oscillator_hz)
        return (off - on) / 4096.0 / frequency * 1e6


class FakeBNO055(FakeI2CDevice):
    def __init__(self) -> None:
        super().__init__()
        self.registers[bno055.CHIP_ID] = bno055.CHIP_ID_VALUE
        self.registers[bno055.AXIS_MAP_CONFIG] = 0x24
        self.registers[bno055.CALIB_STAT] = 0xFF
        self.registers[bno055.ST_RESULT] = 0x0F
        self.rejected_offset_writes = 0
        self.set_motion()

    @property
    def mode(self) -> int:
        return self.registers[bno055.OPR_MODE] & 0x0F

    def set_calibration(self, system: int, gyro: int, accel: int, mag: int) -> None:
        self.registers[bno055.CALIB_STAT] = (system << 6) | (gyro << 4) | (accel << 2) | mag

    def set_motion(self, orientation: Iterable[float] = (1.0, 0.0, 0.0, 0.0),
                   angular_velocity: Iterable[float] = (0.0, 0.0, 0.0),
                   linear_acceleration: Iterable[float] = (0.0, 0.0, 9.81)) -> None:
        """What the sensor measures now: quaternion (w, x, y, z), rad/s, m/s^2 (with gravity)."""
        self._orientation = tuple(orientation)
        self._gyro = tuple(angular_velocity)
        self._acc = tuple(linear_acceleration)

    def store(self, reg: int, value: int) -> None:
        in_config = self.mode == bno055.MODE_CONFIG
        if bno055.OFFSETS <= reg < bno055.OFFSETS + bno055.OFFSETS_LEN and not in_config:
            self.rejected_offset_writes += 1  # writable in CONFIG mode only
            return
        if reg in (bno055.UNIT_SEL, bno055.AXIS_MAP_CONFIG, bno055.AXIS_MAP_SIGN) and not in_config:
            return
        self.registers[reg] = value
        if reg == bno055.OPR_MODE:
            fusing = self.mode in (bno055.MODE_IMUPLUS, bno055.MODE_NDOF)
            self.registers[bno055.SYS_STATUS] = bno055.SYS_STATUS_FUSION if fusing else 0

    def load(self, reg: int) -> int:
        if bno055.ACC_DATA <= reg < bno055.QUA_DATA + 8:
            return self._data_block()[reg - bno055.ACC_DATA]
        return self.registers[reg]

    def _data_block(self) -> bytes:
        if self.mode not in (bno055.MODE_IMUPLUS, bno055.MODE_NDOF):
            return bytes(32)  # fusion off: no data
        gyro_lsb = bno055.GYR_LSB if self.registers[bno055.UNIT_SEL] & 0x02 else 16.0 * 180.0 / math.pi
        acc = [round(a * bno055.ACC_LSB) for a in self._acc]
        gyr = [round(g * gyro_lsb) for g in self._gyro]
        qua = [round(q * bno055.QUA_LSB) for q in self._orientation]
        return (struct.pack('<3h', *acc) + bytes(6) + struct.pack('<3h', *gyr) + bytes(6)
                + struct.pack('<4h', *qua))


class FakeSMBus:
    """An smbus2.SMBus stand-in holding fake devices by 7-bit address."""

    def __init__(self, devices: dict[int, FakeI2CDevice] | None = None) -> None:
        self.devices = dict(devices or {})
        self.closed = False

    def _device(self, address: int) -> FakeI2CDevice:
        device = self.devices.get(address)
        if device is None or device.fail or self.closed:
            raise OSError(errno.EREMOTEIO, f'Remote I/O error (no device at 0x{address:02x})')
        return device

    def write_byte_data(self, address: int, reg: int, value: int) -> None:
        self._device(address).write(reg, [value])

    def read_byte_data(self, address: int, reg: int) -> int:
        return self._device(address).read(reg, 1)[0]

    def write_i2c_block_data(self, address: int, reg: int, data: Sequence[int]) -> None:
        if len(data) > 32:
            raise ValueError('SMBus block writes carry at most 32 bytes')
        self._device(address).write(reg, data)

    def read_i2c_block_data(self, address: int, reg: int, length: int) -> list[int]:
        if length > 32:
            raise ValueError('SMBus block reads carry at most 32 bytes')
        return self._device(address).read(reg, length)

    def close(self) -> None:
        self.closed = True
