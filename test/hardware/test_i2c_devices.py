"""PCA9685 and BNO055 drivers against register-level fakes."""

from __future__ import annotations

import pytest

from rover_nav.hardware import bno055, pca9685
from rover_nav.hardware.bno055 import BNO055, BNO055Error
from rover_nav.hardware.i2c_fakes import FakeBNO055, FakePCA9685, FakeSMBus
from rover_nav.hardware.pca9685 import PCA9685


def no_sleep(_s: float) -> None:
    pass


@pytest.fixture
def pwm():
    chip = FakePCA9685()
    return chip, PCA9685(FakeSMBus({0x40: chip}), 0x40, sleep=no_sleep)


def test_pca9685_prescale_for_50_hz(pwm):
    chip, driver = pwm
    actual = driver.configure(50.0)
    assert chip.prescale == 121  # round(25e6 / (4096 * 50)) - 1
    assert actual == pytest.approx(25e6 / (4096 * 122))
    assert chip.ignored_prescale_writes == 0  # written while asleep
    assert chip.awake
    mode1 = chip.writes_to(pca9685.MODE1)
    assert mode1[0][0] & pca9685.MODE1_SLEEP  # sleep first...
    assert mode1[-1][0] & pca9685.MODE1_RESTART and mode1[-1][0] & pca9685.MODE1_AI  # ...then restart, AI on
    assert chip.writes_to(pca9685.MODE2) == [bytes([pca9685.MODE2_OUTDRV])]


def test_fake_catches_prescale_written_while_awake():
    chip = FakePCA9685()
    bus = FakeSMBus({0x40: chip})
    bus.write_byte_data(0x40, pca9685.MODE1, pca9685.MODE1_AI)  # awake
    bus.write_byte_data(0x40, pca9685.PRE_SCALE, 121)
    assert chip.ignored_prescale_writes == 1 and chip.prescale == 0x1E


@pytest.mark.parametrize('channel, pulse', [(0, 1500.0), (3, 1000.0), (15, 2000.0)])
def test_pca9685_pulse_registers(pwm, channel, pulse):
    chip, driver = pwm
    driver.configure(50.0)
    off = driver.set_pulse_us(channel, pulse)
    base = pca9685.LED0_ON_L + 4 * channel
    assert chip.writes_to(base)[-1] == bytes([0, 0, off & 0xFF, off >> 8])
    assert off == round(pulse * 1e-6 * driver.frequency_hz * 4096)
    assert chip.pulse_us(channel) == pytest.approx(pulse, abs=1e6 / driver.frequency_hz / 4096)
    assert driver.read_pulse_us(channel) == pytest.approx(chip.pulse_us(channel))


def test_pca9685_full_off_and_guards(pwm):
    chip, driver = pwm
    with pytest.raises(pca9685.PCA9685Error, match='configure'):
        driver.set_pulse_us(0, 1500)
    driver.configure(50.0)
    driver.set_pulse_us(2, 1500)
    driver.channel_off(2)
    assert chip.pulse_us(2) == 0.0
    with pytest.raises(ValueError):
        driver.set_pulse_us(16, 1500)


def test_pca9685_missing_board_raises_oserror():
    driver = PCA9685(FakeSMBus({}), 0x40, sleep=no_sleep)
    with pytest.raises(OSError):
        driver.configure(50.0)


@pytest.mark.parametrize('frequency', [1.0, 5000.0])
def test_prescale_range(frequency):
    with pytest.raises(ValueError):
        pca9685.prescale_for(frequency)


# -- BNO055 ---------------------------------------------------------------------------------------

@pytest.fixture
def imu():
    chip = FakeBNO055()
    return chip, BNO055(FakeSMBus({0x28: chip}), 0x28, sleep=no_sleep)


def test_bno055_begin_sequence(imu):
    chip, driver = imu
    offsets = bytes(range(1, 23))
    driver.begin('imuplus', axis_map=0x21, axis_sign=0x04, offsets=offsets)
    regs = [r for r, _ in chip.writes]
    assert regs[0] == bno055.OPR_MODE and chip.writes[0][1] == bytes([bno055.MODE_CONFIG])
    assert regs[-1] == bno055.OPR_MODE and chip.writes[-1][1] == bytes([bno055.MODE_IMUPLUS])
    assert chip.registers[bno055.UNIT_SEL] == 0x06  # m/s^2, rad/s
    assert chip.registers[bno055.AXIS_MAP_CONFIG] == 0x21 and chip.registers[bno055.AXIS_MAP_SIGN] == 0x04
    assert bytes(chip.registers[bno055.OFFSETS:bno055.OFFSETS + 22]) == offsets
    assert chip.rejected_offset_writes == 0  # written in CONFIG mode
    assert chip.mode == bno055.MODE_IMUPLUS


def test_bno055_ndof_mode(imu):
    chip, driver = imu
    driver.begin('ndof')
    assert chip.mode == bno055.MODE_NDOF


def test_bno055_sample_units(imu):
    chip, driver = imu
    driver.begin('imuplus')
    chip.set_motion((0.9238795, 0.0, 0.3826834, 0.0), (0.1, -0.2, 0.3), (-3.5, 0.0, 8.9))
    sample = driver.read()
    assert sample.orientation == pytest.approx((0.9238795, 0.0, 0.3826834, 0.0), abs=1e-4)
    assert sample.angular_velocity == pytest.approx((0.1, -0.2, 0.3), abs=2e-3)
    assert sample.linear_acceleration == pytest.approx((-3.5, 0.0, 8.9), abs=0.01)


def test_bno055_calibration_register(imu):
    chip, driver = imu
    driver.begin('imuplus')
    chip.set_calibration(0, 3, 2, 1)
    cal = driver.calibration()
    assert cal.as_dict() == {'system': 0, 'gyro': 3, 'accel': 2, 'mag': 1}
    assert not cal.calibrated('imuplus')
    chip.set_calibration(0, 3, 3, 0)
    assert driver.calibration().calibrated('imuplus') and not driver.calibration().calibrated('ndof')


def test_bno055_read_offsets_round_trip(imu):
    chip, driver = imu
    driver.begin('imuplus', offsets=bytes(range(22)))
    assert driver.read_offsets() == bytes(range(22))
    assert chip.mode == bno055.MODE_IMUPLUS  # back in fusion mode afterwards


def test_bno055_wrong_chip_id():
    chip = FakeBNO055()
    chip.registers[bno055.CHIP_ID] = 0x00
    with pytest.raises(BNO055Error, match='chip id'):
        BNO055(FakeSMBus({0x28: chip}), 0x28, sleep=no_sleep).begin()


def test_bno055_absent():
    with pytest.raises(BNO055Error):
        BNO055(FakeSMBus({}), 0x28, sleep=no_sleep).begin()


def test_bno055_bad_offsets_length(imu):
    _, driver = imu
    with pytest.raises(ValueError, match='22'):
        driver.begin('imuplus', offsets=b'\x00' * 5)
