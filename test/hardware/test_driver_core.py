"""DriverCore against the emulated board (pty RoboClaws, I2C fakes, fake e-stop pin), explicit times.

The emulator runs on a hand-driven clock too: on its default wall clock, a loaded machine that held
this process for 0.5 s between two calls fired the emulated controllers' own serial timeout and
stopped the motors behind the test's back (a flake under load).
"""

from __future__ import annotations

from hardware.board_fixtures import make_config
import pytest

from rover_nav.hardware import roboclaw_protocol as proto
from rover_nav.hardware.driver_core import DriverCore, HardwareError, JointCommand, read_imu_offsets
from rover_nav.hardware.roboclaw_protocol import Cmd
from rover_nav.runtime.params import ConfigError

ALL = ('fl', 'ml', 'rl', 'fr', 'mr', 'rr')


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def emulation():
    """The board emulation on a clock that only the test moves (overrides conftest's wall-clock one)."""
    from rover_nav.hardware.devices import Emulation
    from rover_nav.hardware.roboclaw_emulator import RoboClawEmulator

    clock = ManualClock()
    emu = Emulation(emulator=RoboClawEmulator((128, 129, 130), clock=clock))
    emu.clock = clock
    try:
        yield emu
    finally:
        emu.close()


@pytest.fixture
def core(emulation):
    c = DriverCore(make_config(), emulation.factories())
    c.open()
    try:
        yield c
    finally:
        c.close()


def forward(rad_s: float = 0.5, steer: float | None = None) -> JointCommand:
    angles = {} if steer is None else {n: steer for n in ('fl', 'rl', 'fr', 'rr')}
    return JointCommand({w: rad_s for w in ALL}, angles)


def speeds(emulation):
    return {a: emulation.emulator.speeds(a) for a in (128, 129, 130)}


def test_configure_sets_every_serial_timeout_and_starts_safe(core, emulation):
    for address in (128, 129, 130):
        assert emulation.emulator.controller(address).serial_timeout_steps == 5  # 0.5 s joint_command_timeout
        assert core.serial_timeouts[address] == pytest.approx(0.5)
    assert all(s == (0, 0) for s in speeds(emulation).values())
    for channel in range(4):
        assert emulation.pca.pulse_us(channel) == pytest.approx(1500, abs=5)  # neutral
    assert emulation.imu.mode == 0x08


def test_refuses_to_drive_when_a_controller_keeps_no_serial_timeout(emulation):
    emulation.emulator.controller(129).ignores_serial_timeout = True
    core = DriverCore(make_config(), emulation.factories())
    with pytest.raises(HardwareError, match='RoboClaw 129.*refusing to drive'):
        core.open()
    assert core.bus is None  # everything closed again


def test_missing_controller_is_reported_with_a_fix(emulation):
    core = DriverCore(make_config(roboclaw_addresses=[128, 129, 131],
                                  wheel_channels=['128:M1', '128:M2', '129:M1', '129:M2', '131:M1', '131:M2']),
                      emulation.factories())
    with pytest.raises(HardwareError, match='RoboClaw 131 does not answer.*multi-unit'):
        core.open()


def test_inactive_driver_ignores_commands(core, emulation):
    core.command(1.0, forward())
    assert all(s == (0, 0) for s in speeds(emulation).values())


def test_joint_commands_become_the_right_bytes(core, emulation):
    core.activate(1.0)
    before = len(emulation.emulator.frames_of(Cmd.DRIVE_M1M2_SPEED))
    core.command(1.1, JointCommand({'fl': 0.5, 'ml': 0.4, 'rl': 0.3, 'fr': 0.2, 'mr': 0.1, 'rr': -0.1}, {}))
    cpr = 3591.84 / (2 * 3.141592653589793)
    expect = {130: (round(0.4 * cpr), round(0.5 * cpr)),  # 130:M1 = ml, 130:M2 = fl
              129: (round(0.1 * cpr), round(0.3 * cpr)),  # 129:M1 = rr (mirrored), 129:M2 = rl
              128: (round(-0.2 * cpr), round(-0.1 * cpr))}  # 128:M1 = fr, 128:M2 = mr, both mirrored
    frames = emulation.emulator.frames_of(Cmd.DRIVE_M1M2_SPEED)[before:]
    assert sorted(f.raw for f in frames) == sorted(
        proto.encode_write(a, Cmd.DRIVE_M1M2_SPEED, proto.speeds_payload(*s)) for a, s in expect.items())
    assert speeds(emulation) == expect


def test_over_speed_scales_all_wheels_together(core, emulation):
    core.activate(1.0)
    core.command(1.1, JointCommand({'fl': 4.0, 'fr': 2.0}, {}))  # limit = 0.08 / 0.075 rad/s
    m1, m2 = emulation.emulator.speeds(130)
    f1, _ = emulation.emulator.speeds(128)
    assert m2 == round(0.08 / 0.075 * 3591.84 / (2 * 3.141592653589793))
    assert -f1 == pytest.approx(m2 / 2, abs=1)
    assert core.scaled_commands == 1


def test_command_timeout_stops_within_one_period(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward())
    period = 0.05
    t = 1.0
    stopped_at = None
    while t < 2.0 and stopped_at is None:
        t = round(t + period, 6)
        report = core.tick(t)
        if all(s == (0, 0) for s in speeds(emulation).values()):
            stopped_at = t
            assert ('command_timeout', 'no joint_commands for 0.5 s: motors stopped') in report.events
    assert stopped_at is not None and 1.0 + 0.5 < stopped_at <= 1.0 + 0.5 + period
    core.command(t + 0.01, forward())  # a fresh command drives again
    assert emulation.emulator.speeds(130) != (0, 0)


def test_recovers_from_a_bad_frame_without_stopping(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward())
    emulation.emulator.inject('bad_crc', address=129)
    emulation.emulator.inject('partial', address=128)
    report = core.tick(1.05)
    assert report.decision.allowed and report.events == []
    assert all(s != (0, 0) for s in speeds(emulation).values())
    assert core.bus.health[129].crc_errors + core.bus.health[129].timeouts >= 1


def test_dead_link_faults_stops_and_needs_fresh_command(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward())
    emulation.emulator.cut_link()
    t, events = 1.0, []
    for _ in range(3):
        t += 0.05
        core.command(t, forward())  # the drive keeps commanding; the link is dead
        events += core.tick(t).events
    assert any(kind == 'hardware_fault' and 'roboclaw_' in detail for kind, detail in events)
    assert not core.watchdog.decide(t).allowed
    emulation.emulator.cut_link(False)
    t += 0.05
    report = core.tick(t)  # the controllers answer again: fault gone, but no fresh command yet
    assert ('hardware_recovered' in [k for k, _ in report.events])
    assert report.decision.reasons == ('waiting_for_fresh_command',)
    assert all(s == (0, 0) for s in speeds(emulation).values())
    core.command(t + 0.01, forward())
    assert all(s != (0, 0) for s in speeds(emulation).values())


def test_controller_error_bits_stop_everything(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward())
    emulation.emulator.controller(129).status = 0x0040  # M1 driver fault
    report = core.tick(1.05)  # first tick does the slow reads
    assert not report.decision.allowed and 'roboclaw_129_status' in report.decision.reasons
    assert any('M1 driver fault' in d for _, d in report.events)
    assert all(s == (0, 0) for s in speeds(emulation).values())


def test_low_battery_stops(emulation):
    core = DriverCore(make_config(battery_filter_s=0.0), emulation.factories())
    core.open()
    try:
        core.activate(1.0)
        core.command(1.0, forward())
        for address in (128, 129, 130):
            emulation.emulator.controller(address).main_battery_v = 12.9
        report = core.tick(1.05)
        assert 'battery_low' in report.decision.reasons
        assert ('battery_low' in [k for k, _ in report.events])
        assert all(s == (0, 0) for s in speeds(emulation).values())
    finally:
        core.close()


def test_gpio_estop_stops_latches_and_resets(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward())
    emulation.pin.high = True
    assert core.poll_estop(1.01)
    assert all(s == (0, 0) for s in speeds(emulation).values())
    core.command(1.02, forward())
    assert all(s == (0, 0) for s in speeds(emulation).values())
    assert core.reset_estop(1.03)[0] is False  # still pressed
    emulation.pin.high = False
    core.command(1.04, forward())
    assert all(s == (0, 0) for s in speeds(emulation).values())  # released but latched
    assert core.reset_estop(1.05)[0] is True
    core.command(1.06, forward())
    assert all(s != (0, 0) for s in speeds(emulation).values())


def test_unreadable_estop_pin_counts_as_pressed(core, emulation):
    def broken() -> bool:
        raise OSError('gpio gone')

    emulation.pin.is_high = broken
    assert core.poll_estop(1.0)
    assert core.estop.latched and core.estop_read_errors == 1


def test_joint_readings_follow_the_wheels(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward(0.5, steer=0.3))
    report = core.tick(1.05)
    names = report.joints.names
    assert names[:6] == [f'wheel_{w}_joint' for w in ALL]
    assert names[6:] == ['steer_fl_joint', 'steer_rl_joint', 'steer_fr_joint', 'steer_rr_joint']
    for velocity in report.joints.velocities[:6]:
        assert velocity == pytest.approx(0.5, abs=0.01)  # mirrored right side reads forward too
    for angle in report.joints.positions[6:]:
        assert angle == pytest.approx(0.05 * 4.0)  # slew-rate model: 4 rad/s for 0.05 s
    assert emulation.pca.pulse_us(0) == pytest.approx(1500 + 500 * 0.3 / 0.7853981634, abs=5)


def test_disabled_devices_are_not_opened(emulation):
    core = DriverCore(make_config(steering_enabled=False, imu_enabled=False, estop_enabled=False),
                      emulation.factories())
    core.open()
    try:
        assert core.pca is None and core.imu is None and core.pin is None
        assert emulation.buses == {}
        core.activate(1.0)
        assert all(n.startswith('wheel_') for n in core.tick(1.0).joints.names)
    finally:
        core.close()


def test_missing_pca9685_fails_configure_with_a_fix(emulation):
    emulation.pca.fail = True
    core = DriverCore(make_config(), emulation.factories())
    with pytest.raises(HardwareError, match='PCA9685.*steering_enabled'):
        core.open()


def test_imu_sample_and_diagnostics(core, emulation):
    emulation.imu.set_motion((1.5, 0.0, 0.0, 0.0))  # not unit length: normalised on output
    emulation.imu.set_calibration(0, 3, 1, 0)
    sample = core.read_imu(1.0)
    assert sample is not None and sample.orientation == pytest.approx((1.0, 0.0, 0.0, 0.0))
    core.activate(1.0)
    core.tick(1.0)
    diags = {d.name: d for d in core.diagnostics(1.0)}
    assert diags['imu'].level == 1 and 'calibrat' in diags['imu'].message
    assert 'MODELLED' in diags['steering'].values['feedback']
    assert diags['roboclaw 128'].values['serial_timeout_s'] == pytest.approx(0.5)


def test_close_stops_and_centres(core, emulation):
    core.activate(1.0)
    core.command(1.0, forward(0.5, steer=0.3))
    core.close()
    assert all(s == (0, 0) for s in speeds(emulation).values())
    assert emulation.pca.pulse_us(0) == pytest.approx(1500, abs=5)


def test_imu_offsets_file(tmp_path):
    path = tmp_path / 'bno.txt'
    path.write_text(' '.join(f'{b:02x}' for b in range(22)))
    assert read_imu_offsets(path) == bytes(range(22))
    path.write_text('00 01')
    with pytest.raises(ConfigError, match='imu_calibration_file'):
        read_imu_offsets(path)


def test_failing_imu_is_reported_not_published(core, emulation):
    emulation.imu.fail = True
    assert all(core.read_imu(1.0 + i) is None for i in range(5))
    diags = {d.name: d for d in core.diagnostics(6.0)}
    assert diags['imu'].level == 2 and 'not delivering' in diags['imu'].message
    emulation.imu.fail = False
    assert core.read_imu(7.0) is not None
    assert {d.name: d for d in core.diagnostics(7.0)}['imu'].level == 0


def _encoders(emulation):
    emulation.emulator.all_stopped()  # brings the emulated encoders up to the clock
    return {a: tuple(round(e) for e in emulation.emulator.controller(a).enc) for a in (128, 129, 130)}


def _park_on_a_slope(core, emulation) -> None:
    """Drive, then command zero, on a slope that pushes every wheel (emulated load)."""
    for address in (128, 129, 130):
        emulation.emulator.controller(address).load_qpps = (25.0, -25.0)
    core.activate(1.0)
    core.command(1.0, forward())
    core.tick(1.05)
    core.command(1.1, forward(0.0))  # zero commanded: parked


def test_zero_command_holds_the_wheels_against_a_slope(core, emulation):
    """Item 3 (hardware half): with zero commanded the RoboClaws hold position (command 121)."""
    _park_on_a_slope(core, emulation)
    held = _encoders(emulation)
    assert core.holding and all(emulation.emulator.controller(a).hold is not None for a in (128, 129, 130))
    t = 1.1
    for _ in range(200):  # 10 s of 20 Hz ticks, still commanding zero
        t = round(t + 0.05, 6)
        core.command(t, forward(0.0))
        core.tick(t)
    emulation.clock.t += 600.0  # ten minutes parked
    assert _encoders(emulation) == held
    assert all(s == (0, 0) for s in speeds(emulation).values())
    core.command(t + 0.05, forward(0.5))  # a drive command releases the hold
    assert not core.holding and all(s != (0, 0) for s in speeds(emulation).values())


def test_stale_commands_also_park_while_active(core, emulation):
    """The chain went quiet (command timeout): still parked, not free to creep."""
    _park_on_a_slope(core, emulation)
    core.command(1.1, forward())  # moving again...
    t = 1.1
    while t < 2.0:  # ...then no more commands: the watchdog stops and parks
        t = round(t + 0.05, 6)
        core.tick(t)
    held = _encoders(emulation)
    emulation.clock.t += 600.0
    assert _encoders(emulation) == held


def test_without_park_hold_a_zero_speed_creeps(emulation):
    """The control case: park_hold false sends zero speeds, and the emulated load moves the wheels."""
    core = DriverCore(make_config(park_hold=False), emulation.factories())
    core.open()
    try:
        _park_on_a_slope(core, emulation)
        held = _encoders(emulation)
        emulation.clock.t += 600.0
        assert _encoders(emulation) != held
        assert not core.holding
    finally:
        core.close()
