"""`rover hw-check`: self-test the real rover board and print a pass/fail table with fixes.

Reads the same parameter files the board bringup uses (rover.yaml + hardware.yaml by default),
then checks the serial port, each RoboClaw, each encoder (wheels spin gently: rover on a stand),
each steering servo (sweeps), the BNO055 and the e-stop input. `--emulate` runs the same checks
against the pty RoboClaw emulator and fake I2C devices, to try it without hardware. Exit code 0
when nothing failed, 1 otherwise, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--params', action='append', type=Path, metavar='FILE',
                        help='ROS parameter file(s), applied in order (default: config/rover.yaml then '
                             'config/hardware.yaml)')
    parser.add_argument('--port', help='override roboclaw_port (e.g. /dev/roboclaw)')
    parser.add_argument('--emulate', action='store_true',
                        help='use the RoboClaw emulator and fake I2C/GPIO devices instead of the board')
    parser.add_argument('--no-motion', action='store_true', help='do not spin wheels or sweep servos')
    parser.add_argument('--yes', action='store_true', help='do not ask before moving wheels and servos')
    parser.add_argument('--spin-seconds', type=float, default=0.5, help='seconds each wheel turns (default 0.5)')
    parser.add_argument('--spin-speed', type=float, default=0.5,
                        help='wheel speed for the encoder check in rad/s (default 0.5, capped by max_wheel_speed)')
    parser.add_argument('--save-imu-calibration', type=Path, metavar='FILE',
                        help='when the IMU is fully calibrated, save its 22 offset bytes to FILE '
                             '(then set imu_calibration_file to it)')
    parser.add_argument('--servo', choices=('fl', 'rl', 'fr', 'rr'),
                        help='calibration helper: output --pulse on this servo until Enter, then neutral')
    parser.add_argument('--pulse', type=float, default=1500.0, help='pulse width in us for --servo (default 1500)')


def _load(args: argparse.Namespace):
    from rover_description.paths import data_file
    from rover_nav.hardware.config import build_config, load_profile_geometry, params_from_files, snapshot_from_values

    files = args.params or [data_file('config', 'rover.yaml'), data_file('config', 'hardware.yaml')]
    values = params_from_files(files)
    if args.port:
        values['roboclaw_port'] = args.port
    snap = snapshot_from_values(values)
    return build_config(snap, load_profile_geometry(snap.profile))


def _confirm(args: argparse.Namespace) -> bool:
    if args.no_motion:
        return False
    if args.yes or args.emulate:
        return True
    if not sys.stdin.isatty():
        print('wheels and servos would move: pass --yes (rover on a stand) or --no-motion', file=sys.stderr)
        return False
    answer = input('Wheels will spin and servos sweep. Is the rover on a stand, wheels free? [y/N] ')
    return answer.strip().lower() in ('y', 'yes')


def _servo_helper(cfg, factories, args: argparse.Namespace) -> int:
    from rover_nav.hardware.pca9685 import PCA9685
    from rover_nav.hardware.steering import STEER_ORDER

    p = cfg.params
    channel = dict(zip(STEER_ORDER, p.steer_channels, strict=True))[args.servo]
    bus = factories.i2c(p.pca9685_bus)
    try:
        pca = PCA9685(bus, p.pca9685_address, p.pca9685_oscillator_hz, sleep=factories.sleep)
        pca.configure(p.pca9685_frequency_hz)
        pca.set_pulse_us(channel, args.pulse)
        print(f'servo {args.servo} (channel {channel}): {pca.read_pulse_us(channel):.0f} us. '
              'Note the wheel angle for the calibration file.')
        if sys.stdin.isatty() and not args.emulate:
            input('Enter to return to neutral... ')
        neutral = cfg.servos[args.servo].neutral_us if args.servo in cfg.servos else 1500.0
        pca.set_pulse_us(channel, neutral)
    finally:
        bus.close()
    return 0


def run(args: argparse.Namespace) -> int:
    from rover_nav.hardware.devices import DeviceFactories, Emulation
    from rover_nav.hardware.driver_core import write_imu_offsets
    from rover_nav.hardware.selftest import FAIL, SelfTest, format_table
    from rover_nav.runtime.params import ConfigError

    try:
        cfg = _load(args)
    except ConfigError as exc:
        print(f'configuration error: {exc}', file=sys.stderr)
        return 2
    emulation = None
    if args.emulate:
        emulation = Emulation(cfg.params.roboclaw_addresses, cfg.params.pca9685_address, cfg.params.imu_address)
        cfg = replace(cfg, params=cfg.params.replace(roboclaw_port=emulation.emulator.port))
    try:
        factories = emulation.factories() if emulation else DeviceFactories()
        if args.servo:
            return _servo_helper(cfg, factories, args)
        motion = _confirm(args)
        where = 'EMULATED board (pty RoboClaws, fake I2C and GPIO)' if emulation else cfg.params.roboclaw_port
        print(f'rover hw-check: {where}; profile {cfg.params.profile}; motion {"on" if motion else "off"}')
        test = SelfTest(cfg, factories)
        results = test.run(motion, args.spin_seconds, args.spin_speed)
        print(format_table(results))
        if args.save_imu_calibration:
            if test.imu_offsets is not None:
                write_imu_offsets(args.save_imu_calibration, test.imu_offsets)
                print(f'IMU offsets saved to {args.save_imu_calibration}')
            else:
                print('IMU not fully calibrated: offsets NOT saved', file=sys.stderr)
        return 1 if any(r.status == FAIL for r in results) else 0
    finally:
        if emulation is not None:
            emulation.close()
