"""The client against the pty emulator: exact bytes, retries, fault state, serial timeout."""

from __future__ import annotations

from helpers.processes import wait_until
import pytest

from rover_nav.hardware import roboclaw_protocol as proto
from rover_nav.hardware.roboclaw import RoboClawBus, RoboClawError, open_serial
from rover_nav.hardware.roboclaw_emulator import RoboClawEmulator
from rover_nav.hardware.roboclaw_protocol import Cmd


class ManualClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def emulator():
    emu = RoboClawEmulator((128, 129, 130))
    try:
        yield emu
    finally:
        emu.close()


@pytest.fixture
def bus(emulator):
    # generous read timeout: the emulator thread competes for a loaded CI machine's CPU
    b = RoboClawBus(open_serial(emulator.port, 115200, 0.25), (128, 129, 130), retries=2, max_failures=3)
    try:
        yield b
    finally:
        b.close()


def test_drive_sends_the_exact_packet_and_the_controller_obeys(emulator, bus):
    bus.drive_speeds(129, 1234, -567)
    frames = emulator.frames_of(Cmd.DRIVE_M1M2_SPEED)
    assert [f.raw for f in frames] == [proto.encode_write(129, Cmd.DRIVE_M1M2_SPEED, proto.speeds_payload(1234, -567))]
    assert emulator.speeds(129) == (1234, -567)
    assert emulator.speeds(128) == (0, 0)  # multi-unit: only the addressed unit acts


def test_reads_decode(emulator, bus):
    emulator.controller(128).main_battery_v = 15.3
    emulator.controller(128).status = 0x0040
    assert bus.read_main_battery(128) == pytest.approx(15.3)
    assert bus.read_status(128) == 0x0040
    assert 'emulated' in bus.read_version(130)
    assert bus.read_encoders(130) == (0, 0)


@pytest.mark.parametrize('fault, counter', [('bad_crc', 'crc_errors'), ('partial', 'partial_frames'),
                                            ('no_reply', 'timeouts'), ('garbage', 'crc_errors')])
def test_one_bad_read_reply_is_retried(emulator, bus, fault, counter):
    emulator.controller(129).main_battery_v = 12.6
    emulator.inject(fault, address=129)
    assert bus.read_main_battery(129) == pytest.approx(12.6)
    health = bus.health[129]
    assert getattr(health, counter) == 1
    assert health.retries == 1 and not health.faulted


@pytest.mark.parametrize('fault, counter', [('bad_crc', 'timeouts'), ('no_reply', 'timeouts'),
                                            ('garbage', 'bad_acks')])
def test_one_bad_write_is_retried_and_applied(emulator, bus, fault, counter):
    emulator.inject(fault, address=128)
    bus.drive_speeds(128, 10, 20)
    assert emulator.speeds(128) == (10, 20)
    assert getattr(bus.health[128], counter) == 1


def test_retry_budget_is_bounded_and_faults_after_max_failures(emulator, bus):
    emulator.inject('no_reply', count=100, address=130)
    for attempt in range(3):
        with pytest.raises(RoboClawError, match='RoboClaw 130'):
            bus.read_encoders(130)
        assert bus.health[130].faulted == (attempt == 2)
    sent_before = len(emulator.frames)
    with pytest.raises(RoboClawError, match='1 attempt'):
        bus.read_encoders(130)  # faulted: one attempt only, so a dead unit costs one timeout
    assert bus.health[130].timeouts == 3 * 3 + 1
    assert len(emulator.frames) == sent_before  # every packet to 130 was lost
    assert not bus.health[129].faulted


def test_fault_clears_when_the_controller_answers_again(emulator, bus):
    emulator.cut_link()
    for _ in range(3):
        with pytest.raises(RoboClawError):
            bus.read_status(128)
    assert bus.health[128].faulted
    emulator.cut_link(False)
    assert bus.read_status(128) == 0
    assert not bus.health[128].faulted and bus.health[128].consecutive_failures == 0


def test_a_stray_partial_frame_is_flushed_before_the_next_transaction(emulator, bus):
    emulator.inject('partial', address=128)
    bus.read_encoders(128)  # first attempt gets half a frame, retry succeeds
    assert bus.read_speeds(128) == (0, 0)  # no leftover bytes confuse the next reply
    assert bus.health[128].partial_frames == 1


def test_set_serial_timeout_reads_back(emulator, bus):
    assert bus.set_serial_timeout(128, 0.5) == pytest.approx(0.5)
    assert bus.set_serial_timeout(129, 0.37) == pytest.approx(0.3)
    assert emulator.controller(128).serial_timeout_steps == 5
    assert emulator.controller(129).serial_timeout_steps == 3


def test_set_serial_timeout_refuses_when_not_confirmed(emulator, bus):
    emulator.controller(130).ignores_serial_timeout = True  # old firmware: ACKs, keeps 0
    with pytest.raises(RoboClawError, match='reads back'):
        bus.set_serial_timeout(130, 0.5)


def test_controller_stops_itself_after_its_serial_timeout():
    clock = ManualClock()
    emu = RoboClawEmulator((128,), clock=clock)
    bus = RoboClawBus(open_serial(emu.port, 115200, 0.25), (128,))
    try:
        bus.set_serial_timeout(128, 0.5)
        bus.drive_speeds(128, 300, 300)
        last = emu.frames[-1].t
        clock.t = last + 0.45
        assert emu.speeds(128) == (300, 300)
        emu.cut_link()  # the board hung or the cable broke: nothing arrives any more
        clock.t = last + 0.55
        wait_until(lambda: emu.speeds(128) == (0, 0), 5.0, what='the controller to stop itself')
        t_stop = emu.speed_log[-1][0]
        assert t_stop == pytest.approx(last + 0.5)
        assert emu.controller(128).timeout_stops == 1
    finally:
        bus.close()
        emu.close()


class BrokenPort:
    """A serial port whose adapter was unplugged: every call raises like pyserial does."""

    timeout = 0.01

    def reset_input_buffer(self) -> None:
        raise OSError(5, 'Input/output error')

    def write(self, data: bytes) -> None:
        raise OSError(5, 'Input/output error')

    def read(self, size: int) -> bytes:
        raise OSError(5, 'Input/output error')

    def close(self) -> None:
        pass


def test_an_unplugged_adapter_is_a_link_fault_not_a_crash():
    bus = RoboClawBus(BrokenPort(), (128,), retries=1, max_failures=2)
    for _ in range(2):
        with pytest.raises(RoboClawError, match='serial port error'):
            bus.drive_speeds(128, 0, 0)
    assert bus.health[128].faulted and bus.health[128].io_errors == 4


class _UnpluggedPort:
    """What pyserial does once a USB adapter is pulled: termios.error (not an OSError) from the flush."""

    timeout = 0.02

    def reset_input_buffer(self) -> None:
        import termios

        raise termios.error(5, 'Input/output error')

    def write(self, data: bytes) -> int:
        import termios

        raise termios.error(5, 'Input/output error')

    def read(self, size: int) -> bytes:
        import termios

        raise termios.error(5, 'Input/output error')

    def close(self) -> None:
        import termios

        raise termios.error(9, 'Bad file descriptor')


def test_an_unplugged_adapter_is_a_failed_transaction_not_a_crash():
    """termios.error from reset_input_buffer/read becomes an io fault (issue 18, finding 8)."""
    bus = RoboClawBus(_UnpluggedPort(), (128,), retries=1, max_failures=2)
    for _ in range(2):
        with pytest.raises(RoboClawError, match='serial port error'):
            bus.drive_speeds(128, 0, 0)
    health = bus.health[128]
    assert health.io_errors == 4 and health.faulted  # 2 attempts per call, faulted after 2 calls
    with pytest.raises(OSError, match='close failed'):
        bus.close()


def test_position_hold_packet_holds_the_encoders_against_a_load():
    """Command 121 holds both motors at the given counts; a zero SPEED lets a loaded wheel creep."""
    clock = ManualClock()
    with RoboClawEmulator((128,), clock=clock) as emu:
        bus = RoboClawBus(open_serial(emu.port, 115200, 0.25), (128,))
        try:
            emu.controller(128).load_qpps = (40.0, -40.0)  # a slope pushing the wheels
            bus.drive_speeds(128, 0, 0)
            clock.t += 10.0
            m1, m2 = bus.read_encoders(128)
            assert (m1, m2) == (400, -400)  # the speed loop lets it creep
            bus.hold_position(128, m1, m2)
            assert [f.raw for f in emu.frames_of(Cmd.DRIVE_M1M2_POSITION)] == [
                proto.encode_write(128, Cmd.DRIVE_M1M2_POSITION, proto.position_payload(400, -400))]
            clock.t += 600.0
            assert bus.read_encoders(128) == (400, -400)
            bus.drive_speeds(128, 100, 100)  # a speed command leaves the hold
            clock.t += 1.0
            assert bus.read_encoders(128) == (500, -300)
        finally:
            bus.close()
