"""The hardware_driver's parameter schema and the resolved hardware configuration.

Hardware constants (wheel channels and directions, encoder counts per wheel revolution,
battery thresholds) have no default: they come from `rover_bringup/config/hardware.yaml`, so
the rover never drives on a made-up calibration. The geometry (wheel radius, steering limits
and rate) comes from the rover description profile, never from copied numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
from typing import Any

from rover_nav.hardware.steering import STEER_ORDER, ServoCalibration, load_calibration
from rover_nav.hardware.wheel_map import WheelMap, build_channels
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.geometry_param import geometry_for
from rover_nav.runtime.params import ConfigError, Params, ParamSpec

ROBOCLAW_BAUDS = (2400, 9600, 19200, 38400, 57600, 115200, 230400, 460800)

SPECS: tuple[ParamSpec, ...] = (
    shared.variant(shared.PROFILE, default='hobby'),
    shared.FRAME_PREFIX,
    ParamSpec('autostart', bool, False, 'Configure and activate on start-up (no lifecycle manager needed). '
              'False: wait for /hardware_driver/change_state.', read_only=True),
    shared.variant(shared.JOINT_COMMAND_TIMEOUT, read_only=True),
    shared.MAX_CLOCK_SKEW,
    shared.MAX_WHEEL_SPEED,
    ParamSpec('control_rate_hz', float, 20.0, 'Hz. Encoder read, joint_states, watchdog and zero-command rate; '
              'a stop takes at most joint_command_timeout + one period.', lo=1.0, hi=200.0, read_only=True),
    ParamSpec('roboclaw_port', str, '/dev/serial0', 'Serial device of the RoboClaw packet-serial line '
              '(/dev/roboclaw with the shipped udev rule for a USB adapter).', read_only=True),
    ParamSpec('roboclaw_baud', int, 115200, 'Baud rate set on every RoboClaw (Motion Studio, packet serial).',
              lo=2400, hi=460800, read_only=True),
    ParamSpec('roboclaw_addresses', list, [128, 129, 130], 'Packet-serial addresses of the controllers sharing '
              'the port (multi-unit mode must be enabled on each).', lo=128, hi=135, element_type=int,
              read_only=True),
    ParamSpec('park_hold', bool, True, 'With zero commanded (or stopped by the watchdog while active), hold '
              'every wheel at its encoder count with the RoboClaw position loop (command 121: a parking brake '
              'on slopes) instead of a zero speed, whose velocity loop lets a loaded wheel creep. Needs the '
              'position PID tuned in Motion Studio; false: zero speed.', read_only=True),
    ParamSpec('roboclaw_read_timeout', float, 0.02, 's to wait for one reply. A RoboClaw answers within about '
              '1 ms, but USB-serial adapters add up to their latency timer (FTDI: 16 ms unless set to 1 ms); '
              'larger values slow down fault detection.', lo=0.001, hi=0.5, read_only=True),
    ParamSpec('roboclaw_retries', int, 2, 'Retries after a bad reply (timeout, partial frame, wrong CRC) before a '
              'transaction counts as failed.', lo=0, hi=10, read_only=True),
    ParamSpec('roboclaw_max_failures', int, 3, 'Consecutive failed transactions that put a controller in the '
              'fault state (motors stopped until it answers again and fresh commands arrive).', lo=1, hi=100,
              read_only=True),
    ParamSpec('wheel_channels', list, None, "Controller channel per wheel in the order fl, ml, rl, fr, mr, rr, "
              "each 'ADDRESS:M1' or 'ADDRESS:M2' (wrong: the wrong wheel turns).", element_type=str,
              read_only=True),
    ParamSpec('wheel_directions', list, None, '+1 or -1 per wheel (fl, ml, rl, fr, mr, rr): -1 where positive '
              'motor counts roll the rover backwards (mirrored motors).', element_type=int, lo=-1, hi=1,
              read_only=True),
    ParamSpec('encoder_counts_per_rev', float, None, 'Quadrature encoder counts per WHEEL revolution (motor '
              'counts x gear ratio). Wrong: every speed and odometry distance scales by the error.',
              lo=1.0, hi=1.0e7, read_only=True),
    ParamSpec('battery_low_voltage', float, None, 'V. Filtered main battery voltage below this stops the motors '
              '(protects the cells).', lo=1.0, hi=60.0),
    ParamSpec('battery_resume_voltage', float, None, 'V. Motors may run again once the filtered voltage is back '
              'above this (hysteresis; must exceed battery_low_voltage).', lo=1.0, hi=60.0),
    ParamSpec('battery_filter_s', float, 2.0, 's time constant of the voltage low-pass filter (load sag).',
              lo=0.0, hi=60.0),
    ParamSpec('battery_period_s', float, 1.0, 's between battery/status/temperature reads and /battery messages.',
              lo=0.05, hi=60.0, read_only=True),
    ParamSpec('steering_enabled', bool, True, 'Drive the steering servos (false: bench test without the PCA9685; '
              'steering joints are then left out of joint_states).', read_only=True),
    ParamSpec('pca9685_bus', int, 1, 'I2C bus number of the PCA9685 (/dev/i2c-N).', lo=0, hi=31, read_only=True),
    ParamSpec('pca9685_address', int, 0x40, '7-bit I2C address of the PCA9685 (64 = 0x40).', lo=3, hi=119,
              read_only=True),
    ParamSpec('pca9685_frequency_hz', float, 50.0, 'Hz servo PWM frame rate (analog hobby servos: 50).',
              lo=24.0, hi=400.0, read_only=True),
    ParamSpec('pca9685_oscillator_hz', float, 25.0e6, 'Hz of the PCA9685 internal oscillator (nominal 25 MHz, '
              'real chips 23-27 MHz: measure the pulse once and set it, or every angle is off).',
              lo=20.0e6, hi=30.0e6, read_only=True),
    ParamSpec('steer_channels', list, [0, 1, 2, 3], 'PCA9685 channel per steering servo, order fl, rl, fr, rr.',
              element_type=int, lo=0, hi=15, read_only=True),
    ParamSpec('servo_calibration', str, 'servo_calibration.yaml', 'Servo calibration YAML: absolute path, or a '
              'file name in the package config folder. Pulse widths per angle for each corner servo.',
              read_only=True),
    ParamSpec('imu_enabled', bool, True, 'Read the BNO055 and publish imu (false: no IMU; the slope guard then '
              'blocks motion for lack of data).', read_only=True),
    ParamSpec('imu_bus', int, 1, 'I2C bus number of the BNO055.', lo=0, hi=31, read_only=True),
    ParamSpec('imu_address', int, 0x28, '7-bit I2C address of the BNO055 (40 = 0x28, 41 = 0x29 with ADR high).',
              lo=3, hi=119, read_only=True),
    ParamSpec('imu_mode', str, 'imuplus', 'BNO055 fusion mode: imuplus (gyro + accel, yaw relative to start, '
              'immune to motor magnetic fields) or ndof (adds the magnetometer).', choices=('imuplus', 'ndof'),
              read_only=True),
    ParamSpec('imu_rate_hz', float, 50.0, 'Hz of imu messages (the BNO055 fuses at 100 Hz).', lo=1.0, hi=100.0,
              read_only=True),
    ParamSpec('imu_axis_map', int, 0x24, 'BNO055 AXIS_MAP_CONFIG so the chip axes match imu_link (36 = 0x24 = '
              'default P1 placement).', lo=0, hi=63, read_only=True),
    ParamSpec('imu_axis_sign', int, 0x00, 'BNO055 AXIS_MAP_SIGN (bits 2..0 negate x, y, z).', lo=0, hi=7,
              read_only=True),
    ParamSpec('imu_calibration_file', str, '', 'File with 22 BNO055 offset bytes saved by `rover hw-check '
              "--save-imu-calibration`; '' = calibrate from scratch after every power-up.", read_only=True),
    ParamSpec('estop_enabled', bool, True, 'Watch the GPIO e-stop switch (false only on a bench without it).',
              read_only=True),
    ParamSpec('estop_backend', str, 'lgpio', 'GPIO library for the e-stop input.', choices=('lgpio', 'gpiozero'),
              read_only=True),
    ParamSpec('estop_gpiochip', int, 0, 'gpiochip number of the 40-pin header (0 on Pi 4 and on Pi 5 with '
              'kernels >= 6.6.45, 4 on older Pi 5 kernels).', lo=0, hi=15, read_only=True),
    ParamSpec('estop_pin', int, 17, 'BCM GPIO number of the e-stop input (normally-closed switch to ground; '
              'high = stop).', lo=0, hi=53, read_only=True),
    ParamSpec('estop_poll_hz', float, 50.0, 'Hz the e-stop input is sampled.', lo=5.0, hi=1000.0, read_only=True),
    ParamSpec('diagnostics_period_s', float, 1.0, 's between /diagnostics messages.', lo=0.1, hi=60.0,
              read_only=True),
)


@dataclass(frozen=True)
class HardwareParams(Params):
    """hardware_driver's parameter values, typed: one field per entry of SPECS."""

    profile: str
    frame_prefix: str
    autostart: bool
    joint_command_timeout: float
    max_clock_skew: float
    max_wheel_speed: float
    control_rate_hz: float
    roboclaw_port: str
    roboclaw_baud: int
    roboclaw_addresses: list[int]
    park_hold: bool
    roboclaw_read_timeout: float
    roboclaw_retries: int
    roboclaw_max_failures: int
    wheel_channels: list[str]
    wheel_directions: list[int]
    encoder_counts_per_rev: float
    battery_low_voltage: float
    battery_resume_voltage: float
    battery_filter_s: float
    battery_period_s: float
    steering_enabled: bool
    pca9685_bus: int
    pca9685_address: int
    pca9685_frequency_hz: float
    pca9685_oscillator_hz: float
    steer_channels: list[int]
    servo_calibration: str
    imu_enabled: bool
    imu_bus: int
    imu_address: int
    imu_mode: str
    imu_rate_hz: float
    imu_axis_map: int
    imu_axis_sign: int
    imu_calibration_file: str
    estop_enabled: bool
    estop_backend: str
    estop_gpiochip: int
    estop_pin: int
    estop_poll_hz: float
    diagnostics_period_s: float


def cross_check(snap: HardwareParams) -> None:
    """Rules across parameters; raises ConfigError naming the key."""
    if snap.roboclaw_baud not in ROBOCLAW_BAUDS:
        raise ConfigError(f"parameter 'roboclaw_baud' = {snap.roboclaw_baud} is not a RoboClaw rate {ROBOCLAW_BAUDS}")
    if len(set(snap.roboclaw_addresses)) != len(snap.roboclaw_addresses) or not snap.roboclaw_addresses:
        raise ConfigError(f"parameter 'roboclaw_addresses' = {snap.roboclaw_addresses} must be non-empty and unique")
    if snap.battery_resume_voltage <= snap.battery_low_voltage:
        raise ConfigError("parameter 'battery_resume_voltage' must be greater than 'battery_low_voltage'")
    if len(snap.steer_channels) != len(STEER_ORDER) or len(set(snap.steer_channels)) != len(STEER_ORDER):
        raise ConfigError(f"parameter 'steer_channels' needs {len(STEER_ORDER)} distinct channels (fl, rl, fr, rr)")
    build_channels(snap.wheel_channels, snap.wheel_directions, snap.roboclaw_addresses)
    # worst tick: every controller silent but not yet faulted: its speed write and one status read each
    # use the whole retry budget (the remaining reads of a failed controller are skipped in that tick)
    budget = len(snap.roboclaw_addresses) * 2 * (1 + snap.roboclaw_retries) * snap.roboclaw_read_timeout
    if budget >= snap.joint_command_timeout:
        raise ConfigError(f"parameter 'roboclaw_read_timeout': a worst-case tick ({budget:.3f} s of retries) "
                          f'would exceed joint_command_timeout ({snap.joint_command_timeout} s); '
                          'lower it or roboclaw_retries')


@dataclass(frozen=True)
class HardwareConfig:
    """Everything the driver core needs, resolved and checked (no rclpy)."""

    params: HardwareParams
    wheel_map: WheelMap
    servos: dict[str, ServoCalibration]
    steer_rate: float
    hard_wheel_speed: float = math.inf  # m/s, the description's rating: no parameter raises the cap above it

    @property
    def p(self) -> HardwareParams:
        return self.params

    def wheel_rad_s_cap(self, max_wheel_speed: float, wheel_radius: float) -> float:
        """rad/s: the wheel-rate cap, the parameter bounded by the hard limit."""
        return min(max_wheel_speed, self.hard_wheel_speed) / wheel_radius


def resolve_config_file(name: str, key: str) -> Path:
    """An absolute path, a path relative to the working directory, or a file in the config folder."""
    path = Path(name).expanduser()
    if path.is_absolute() or path.is_file():
        if not path.is_file():
            raise ConfigError(f"parameter '{key}': file {path} does not exist")
        return path
    from rover_description.paths import data_file

    try:
        return data_file('config', name)
    except FileNotFoundError as exc:
        raise ConfigError(f"parameter '{key}': {exc}") from exc


def load_profile_geometry(profile: str) -> Any:
    """The RoverGeometry of `profile` from the rover description (one source of truth)."""
    return geometry_for(profile)


def build_config(snap: HardwareParams, geometry: Any) -> HardwareConfig:
    """Resolve the parameters against the rover geometry; raises ConfigError naming the key."""
    channels = build_channels(snap.wheel_channels, snap.wheel_directions, snap.roboclaw_addresses)
    radius = float(geometry.wheel_radius)
    hard_limits = getattr(geometry, 'limits', None)  # hand-built test geometries may have none
    hard = float(hard_limits.wheel_speed) if hard_limits is not None else math.inf
    wheel_map = WheelMap(channels, snap.encoder_counts_per_rev, min(snap.max_wheel_speed, hard) / radius)
    limits = {}
    for name in STEER_ORDER:
        wheel = geometry.wheel(name)
        limits[name] = (float(wheel.steer_min), float(wheel.steer_max))
    servos: dict[str, ServoCalibration] = {}
    if snap.steering_enabled:
        servos = load_calibration(resolve_config_file(snap.servo_calibration, 'servo_calibration'), limits)
    rate = float(geometry.max_steer_rate)
    if not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"parameter 'profile': geometry max_steer_rate {rate} must be > 0")
    return HardwareConfig(snap, wheel_map, servos, rate, hard)


def params_from_files(paths: list[Path], node_name: str = 'hardware_driver') -> dict[str, Any]:
    """Merge the ros__parameters a node named `node_name` would get from these YAML files, in order.

    Matches the keys `/**`, `node_name`, `/node_name` and `/**/node_name` (no other wildcards), so
    `rover hw-check` and `rover board` read the same files the launch file passes.
    """
    import yaml

    keys = ('/**', node_name, f'/{node_name}', f'/**/{node_name}')
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f'cannot read parameter file {path}: {exc}') from exc
        for key in keys:
            section = data.get(key) if isinstance(data, dict) else None
            if isinstance(section, dict) and isinstance(section.get('ros__parameters'), dict):
                merged.update(section['ros__parameters'])
    return merged


def snapshot_from_values(values: dict[str, Any]) -> HardwareParams:
    """Validate a plain dict against SPECS (defaults filled in, unknown keys ignored)."""
    from rover_nav.runtime.params import validate_all

    full = {spec.name: values.get(spec.name, spec.default) for spec in SPECS}
    return validate_all(SPECS, full, HardwareParams, cross_check)
