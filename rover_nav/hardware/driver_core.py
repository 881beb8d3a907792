"""Everything `hardware_driver` does, without ROS: devices, commands, readings, watchdog.

The node shell converts messages and calls these methods with the node clock (`now`, s):

* `open()` / `close()` (lifecycle configure / cleanup): open the serial line and set every
  RoboClaw's own serial timeout to <= joint_command_timeout (or refuse: HardwareError), configure the
  PCA9685 and put the servos at neutral, start the BNO055, claim the e-stop pin.
* `activate()` / `deactivate()`: allow / forbid motion (deactivate stops and centres).
* `command(now, JointCommand)`: store the targets and, when the watchdog allows, send them at
  once (event driven, so the hardware follows the drive controller without waiting a tick).
* `tick(now)`: the control period: e-stop, battery and status reads, fault bookkeeping, wheel
  speeds (or zeros), steering, encoder and speed reads -> joint readings and events.
* `poll_estop(now)`: sample the GPIO switch (faster timer); a trip stops the motors directly.
"""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
from dataclasses import dataclass, field, replace
import math
from pathlib import Path
from typing import Any

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS
from rover_nav.hardware.battery import BatteryMonitor
from rover_nav.hardware.bno055 import BNO055, OFFSETS_LEN, CalibrationStatus, ImuSample
from rover_nav.hardware.config import HardwareConfig, HardwareParams, resolve_config_file
from rover_nav.hardware.devices import DeviceFactories
from rover_nav.hardware.estop import EstopLatch
from rover_nav.hardware.pca9685 import PCA9685
from rover_nav.hardware.roboclaw import SERIAL_IO_ERRORS, RoboClawBus, RoboClawError
from rover_nav.hardware.roboclaw_protocol import STATUS_ERROR_MASK, describe_status
from rover_nav.hardware.steering import STEER_ORDER, SteeringModel
from rover_nav.hardware.wheel_map import WHEEL_ORDER, EncoderTracker, WheelMap
from rover_nav.runtime.params import ConfigError
from rover_nav.runtime.watchdog import Decision, Watchdog

OK, WARN, ERROR, STALE = 0, 1, 2, 3
JOINT_TO_WHEEL = {f'wheel_{n}_joint': n for n in WHEEL_ORDER}
JOINT_TO_STEER = {f'steer_{n}_joint': n for n in STEER_ORDER}
IMU_FAULT_AFTER = 5  # consecutive failed IMU reads before the IMU counts as failed
STARTUP_READ_TIMEOUT_S = 0.25  # s per reply during configure (not time-critical)


class HardwareError(RuntimeError):
    """A device could not be opened or configured; the message says which and how to fix it."""


@dataclass(frozen=True)
class JointCommand:
    """Commanded wheel speeds (rad/s) and steering angles (rad) by corner name; absent = not commanded."""

    wheel_rad_s: dict[str, float]
    steer_rad: dict[str, float]


def parse_joint_command(names: Sequence[str], positions: Sequence[float],
                        velocities: Sequence[float]) -> JointCommand:
    """Read a /joint_commands JointState (ROVER_SPEC section 3); raises ValueError when malformed.

    Wheels take `velocity` (rad/s), steering joints `position` (rad); NaN = not commanded; an
    infinite value, or arrays whose length is neither 0 nor len(names), reject the message.
    """
    n = len(names)
    if len(positions) not in (0, n) or len(velocities) not in (0, n):
        raise ValueError(f'{n} names but {len(positions)} positions and {len(velocities)} velocities')
    wheels: dict[str, float] = {}
    steer: dict[str, float] = {}
    for i, name in enumerate(names):
        if name in JOINT_TO_WHEEL and velocities:
            value = float(velocities[i])
            if math.isinf(value):
                raise ValueError(f'{name}: velocity {value}')
            if not math.isnan(value):
                wheels[JOINT_TO_WHEEL[name]] = value
        elif name in JOINT_TO_STEER and positions:
            value = float(positions[i])
            if math.isinf(value):
                raise ValueError(f'{name}: position {value}')
            if not math.isnan(value):
                steer[JOINT_TO_STEER[name]] = value
    return JointCommand(wheels, steer)


@dataclass
class JointReading:
    names: list[str] = field(default_factory=list)
    positions: list[float] = field(default_factory=list)
    velocities: list[float] = field(default_factory=list)


@dataclass
class TickReport:
    decision: Decision
    joints: JointReading
    events: list[tuple[str, str]]


@dataclass
class DiagnosticItem:
    level: int
    name: str
    message: str
    values: dict[str, Any]


class DriverCore:
    def __init__(self, cfg: HardwareConfig, factories: DeviceFactories | None = None) -> None:
        self.cfg = cfg
        self.factories = factories or DeviceFactories()
        p = cfg.params
        self.watchdog = Watchdog(p.joint_command_timeout)
        self.battery = BatteryMonitor(p.battery_low_voltage, p.battery_resume_voltage, p.battery_filter_s)
        self.estop = EstopLatch()
        self.encoders = EncoderTracker()
        self.steer_models = {n: SteeringModel(cfg.steer_rate) for n in cfg.servos}
        self.wheel_targets: dict[str, float] = {}
        self.steer_targets: dict[str, float] = {n: 0.0 for n in cfg.servos}
        self.bus: RoboClawBus | None = None
        self.pca: PCA9685 | None = None
        self.imu: BNO055 | None = None
        self.pin: Any = None
        self._i2c: list[Any] = []  # one bus handle per device: the IMU is read from its own thread
        self.active = False
        self.versions: dict[int, str] = {}
        self.serial_timeouts: dict[int, float] = {}
        self.status_words: dict[int, int] = {}
        self.temperatures: dict[int, float] = {}
        self.battery_volts: float | None = None
        self.imu_calibration: CalibrationStatus | None = None
        self.imu_failures = 0
        self.imu_errors = 0
        self.pca_errors = 0
        self.estop_read_errors = 0
        self.rejected_commands = 0
        self.scaled_commands = 0
        self.sent: dict[int, tuple[int, int]] = {}
        self.holding: dict[int, tuple[int, int]] = {}  # address -> encoder counts held (park_hold)
        self._servo_sent: dict[str, float] = {}
        self._last_slow_t = -math.inf
        self._last_calibration_t = -math.inf
        self._last_tick_t: float | None = None
        self._was_allowed = False
        self._prev_faults: frozenset[str] = frozenset()
        self.watchdog.raise_fault(0.0, 'inactive')

    # -- configuration ----------------------------------------------------------------------

    @property
    def p(self) -> HardwareParams:
        return self.cfg.params

    @property
    def wheel_map(self) -> WheelMap:
        return self.cfg.wheel_map

    def update_params(self, snap: HardwareParams, wheel_radius: float) -> None:
        """Apply a runtime parameter change (speed limit, battery thresholds)."""
        wheel_map = replace(self.cfg.wheel_map,
                            max_wheel_rad_s=self.cfg.wheel_rad_s_cap(snap.max_wheel_speed, wheel_radius))
        self.cfg = replace(self.cfg, params=snap, wheel_map=wheel_map)
        self.battery.low_v = snap.battery_low_voltage
        self.battery.resume_v = snap.battery_resume_voltage
        self.battery.tau_s = snap.battery_filter_s

    # -- lifecycle ----------------------------------------------------------------------------

    def _open_i2c(self, number: int) -> Any:
        """A bus handle of its own for one device.

        smbus2 selects the device address with one ioctl and transfers with the next, so two
        threads sharing one handle could talk to the wrong chip; separate handles cannot.
        """
        try:
            bus = self.factories.i2c(number)
        except (OSError, ImportError) as exc:
            raise HardwareError(f'cannot open I2C bus {number} (/dev/i2c-{number}): {exc}; enable I2C '
                                '(raspi-config or dtparam=i2c_arm=on) and add the user to the i2c group') from exc
        self._i2c.append(bus)
        return bus

    def open(self) -> None:
        """Open and configure every enabled device; raises HardwareError (everything closed again)."""
        try:
            self._open_roboclaws()
            if self.p.steering_enabled:
                self._open_steering()
            if self.p.imu_enabled:
                self._open_imu()
            if self.p.estop_enabled:
                self._open_estop()
        except HardwareError:
            self.close()
            raise

    def _open_roboclaws(self) -> None:
        p = self.p
        try:
            port = self.factories.serial(p.roboclaw_port, p.roboclaw_baud, p.roboclaw_read_timeout)
        except (OSError, ValueError) as exc:
            raise HardwareError(f'cannot open the RoboClaw port {p.roboclaw_port}: {exc} (enable the UART, check '
                                'the udev rule and that the user is in the dialout group)') from exc
        self.bus = RoboClawBus(port, p.roboclaw_addresses, p.roboclaw_retries, p.roboclaw_max_failures)
        with self.bus.patient(STARTUP_READ_TIMEOUT_S):  # a controller may be slow right after power-up
            for address in p.roboclaw_addresses:
                self._handshake(address)

    def _handshake(self, address: int) -> None:
        """Check one controller answers, set its serial timeout (or refuse to drive), stop it."""
        p = self.p
        assert self.bus is not None
        try:
            self.versions[address] = self.bus.read_version(address)
        except RoboClawError as exc:
            raise HardwareError(f'RoboClaw {address} does not answer on {p.roboclaw_port} at {p.roboclaw_baud} '
                                f'baud ({exc}): check power, wiring, packet-serial mode, address and baud rate, '
                                'and that multi-unit mode is on when controllers share the line') from exc
        try:
            self.serial_timeouts[address] = self.bus.set_serial_timeout(address, p.joint_command_timeout)
            self.bus.stop(address)
        except (RoboClawError, ValueError) as exc:
            raise HardwareError(f'RoboClaw {address}: cannot set its serial timeout to <= {p.joint_command_timeout} s '
                                f'({exc}): refusing to drive, because nothing would stop the motors if this board '
                                'hung') from exc
        self.sent[address] = (0, 0)

    def _open_steering(self) -> None:
        p = self.p
        bus = self._open_i2c(p.pca9685_bus)
        self.pca = PCA9685(bus, p.pca9685_address, p.pca9685_oscillator_hz, sleep=self.factories.sleep)
        try:
            self.pca.configure(p.pca9685_frequency_hz)
            self.neutral_steering()
        except OSError as exc:
            self.pca = None
            raise HardwareError(f'PCA9685 at 0x{p.pca9685_address:02x} on I2C bus {p.pca9685_bus}: {exc} (check wiring '
                                'and address with i2cdetect -y 1, or set steering_enabled: false on a bench)') from exc

    def _open_imu(self) -> None:
        p = self.p
        offsets = None
        if p.imu_calibration_file:
            path = resolve_config_file(p.imu_calibration_file, 'imu_calibration_file')
            offsets = read_imu_offsets(path)
        imu = BNO055(self._open_i2c(p.imu_bus), p.imu_address, sleep=self.factories.sleep)
        try:
            imu.begin(p.imu_mode, p.imu_axis_map, p.imu_axis_sign, offsets)
        except OSError as exc:
            raise HardwareError(f'BNO055 at 0x{p.imu_address:02x} on I2C bus {p.imu_bus}: {exc} (lower the I2C clock '
                                'for its clock stretching, or set imu_enabled: false)') from exc
        self.imu = imu

    def _open_estop(self) -> None:
        p = self.p
        try:
            self.pin = self.factories.estop_pin(p.estop_backend, p.estop_gpiochip, p.estop_pin)
        except Exception as exc:  # EstopUnavailableError or a backend's own error type
            raise HardwareError(f'e-stop input GPIO {p.estop_pin}: {exc}') from exc

    def close(self) -> None:
        """Stop the motors, centre the servos and release every device (best effort)."""
        self.active = False
        self.stop_motors()
        if self.pca is not None:
            with contextlib.suppress(OSError):
                self.neutral_steering()
        if self.imu is not None:
            self.imu.close()
        if self.pin is not None:
            self.pin.close()
        if self.bus is not None:
            with contextlib.suppress(*SERIAL_IO_ERRORS):
                self.bus.close()
        for bus in self._i2c:
            with contextlib.suppress(OSError):
                bus.close()
        self.bus, self.pca, self.imu, self.pin = None, None, None, None
        self._i2c.clear()

    def activate(self, now: float) -> None:
        """Allow motion; the motors still wait for a fresh command after this moment."""
        self.active = True
        self._last_tick_t = now  # the steering model integrates from here
        self.watchdog.clear_fault(now, 'inactive')

    def deactivate(self, now: float) -> None:
        self.active = False
        self.watchdog.raise_fault(now, 'inactive')
        self.stop_motors()
        if self.pca is not None:
            try:
                self.neutral_steering()
            except OSError:
                self.pca_errors += 1

    # -- commands -------------------------------------------------------------------------------

    def command(self, now: float, cmd: JointCommand) -> Decision:
        """Take new targets; drive them at once when allowed. Returns the watchdog decision."""
        self.wheel_targets = dict(cmd.wheel_rad_s)
        for corner, angle in cmd.steer_rad.items():
            if corner in self.cfg.servos:
                self.steer_targets[corner] = self.cfg.servos[corner].clamp(angle)
        self.watchdog.command(now)
        decision = self.watchdog.decide(now)
        if decision.allowed:
            self._drive_targets()
            self._send_steering()
        return decision

    def _drive_targets(self) -> set[int]:
        """Send the wheel targets; returns the addresses whose write failed.

        All-zero targets park the wheels (`park`): a zero speed is no brake on a slope.
        """
        limited, factor = self.wheel_map.limit(self.wheel_targets)
        if factor < 1.0:
            self.scaled_commands += 1
        speeds = self.wheel_map.controller_speeds(limited)
        if self.p.park_hold and all(s == (0, 0) for s in speeds.values()):
            return self.park()
        return self._send_speeds(speeds)

    def park(self) -> set[int]:
        """Hold every wheel where it is (RoboClaw position loop); returns the addresses that failed.

        The counts are read once, when a controller enters the hold, and re-sent every period (a
        controller reset or a lost packet then re-arms it). A controller whose encoders cannot be
        read gets a zero speed instead. Any speed command leaves the hold.
        """
        if not self.p.park_hold:
            return self.stop_motors()
        failed: set[int] = set()
        if self.bus is None:
            return failed
        for address in self.p.roboclaw_addresses:
            try:
                if address not in self.holding:
                    self.holding[address] = self.bus.read_encoders(address)
                self.bus.hold_position(address, *self.holding[address])
                self.sent[address] = (0, 0)
            except RoboClawError:
                self.holding.pop(address, None)
                failed |= self._send_speeds({address: (0, 0)})
                failed.add(address)
        return failed

    def _send_speeds(self, speeds: dict[int, tuple[int, int]]) -> set[int]:
        failed: set[int] = set()
        if self.bus is None:
            return failed
        for address, (m1, m2) in speeds.items():
            self.holding.pop(address, None)
            try:
                self.bus.drive_speeds(address, m1, m2)
                self.sent[address] = (m1, m2)
            except RoboClawError:
                failed.add(address)
        return failed

    def stop_motors(self) -> set[int]:
        """Zero speed to every controller now (best effort); returns the addresses that failed."""
        return self._send_speeds({a: (0, 0) for a in self.p.roboclaw_addresses})

    def neutral_steering(self) -> None:
        for corner in self.cfg.servos:
            self.steer_targets[corner] = 0.0
        self._send_steering(force=True)

    def _send_steering(self, force: bool = False) -> None:
        if self.pca is None:
            return
        channels = dict(zip(STEER_ORDER, self.p.steer_channels, strict=True))
        for corner, servo in self.cfg.servos.items():
            pulse = servo.pulse_us(self.steer_targets[corner])
            if force or self._servo_sent.get(corner) != pulse:
                self.pca.set_pulse_us(channels[corner], pulse)
                self._servo_sent[corner] = pulse
                self.steer_models[corner].command(self.steer_targets[corner])

    # -- e-stop ---------------------------------------------------------------------------------

    def poll_estop(self, now: float) -> bool:
        """Sample the switch; returns True when it newly latched the stop (motors already stopped)."""
        if self.pin is None:
            return False
        try:
            high = bool(self.pin.is_high())
        except Exception:  # an unreadable input is treated as pressed: fail safe
            self.estop_read_errors += 1
            high = True
        if self.estop.switch(high):
            self.watchdog.raise_fault(now, 'estop')
            self.stop_motors()
            return True
        return False

    def trip_estop(self, now: float, source: str) -> bool:
        """An e-stop from elsewhere (/estop true); returns True when newly latched."""
        new = self.estop.trip(source)
        self.watchdog.raise_fault(now, 'estop')
        self.stop_motors()
        return new

    def reset_estop(self, now: float) -> tuple[bool, str]:
        if self.pin is not None:
            self.poll_estop(now)
        ok, message = self.estop.reset()
        if ok:
            self.watchdog.clear_fault(now, 'estop')
        return ok, message

    # -- the control period ---------------------------------------------------------------------

    def tick(self, now: float) -> TickReport:
        dt = 0.0 if self._last_tick_t is None else max(0.0, now - self._last_tick_t)
        self._last_tick_t = now
        events: list[tuple[str, str]] = []
        if self.poll_estop(now):
            events.append(('estop', 'e-stop switch open (pressed or wire cut)'))
        if now - self._last_slow_t >= self.p.battery_period_s:
            self._last_slow_t = now
            self._slow_reads(now)
        self._update_faults(now)
        decision = self.watchdog.decide(now)
        failed: set[int] = set()
        if decision.allowed:
            failed = self._drive_targets()
            try:
                self._send_steering()
                self.watchdog.clear_fault(now, 'pca9685')
            except OSError:
                self.pca_errors += 1
                self.watchdog.raise_fault(now, 'pca9685')
        else:  # stopped by the watchdog: parked while active (the e-stop already sent a zero speed)
            failed = self.park() if self.active else self.stop_motors()
        for model in self.steer_models.values():
            model.advance(dt)
        joints = self._read_joints(skip=failed)
        self._update_faults(now)
        decision = self.watchdog.decide(now)
        events += self._transition_events(decision)
        return TickReport(decision, joints, events)

    def _update_faults(self, now: float) -> None:
        if self.bus is not None:
            for address, health in self.bus.health.items():
                name = f'roboclaw_{address}'
                (self.watchdog.raise_fault if health.faulted else self.watchdog.clear_fault)(now, name)
        for address, status in self.status_words.items():
            name = f'roboclaw_{address}_status'
            bad = status & STATUS_ERROR_MASK
            (self.watchdog.raise_fault if bad else self.watchdog.clear_fault)(now, name)
        (self.watchdog.raise_fault if self.battery.low else self.watchdog.clear_fault)(now, 'battery_low')

    def _slow_reads(self, now: float) -> None:
        """Battery voltage, status word and temperature of every answering controller."""
        if self.bus is None:
            return
        volts = []
        for address in self.p.roboclaw_addresses:
            try:
                volts.append(self.bus.read_main_battery(address))
                self.status_words[address] = self.bus.read_status(address)
                self.temperatures[address] = self.bus.read_temperature(address)
            except RoboClawError:
                continue
        if volts:
            self.battery_volts = min(volts)
            self.battery.update(now, self.battery_volts)

    def _read_joints(self, skip: set[int]) -> JointReading:
        reading = JointReading()
        values: dict[str, tuple[float, float]] = {}
        if self.bus is not None:
            by_address: dict[int, list[str]] = {}
            for wheel, channel in self.wheel_map.channels.items():
                by_address.setdefault(channel.address, []).append(wheel)
            for address, wheels in by_address.items():
                if address in skip:
                    continue
                try:
                    counts = self.bus.read_encoders(address)
                    qpps = self.bus.read_speeds(address)
                except RoboClawError:
                    continue
                for wheel in wheels:
                    motor = self.wheel_map.channels[wheel].motor - 1
                    total = self.encoders.update(wheel, counts[motor])
                    values[wheel] = (self.wheel_map.wheel_rad(wheel, total),
                                     self.wheel_map.wheel_rad_s(wheel, qpps[motor]))
        for wheel, joint in zip(WHEEL_ORDER, WHEEL_JOINTS, strict=True):
            if wheel in values:
                reading.names.append(joint)
                reading.positions.append(values[wheel][0])
                reading.velocities.append(values[wheel][1])
        for corner, joint in zip(STEER_ORDER, STEER_JOINTS, strict=True):
            if corner in self.steer_models:
                reading.names.append(joint)
                reading.positions.append(self.steer_models[corner].angle)
                reading.velocities.append(self.steer_models[corner].velocity)
        return reading

    def _transition_events(self, decision: Decision) -> list[tuple[str, str]]:
        events = []
        faults = self.watchdog.faults - {'inactive'}
        for fault in sorted(faults - self._prev_faults):
            if fault == 'estop':
                continue  # reported where it latched
            kind = 'battery_low' if fault == 'battery_low' else 'hardware_fault'
            events.append((kind, f'{fault}: {self.fault_detail(fault)}; motors stopped'))
        for fault in sorted(self._prev_faults - faults):
            events.append(('hardware_recovered', f'{fault} cleared; waiting for a fresh command'))
        if self._was_allowed and not decision.allowed and 'command_timeout' in decision.reasons:
            timeout = self.p.joint_command_timeout
            events.append(('command_timeout', f'no joint_commands for {timeout} s: motors stopped'))
        self._prev_faults = faults
        self._was_allowed = decision.allowed
        return events

    def fault_detail(self, fault: str) -> str:
        if fault.startswith('roboclaw_') and fault.endswith('_status'):
            address = int(fault.split('_')[1])
            return ', '.join(describe_status(self.status_words.get(address, 0))) or 'status error'
        if fault.startswith('roboclaw_') and self.bus is not None:
            address = int(fault.split('_')[1])
            return self.bus.health[address].last_error or 'serial link failed'
        if fault == 'battery_low':
            return f'battery {self.battery.voltage:.2f} V < {self.p.battery_low_voltage} V'
        if fault == 'pca9685':
            return 'steering servo board not answering'
        return fault

    # -- IMU ------------------------------------------------------------------------------------

    def read_imu(self, now: float) -> ImuSample | None:
        """One IMU sample, or None when the read failed (counted; see diagnostics).

        Also refreshes the calibration status once per second. Only this method touches the
        BNO055, so it may run in its own thread (a slow, clock-stretching I2C bus then never
        delays the motor loop).
        """
        imu = self.imu  # local: deactivate may close it from the other thread
        if imu is None:
            return None
        try:
            if now - self._last_calibration_t >= 1.0:
                self._last_calibration_t = now
                self.imu_calibration = imu.calibration()
            sample = imu.read()
        except (OSError, ValueError, TypeError):  # bus error, or closed under us during cleanup
            self.imu_errors += 1
            self.imu_failures += 1
            return None
        if not all(math.isfinite(v) for v in (*sample.orientation, *sample.angular_velocity,
                                               *sample.linear_acceleration)):
            self.imu_failures += 1
            return None
        norm = math.sqrt(sum(q * q for q in sample.orientation))
        if norm < 0.5:  # all-zero quaternion: fusion not running yet
            self.imu_failures += 1
            return None
        self.imu_failures = 0
        q = tuple(c / norm for c in sample.orientation)
        return ImuSample(q, sample.angular_velocity, sample.linear_acceleration)  # type: ignore[arg-type]

    # -- diagnostics ----------------------------------------------------------------------------

    def diagnostics(self, now: float) -> list[DiagnosticItem]:
        items = []
        decision = self.watchdog.decide(now)
        faults = sorted(self.watchdog.faults - {'inactive'})
        if faults:
            level, message = ERROR, 'motors stopped: ' + ', '.join(f'{f} ({self.fault_detail(f)})' for f in faults)
        elif not self.active:
            level, message = OK, 'inactive (lifecycle): motors disabled'
        elif decision.allowed:
            level, message = OK, 'driving'
        else:
            level, message = OK, 'stopped: ' + ', '.join(decision.reasons)
        items.append(DiagnosticItem(level, 'watchdog', message, {
            'reasons': ','.join(decision.reasons), 'command_timeout_s': self.p.joint_command_timeout,
            'rejected_commands': self.rejected_commands, 'scaled_commands': self.scaled_commands}))
        if self.bus is not None:
            for address, health in self.bus.health.items():
                status = self.status_words.get(address, 0)
                flags = describe_status(status)
                if health.faulted:
                    level, message = ERROR, f'not answering: {health.last_error}'
                elif status & STATUS_ERROR_MASK:
                    level, message = ERROR, 'controller error: ' + ', '.join(flags)
                elif status:
                    level, message = WARN, 'warning: ' + ', '.join(flags)
                else:
                    level, message = OK, 'ok'
                values = dict(health.as_dict())
                values.update({'firmware': self.versions.get(address, ''),
                               'serial_timeout_s': self.serial_timeouts.get(address, float('nan')),
                               'commanded_qpps': self.sent.get(address, (0, 0)),
                               'parked_at_counts': self.holding.get(address, ''),
                               'temperature_c': self.temperatures.get(address, float('nan')),
                               'status': f'0x{status:08x}'})
                items.append(DiagnosticItem(level, f'roboclaw {address}', message, values))
        if self.battery.voltage is None:
            items.append(DiagnosticItem(WARN, 'battery', 'no reading yet', {}))
        else:
            items.append(DiagnosticItem(ERROR if self.battery.low else OK, 'battery',
                                        'LOW: motors stopped' if self.battery.low else 'ok',
                                        {'filtered_v': round(self.battery.voltage, 2), 'last_v': self.battery_volts,
                                         'low_v': self.battery.low_v, 'resume_v': self.battery.resume_v}))
        if not self.p.steering_enabled:
            items.append(DiagnosticItem(OK, 'steering', 'disabled (steering_enabled: false)', {}))
        else:
            values = {'feedback': 'MODELLED: servos have no feedback; reported angles are a slew-rate model',
                      'rate_rad_s': self.cfg.steer_rate, 'i2c_errors': self.pca_errors}
            for corner, model in self.steer_models.items():
                values[f'{corner}_target_rad'] = round(self.steer_targets[corner], 4)
                values[f'{corner}_modelled_rad'] = round(model.angle, 4)
            failing = 'pca9685' in self.watchdog.faults or self.pca is None
            items.append(DiagnosticItem(ERROR if failing else OK, 'steering',
                                        'PCA9685 not answering' if failing else 'ok (angles modelled, no feedback)',
                                        values))
        if not self.p.imu_enabled:
            items.append(DiagnosticItem(OK, 'imu', 'disabled (imu_enabled: false)', {}))
        else:
            cal = self.imu_calibration
            values = {'mode': self.p.imu_mode, 'read_errors': self.imu_errors}
            if cal is not None:
                values.update({f'calibration_{k}': v for k, v in cal.as_dict().items()})
            if self.imu is None or self.imu_failures >= IMU_FAULT_AFTER:
                level, message = ERROR, 'BNO055 not delivering data'
            elif cal is None or not cal.calibrated(self.p.imu_mode):
                level, message = WARN, 'not fully calibrated: move the rover gently (figure eight) until 3/3'
            else:
                level, message = OK, 'calibrated'
            items.append(DiagnosticItem(level, 'imu', message, values))
        if not self.p.estop_enabled:
            items.append(DiagnosticItem(WARN, 'estop', 'GPIO e-stop input disabled (estop_enabled: false)', {}))
        else:
            items.append(DiagnosticItem(ERROR if self.estop.latched else OK, 'estop',
                                        f'LATCHED by {self.estop.source}' if self.estop.latched else 'ok',
                                        {'switch_high': self.estop.switch_high, 'read_errors': self.estop_read_errors}))
        return items


def read_imu_offsets(path: Path) -> bytes:
    """22 BNO055 offset bytes from a file written by `rover hw-check --save-imu-calibration`."""
    text = Path(path).read_text().split()
    try:
        data = bytes(int(tok, 16) for tok in text)
    except ValueError as exc:
        raise ConfigError(f"parameter 'imu_calibration_file': {path} must hold {OFFSETS_LEN} hex bytes") from exc
    if len(data) != OFFSETS_LEN:
        raise ConfigError(f"parameter 'imu_calibration_file': {path} holds {len(data)} bytes, "
                          f'expected {OFFSETS_LEN}')
    return data


def write_imu_offsets(path: Path, data: bytes) -> None:
    Path(path).write_text(' '.join(f'{b:02x}' for b in data) + '\n')
