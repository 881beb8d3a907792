"""`rover hw-check`: the table against the emulators (CLI process and in-process with faults)."""

from __future__ import annotations

import subprocess
import sys

from hardware.board_fixtures import make_config
import pytest
import yaml

from rover_description.paths import data_file
from rover_nav.hardware.driver_core import read_imu_offsets
from rover_nav.hardware.roboclaw_emulator import RoboClawEmulator
from rover_nav.hardware.selftest import FAIL, PASS, SKIP, WARN, SelfTest, format_table


def rover(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'rover_bringup.cli', *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_emulated_board_passes_and_prints_the_table(tmp_path):
    offsets = tmp_path / 'bno.txt'
    out = rover('hw-check', '--emulate', '--save-imu-calibration', str(offsets))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ['CHECK', 'RESULT', 'DETAIL']
    for name in ('serial port', 'roboclaw 128', 'roboclaw 129', 'roboclaw 130', 'encoder fl', 'encoder rr',
                 'servo fl', 'servo rr', 'imu', 'e-stop'):
        assert any(line.startswith(name) and ' PASS ' in line for line in lines), name
    assert 'pass 16 warn 0 fail 0 skip 0' in out.stdout
    assert len(read_imu_offsets(offsets)) == 22


def test_cli_against_an_emulator_on_its_pty(tmp_path):
    emu = RoboClawEmulator((128, 129, 130))
    emu.controller(129).main_battery_v = 11.0
    params = tmp_path / 'bench.yaml'
    params.write_text(yaml.safe_dump({'/**/hardware_driver': {'ros__parameters': {
        'steering_enabled': False, 'imu_enabled': False, 'estop_enabled': False}}}))
    try:
        out = rover('hw-check', '--port', emu.port, '--no-motion', '--params', str(data_file('config', 'rover.yaml')),
                    '--params', str(data_file('config', 'hardware.yaml')), '--params', str(params))
    finally:
        emu.close()
    assert out.returncode == 1, out.stdout + out.stderr
    assert emu.controller(128).serial_timeout_steps == 5  # the check set the real timeout
    table = {line.split()[0] + ' ' + line.split()[1]: line for line in out.stdout.splitlines()
             if line.startswith(('roboclaw', 'encoder'))}
    assert ' PASS ' in table['roboclaw 128']
    assert ' FAIL ' in table['roboclaw 129'] and 'battery below 13.2 V' in table['roboclaw 129']
    assert ' SKIP ' in table['encoder fl']
    assert 'fix: charge the battery' in out.stdout


def test_bad_configuration_exits_2():
    out = rover('hw-check', '--emulate', '--params', str(data_file('config', 'rover.yaml')))
    assert out.returncode == 2
    assert "'wheel_channels'" in out.stderr


@pytest.fixture
def faulty(emulation):
    emulation.emulator.controller(130).stuck_encoders.add(2)  # fl encoder unplugged
    emulation.emulator.controller(128).status = 0x0001  # its e-stop input is active
    emulation.imu.set_calibration(0, 3, 1, 0)
    emulation.pin.high = True
    return emulation


def test_each_failure_is_reported_with_a_fix(faulty):
    results = SelfTest(make_config(), faulty.factories()).run(motion=True, spin_s=0.2)
    status = {r.name: r for r in results}
    assert status['encoder fl'].status == FAIL and 'not counting' in status['encoder fl'].fix
    assert status['encoder ml'].status == PASS
    assert status['roboclaw 128'].status == FAIL and 'e-stop input' in status['roboclaw 128'].detail
    assert status['imu'].status == WARN
    assert status['e-stop'].status == FAIL and 'HIGH' in status['e-stop'].detail
    assert status['servo fl'].status == PASS
    table = format_table(results)
    assert 'fix: release the e-stop' in table
    assert all(s == (0, 0) for s in (faulty.emulator.speeds(a) for a in (128, 129, 130)))  # left stopped


def test_missing_devices(emulation):
    emulation.pca.fail = True
    emulation.imu.fail = True
    results = SelfTest(make_config(roboclaw_addresses=[128, 129, 131], wheel_channels=[
        '128:M1', '128:M2', '129:M1', '129:M2', '131:M1', '131:M2']), emulation.factories()).run(motion=False)
    status = {r.name: r.status for r in results}
    assert status['roboclaw 131'] == FAIL and status['roboclaw 128'] == PASS
    assert status['encoder mr'] == SKIP
    assert status['servo fl'] == FAIL and status['imu'] == FAIL
