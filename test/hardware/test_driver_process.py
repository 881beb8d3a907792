"""hardware_driver as a process: exit 2 naming a missing hardware constant or a value above the hard
limit; autostart against the pty emulator, drive, then SIGINT -> exit 0 with the motors stopped by the driver itself."""

from __future__ import annotations

import math

from helpers.processes import NodeProcess, wait_until
import pytest
import yaml

from rover_description.paths import data_file
from rover_nav.hardware.roboclaw_emulator import RoboClawEmulator
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros

MODULE = 'rover_nav.hardware.driver_node'


def test_missing_hardware_constants_exit_2_naming_the_key(tmp_path):
    proc = NodeProcess.module(MODULE, ['--ros-args', '--params-file', str(data_file('config', 'rover.yaml'))],
                              tmp_path / 'driver.log')
    try:
        wait_until(lambda: not proc.alive(), 60.0, what='hardware_driver to exit')
    finally:
        code = proc.stop()
    assert code == 2
    assert "parameter 'wheel_channels'" in proc.output()


def test_a_wheel_speed_above_the_hard_limit_exits_2_naming_key_and_limit(tmp_path):
    args = ['--ros-args', '--params-file', str(data_file('config', 'rover.yaml')), '--params-file',
            str(data_file('config', 'hardware.yaml')), '-p', 'max_wheel_speed:=0.5']
    proc = NodeProcess.module(MODULE, args, tmp_path / 'driver.log')
    try:
        wait_until(lambda: not proc.alive(), 60.0, what='hardware_driver to exit')
    finally:
        code = proc.stop()
    assert code == 2, proc.output()
    assert "'max_wheel_speed' = 0.5 is above the hard limit 0.24 (rover description, profile 'hobby')" in proc.output()


def test_autostart_drive_and_sigint_stops_the_motors(tmp_path, probe):
    from sensor_msgs.msg import JointState

    emu = RoboClawEmulator((128, 129, 130))
    overrides = tmp_path / 'bench.yaml'
    overrides.write_text(yaml.safe_dump({'/**/hardware_driver': {'ros__parameters': {
        'roboclaw_port': emu.port, 'steering_enabled': False, 'imu_enabled': False, 'estop_enabled': False}}}))
    args = ['--ros-args', '-r', '__ns:=/hw_proc']
    for path in (data_file('config', 'rover.yaml'), data_file('config', 'hardware.yaml'), overrides):
        args += ['--params-file', str(path)]
    proc = NodeProcess.module(MODULE, args, tmp_path / 'driver.log')
    try:
        pub = probe.publisher('/hw_proc/joint_commands', JointState, qos.COMMAND)
        names = [f'wheel_{n}_joint' for n in ('fl', 'ml', 'rl', 'fr', 'mr', 'rr')]

        def moving() -> bool:
            return all(emu.speeds(a) != (0, 0) for a in (128, 129, 130))

        probe.wait_for_subscribers(pub, timeout_s=60.0)
        probe.publish_for(pub, lambda: JointState(name=names, velocity=[0.3] * 6, position=[math.nan] * 6),
                          60.0, rate_hz=20, until=moving)
        assert moving(), proc.output()
        assert all(emu.controller(a).serial_timeout_steps == 5 for a in (128, 129, 130))
        code = proc.stop()
        # the driver's last bytes may still be in the pty when it exits: let the emulator read them
        # (if no zero was sent, its serial timeout stops the motors instead: timeout_stops below)
        wait_until(lambda: all(emu.speeds(a) == (0, 0) for a in (128, 129, 130)), 10.0, what='motors stopped')
    finally:
        proc.stop()
        emu.close()
    assert code == 0, proc.output()
    assert all(emu.speeds(a) == (0, 0) for a in (128, 129, 130))
    assert all(emu.controller(a).timeout_stops == 0 for a in (128, 129, 130))  # stopped by the driver's hook
