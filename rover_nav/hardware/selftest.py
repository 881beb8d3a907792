"""`rover hw-check`: test each device of the board on its own and say how to fix what fails.

Unlike the driver (which refuses to start when anything is wrong), the self-test keeps going
after a failure so one run shows every problem. Checks: the serial port opens; each RoboClaw
answers, has no error bits, takes a serial timeout <= joint_command_timeout and sees a healthy
battery; with motion allowed, each wheel is spun gently and its encoder must count in the
commanded direction; each steering servo sweeps its calibrated range (the PCA9685 registers
are read back; watch the wheel turn); the BNO055 answers, fuses and reports its calibration;
the e-stop input reads closed.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import math
import time
from typing import Any

from rover_nav.hardware.bno055 import BNO055
from rover_nav.hardware.config import HardwareConfig
from rover_nav.hardware.devices import DeviceFactories
from rover_nav.hardware.pca9685 import PCA9685
from rover_nav.hardware.roboclaw import RoboClawBus, RoboClawError
from rover_nav.hardware.roboclaw_protocol import STATUS_ERROR_MASK, describe_status
from rover_nav.hardware.steering import STEER_ORDER
from rover_nav.hardware.wheel_map import WHEEL_ORDER

PASS, FAIL, WARN, SKIP = 'PASS', 'FAIL', 'WARN', 'SKIP'


@dataclass
class CheckResult:
    name: str
    status: str
    detail: str
    fix: str = ''


class SelfTest:
    def __init__(self, cfg: HardwareConfig, factories: DeviceFactories | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = cfg
        self.p = cfg.params
        self.factories = factories or DeviceFactories()
        self.sleep = sleep
        self.results: list[CheckResult] = []
        self.bus: RoboClawBus | None = None
        self._i2c: dict[int, Any] = {}
        self.imu_offsets: bytes | None = None  # read when the IMU reports full calibration

    def add(self, name: str, status: str, detail: str, fix: str = '') -> CheckResult:
        result = CheckResult(name, status, detail, fix)
        self.results.append(result)
        return result

    # -- runner ---------------------------------------------------------------------------------

    def run(self, motion: bool, spin_s: float = 0.5, spin_rad_s: float = 0.5) -> list[CheckResult]:
        try:
            answering = self.check_roboclaws()
            if motion and self.bus is not None:
                with self.bus.patient(0.25):  # nothing here is time-critical
                    self.check_encoders(answering, spin_s, spin_rad_s)
            elif motion:
                self.check_encoders(answering, spin_s, spin_rad_s)
            else:
                for wheel in WHEEL_ORDER:
                    self.add(f'encoder {wheel}', SKIP, 'wheels not spun', 'put the rover on a stand and run without '
                             '--no-motion')
            self.check_servos(motion)
            self.check_imu()
            self.check_estop()
        finally:
            self.close()
        return self.results

    def close(self) -> None:
        if self.bus is not None:
            for address in self.p.roboclaw_addresses:
                with contextlib.suppress(RoboClawError):
                    self.bus.stop(address)
            self.bus.close()
            self.bus = None
        for bus in self._i2c.values():
            with contextlib.suppress(OSError):
                bus.close()
        self._i2c.clear()

    def _i2c_bus(self, number: int) -> Any:
        if number not in self._i2c:
            self._i2c[number] = self.factories.i2c(number)
        return self._i2c[number]

    # -- RoboClaws ------------------------------------------------------------------------------

    def check_roboclaws(self) -> list[int]:
        p = self.p
        try:
            port = self.factories.serial(p.roboclaw_port, p.roboclaw_baud, p.roboclaw_read_timeout)
        except (OSError, ValueError) as exc:
            self.add('serial port', FAIL, f'{p.roboclaw_port}: {exc}',
                     'enable the UART (enable_uart=1, no serial console), check the udev rule, add the user to '
                     'dialout')
            for address in p.roboclaw_addresses:
                self.add(f'roboclaw {address}', SKIP, 'serial port unavailable')
            return []
        self.add('serial port', PASS, f'{p.roboclaw_port} at {p.roboclaw_baud} baud')
        self.bus = RoboClawBus(port, p.roboclaw_addresses, p.roboclaw_retries, p.roboclaw_max_failures)
        with self.bus.patient(0.25):  # nothing here is time-critical
            return self._check_each_roboclaw()

    def _check_each_roboclaw(self) -> list[int]:
        p = self.p
        assert self.bus is not None
        answering = []
        for address in p.roboclaw_addresses:
            name = f'roboclaw {address}'
            try:
                version = self.bus.read_version(address)
            except RoboClawError as exc:
                self.add(name, FAIL, f'no answer ({exc})', 'check power, TX/RX crossed, packet-serial mode, address '
                         f'{address}, {p.roboclaw_baud} baud and multi-unit mode (Basicmicro Motion Studio)')
                continue
            try:
                timeout = self.bus.set_serial_timeout(address, p.joint_command_timeout)
                self.bus.stop(address)
                volts = self.bus.read_main_battery(address)
                status = self.bus.read_status(address)
            except (RoboClawError, ValueError) as exc:
                self.add(name, FAIL, f'{version}: {exc}', 'update the RoboClaw firmware (serial timeout command) '
                         'and check the wiring; the driver refuses to drive without it')
                continue
            answering.append(address)
            detail = f'{version}; battery {volts:.1f} V; serial timeout {timeout:.1f} s'
            if status & STATUS_ERROR_MASK:
                self.add(name, FAIL, f'{detail}; errors: {", ".join(describe_status(status))}',
                         'clear the cause (see the RoboClaw manual, status bits) and power-cycle the controller')
            elif volts < p.battery_low_voltage:
                self.add(name, FAIL, f'{detail}; battery below {p.battery_low_voltage} V', 'charge the battery')
            elif status:
                self.add(name, WARN, f'{detail}; warnings: {", ".join(describe_status(status))}')
            else:
                self.add(name, PASS, detail)
        return answering

    def check_encoders(self, answering: list[int], spin_s: float, spin_rad_s: float) -> None:
        wheel_map = self.cfg.wheel_map
        rad_s = min(abs(spin_rad_s), wheel_map.max_wheel_rad_s)
        for wheel in WHEEL_ORDER:
            channel = wheel_map.channels[wheel]
            name = f'encoder {wheel}'
            if self.bus is None or channel.address not in answering:
                self.add(name, SKIP, f'RoboClaw {channel.address} not answering')
                continue
            qpps = wheel_map.qpps(wheel, rad_s)
            speeds = [0, 0]
            speeds[channel.motor - 1] = qpps
            try:
                before = self.bus.read_encoders(channel.address)[channel.motor - 1]
                self.bus.drive_speeds(channel.address, *speeds)
                self.sleep(spin_s)
                after = self.bus.read_encoders(channel.address)[channel.motor - 1]
            except RoboClawError as exc:
                self.add(name, FAIL, str(exc), 'check the serial link')
                continue
            finally:
                with contextlib.suppress(RoboClawError):
                    self.bus.stop(channel.address)
            delta = after - before
            expected = qpps * spin_s
            where = f'{channel.address}:M{channel.motor}'
            if abs(delta) < 0.3 * abs(expected):
                self.add(name, FAIL, f'{where}: {delta} counts, expected about {expected:.0f}',
                         'encoder not counting or motor not turning: check motor power (e-stop mushroom), the '
                         'motor and encoder cables, and the PID/QPPS settings of the RoboClaw')
            elif (delta > 0) != (expected > 0):
                self.add(name, FAIL, f'{where}: {delta} counts, expected about {expected:.0f} (reversed)',
                         f'encoder counts against the motor: swap encoder A/B of {where} (or the motor leads); '
                         'then check wheel_directions so the wheel rolls forward')
            else:
                self.add(name, PASS, f'{where}: {delta} counts in {spin_s:.1f} s (expected ~{expected:.0f}); '
                         'it must have rolled the rover FORWARD (else flip its wheel_directions entry)')

    # -- steering -------------------------------------------------------------------------------

    def check_servos(self, motion: bool) -> None:
        p = self.p
        if not p.steering_enabled:
            for corner in STEER_ORDER:
                self.add(f'servo {corner}', SKIP, 'steering_enabled is false')
            return
        try:
            pca = PCA9685(self._i2c_bus(p.pca9685_bus), p.pca9685_address, p.pca9685_oscillator_hz,
                          sleep=self.factories.sleep)
            frequency = pca.configure(p.pca9685_frequency_hz)
        except (OSError, ImportError, ValueError) as exc:
            for corner in STEER_ORDER:
                self.add(f'servo {corner}', FAIL, f'PCA9685 0x{p.pca9685_address:02x} on bus {p.pca9685_bus}: {exc}',
                         'enable I2C, check SDA/SCL/power, find the address with i2cdetect -y 1')
            return
        channels = dict(zip(STEER_ORDER, p.steer_channels, strict=True))
        for corner in STEER_ORDER:
            servo = self.cfg.servos[corner]
            channel = channels[corner]
            sweep = [0.0, servo.min_angle, servo.max_angle, 0.0] if motion else [0.0]
            worst = 0.0
            try:
                for angle in sweep:
                    pulse = servo.pulse_us(angle)
                    pca.set_pulse_us(channel, pulse)
                    worst = max(worst, abs(pca.read_pulse_us(channel) - pulse))
                    if motion:
                        self.factories.sleep(0.6)  # time to see the wheel move (no wait when emulated)
            except OSError as exc:
                self.add(f'servo {corner}', FAIL, f'channel {channel}: {exc}', 'check the I2C wiring')
                continue
            resolution = 1e6 / frequency / 4096
            if worst > resolution:
                self.add(f'servo {corner}', FAIL, f'channel {channel}: pulse read back off by {worst:.1f} us',
                         'another process drives the PCA9685, or the board resets: check its power')
            elif motion:
                self.add(f'servo {corner}', PASS, f'channel {channel}: swept {math.degrees(servo.min_angle):.0f}..'
                         f'{math.degrees(servo.max_angle):.0f} deg and back to neutral '
                         f'({servo.neutral_us:.0f} us); watch that the wheel turned and returned straight')
            else:
                self.add(f'servo {corner}', PASS, f'channel {channel}: neutral {servo.neutral_us:.0f} us set')

    # -- IMU, e-stop ----------------------------------------------------------------------------

    def check_imu(self) -> None:
        p = self.p
        if not p.imu_enabled:
            self.add('imu', SKIP, 'imu_enabled is false')
            return
        try:
            imu = BNO055(self._i2c_bus(p.imu_bus), p.imu_address, sleep=self.factories.sleep)
            imu.begin(p.imu_mode, p.imu_axis_map, p.imu_axis_sign)
            sample = imu.read()
            cal = imu.calibration()
        except (OSError, ImportError) as exc:
            self.add('imu', FAIL, f'BNO055 0x{p.imu_address:02x} on bus {p.imu_bus}: {exc}',
                     'check wiring and address (ADR pin), and lower the I2C clock for its clock stretching '
                     '(dtparam=i2c_arm_baudrate=10000)')
            return
        if cal.calibrated(p.imu_mode):
            try:
                self.imu_offsets = imu.read_offsets()
            except OSError:
                self.imu_offsets = None
        imu.close()
        accel = math.sqrt(sum(a * a for a in sample.linear_acceleration))
        detail = (f'{p.imu_mode}; |a| = {accel:.2f} m/s^2; calibration sys/gyro/accel/mag = '
                  f'{cal.system}/{cal.gyro}/{cal.accel}/{cal.mag}')
        if not 0.5 < accel < 20.0:
            self.add('imu', FAIL, detail, 'the accelerometer reads no gravity: the fusion is not running or the chip '
                     'is damaged')
        elif not cal.calibrated(p.imu_mode):
            self.add('imu', WARN, detail, 'not calibrated yet: keep it still for a few seconds (gyro), then place it '
                     'in six orientations (accel); save with --save-imu-calibration FILE')
        else:
            self.add('imu', PASS, detail)

    def check_estop(self) -> None:
        p = self.p
        if not p.estop_enabled:
            self.add('e-stop', SKIP, 'estop_enabled is false')
            return
        try:
            pin = self.factories.estop_pin(p.estop_backend, p.estop_gpiochip, p.estop_pin)
        except Exception as exc:  # EstopUnavailableError or a backend error
            self.add('e-stop', FAIL, f'GPIO {p.estop_pin}: {exc}', 'install the GPIO library and check estop_gpiochip')
            return
        try:
            high = pin.is_high()
        finally:
            pin.close()
        if high:
            self.add('e-stop', FAIL, f'GPIO {p.estop_pin} reads HIGH: switch open (pressed) or wire cut',
                     'release the e-stop; check the normally-closed contact is wired between the GPIO and GND')
        else:
            self.add('e-stop', PASS, f'GPIO {p.estop_pin} reads LOW: switch closed (press it and re-run: must FAIL)')


def format_table(results: list[CheckResult]) -> str:
    """A fixed-width table: CHECK, RESULT, DETAIL, and a FIX line under each failure or warning."""
    width = max([len('CHECK')] + [len(r.name) for r in results])
    lines = [f'{"CHECK":<{width}}  RESULT  DETAIL', f'{"-" * width}  ------  ------']
    for r in results:
        lines.append(f'{r.name:<{width}}  {r.status:<6}  {r.detail}')
        if r.fix and r.status in (FAIL, WARN):
            lines.append(f'{"":<{width}}  {"":<6}  fix: {r.fix}')
    counts = {s: sum(r.status == s for r in results) for s in (PASS, WARN, FAIL, SKIP)}
    lines.append('')
    lines.append(' '.join(f'{k.lower()} {v}' for k, v in counts.items()))
    return '\n'.join(lines)
