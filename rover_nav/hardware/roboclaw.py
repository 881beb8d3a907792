"""RoboClaw packet-serial client over one serial port shared by several controllers.

Every transaction flushes stale input, sends one packet and checks the reply (ACK byte for
writes, CRC for reads). A bad reply (timeout, partial frame, wrong CRC, wrong ACK) is retried up
to `retries` times; `max_failures` consecutive failed transactions put that controller in the
fault state (reported, and the driver stops the motors) until it answers correctly again. A
faulted controller gets a single attempt per transaction, so a dead link costs at most one read
timeout per controller and call instead of the whole retry budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import contextlib
from dataclasses import dataclass
import termios
from typing import Any, Protocol

from rover_nav.hardware import roboclaw_protocol as proto
from rover_nav.hardware.roboclaw_protocol import Cmd, FrameError


class SerialPort(Protocol):
    """The part of `serial.Serial` the client uses (timeout = read timeout in seconds)."""

    timeout: float | None

    def write(self, data: bytes) -> Any: ...
    def read(self, size: int) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


#: What a serial call raises when the device is gone: pyserial's SerialException (an OSError), and
#: termios.error, which is NOT an OSError, from tcflush/tcsetattr of an unplugged USB adapter.
SERIAL_IO_ERRORS: tuple[type[BaseException], ...] = (OSError, termios.error)


class RoboClawError(Exception):
    """A transaction failed after every retry (the message names the controller and command)."""


@dataclass
class ControllerHealth:
    """Link statistics and fault state of one controller address."""

    address: int
    ok: int = 0
    timeouts: int = 0
    partial_frames: int = 0
    crc_errors: int = 0
    bad_acks: int = 0
    io_errors: int = 0
    retries: int = 0
    consecutive_failures: int = 0
    faulted: bool = False
    last_error: str = ''

    def as_dict(self) -> dict[str, Any]:
        return {'ok': self.ok, 'timeouts': self.timeouts, 'partial_frames': self.partial_frames,
                'crc_errors': self.crc_errors, 'bad_acks': self.bad_acks, 'io_errors': self.io_errors,
                'retries': self.retries,
                'consecutive_failures': self.consecutive_failures, 'faulted': self.faulted,
                'last_error': self.last_error}


def open_serial(port: str, baud: int, read_timeout_s: float) -> SerialPort:
    """Open `port` with pyserial, 8N1, `read_timeout_s` per read call (imported lazily)."""
    import serial  # type: ignore[import-untyped]

    port_: SerialPort = serial.Serial(port=port, baudrate=baud, timeout=read_timeout_s,
                                      write_timeout=read_timeout_s * 10)
    return port_


class RoboClawBus:
    """Several RoboClaws at different addresses on one packet-serial port."""

    def __init__(self, port: SerialPort, addresses: Iterable[int], retries: int = 2, max_failures: int = 3) -> None:
        if retries < 0:
            raise ValueError(f'retries must be >= 0, got {retries}')
        if max_failures < 1:
            raise ValueError(f'max_failures must be >= 1, got {max_failures}')
        self.port = port
        self.retries = retries
        self.max_failures = max_failures
        self.health = {proto.check_address(a): ControllerHealth(a) for a in addresses}

    @contextlib.contextmanager
    def patient(self, read_timeout_s: float) -> Iterator[None]:
        """Temporarily wait longer for replies (start-up handshakes, self-tests: not time-critical)."""
        old = getattr(self.port, 'timeout', None)
        if old is None or old >= read_timeout_s:
            yield
            return
        self.port.timeout = read_timeout_s
        try:
            yield
        finally:
            self.port.timeout = old

    # -- transactions ---------------------------------------------------------------------------

    def _health(self, address: int) -> ControllerHealth:
        try:
            return self.health[address]
        except KeyError:
            raise ValueError(f'address {address} is not on this bus ({sorted(self.health)})') from None

    def _transact(self, address: int, cmd: Cmd, request: bytes, read_reply: Any) -> bytes:
        health = self._health(address)
        attempts = 1 if health.faulted else 1 + self.retries
        error: FrameError | None = None
        for attempt in range(attempts):
            if attempt:
                health.retries += 1
            try:
                self._send(request)
                data: bytes = read_reply()
            except FrameError as exc:
                error = exc
                self._count(health, exc.kind)
                continue
            health.ok += 1
            health.consecutive_failures = 0
            health.faulted = False
            return data
        health.consecutive_failures += 1
        health.last_error = f'{cmd.name}: {error}'
        if health.consecutive_failures >= self.max_failures:
            health.faulted = True
        raise RoboClawError(f'RoboClaw {address}: {cmd.name} failed after {attempts} attempt(s): {error}')

    def _send(self, request: bytes) -> None:
        """Drop stale input, then write; an OS-level failure (adapter unplugged, write timeout) is a bad frame."""
        try:
            self.port.reset_input_buffer()
            self.port.write(request)
        except SERIAL_IO_ERRORS as exc:  # SerialException, SerialTimeoutException, termios.error
            raise FrameError('io', f'serial port error: {exc}') from exc

    @staticmethod
    def _count(health: ControllerHealth, kind: str) -> None:
        if kind == 'io':
            health.io_errors += 1
        elif kind == 'timeout':
            health.timeouts += 1
        elif kind == 'partial':
            health.partial_frames += 1
        elif kind == 'crc':
            health.crc_errors += 1
        else:
            health.bad_acks += 1

    def _read_exact(self, n: int) -> bytes:
        try:
            data = self.port.read(n)
        except SERIAL_IO_ERRORS as exc:
            raise FrameError('io', f'serial port error: {exc}') from exc
        if len(data) == 0:
            raise FrameError('timeout', f'no reply (expected {n} bytes)')
        if len(data) < n:
            raise FrameError('partial', f'{len(data)} of {n} bytes')
        return bytes(data)

    def write(self, address: int, cmd: Cmd, payload: bytes = b'') -> None:
        """Send a write command and wait for the ACK byte (retried, may raise RoboClawError)."""
        request = proto.encode_write(address, cmd, payload)

        def read_ack() -> bytes:
            ack = self._read_exact(1)
            if ack[0] != proto.ACK:
                raise FrameError('nack', f'expected ACK 0xFF, got 0x{ack[0]:02x}')
            return ack

        self._transact(address, cmd, request, read_ack)

    def read(self, address: int, cmd: Cmd) -> bytes:
        """Send a read command and return its CRC-checked data (retried, may raise RoboClawError)."""
        request = proto.encode_read(address, cmd)
        length = proto.READ_REPLY[cmd]

        def read_data() -> bytes:
            if length is None:
                data = self._read_string()
                crc = self._read_exact(2)
            else:
                raw = self._read_exact(length + 2)
                data, crc = raw[:length], raw[length:]
            if not proto.reply_crc_ok(address, cmd, data, bytes(crc)):
                raise FrameError('crc', f'CRC mismatch in reply to {cmd.name}')
            return data

        return self._transact(address, cmd, request, read_data)

    def _read_string(self) -> bytes:
        out = bytearray()
        while len(out) < proto.VERSION_MAX_LEN:
            try:
                byte = self.port.read(1)
            except SERIAL_IO_ERRORS as exc:
                raise FrameError('io', f'serial port error: {exc}') from exc
            if not byte:
                raise FrameError('timeout' if not out else 'partial', f'string reply cut after {len(out)} bytes')
            out += byte
            if out.endswith(b'\n\x00'):
                return bytes(out)
        raise FrameError('partial', 'string reply without terminator')

    # -- commands -------------------------------------------------------------------------------

    def drive_speeds(self, address: int, m1_qpps: int, m2_qpps: int) -> None:
        """Command both motors of one controller, signed encoder counts per second."""
        self.write(address, Cmd.DRIVE_M1M2_SPEED, proto.speeds_payload(m1_qpps, m2_qpps))

    def stop(self, address: int) -> None:
        self.drive_speeds(address, 0, 0)

    def hold_position(self, address: int, m1_counts: int, m2_counts: int) -> None:
        """Hold both motors at these encoder counts (position PID: the parking brake)."""
        self.write(address, Cmd.DRIVE_M1M2_POSITION, proto.position_payload(m1_counts, m2_counts))

    def read_encoders(self, address: int) -> tuple[int, int]:
        """Encoder counts of M1 and M2 (signed 32-bit, wrapping)."""
        data = self.read(address, Cmd.READ_ENCODERS)
        return proto.to_i32(data, 0), proto.to_i32(data, 4)

    def read_speeds(self, address: int) -> tuple[int, int]:
        """Measured speeds of M1 and M2 in encoder counts per second (signed)."""
        data = self.read(address, Cmd.READ_SPEEDS)
        return proto.to_i32(data, 0), proto.to_i32(data, 4)

    def read_main_battery(self, address: int) -> float:
        """Main battery voltage in volts (the controller reports 0.1 V steps)."""
        return proto.to_u16(self.read(address, Cmd.READ_MAIN_BATTERY)) / 10.0

    def read_temperature(self, address: int) -> float:
        """Board temperature in degrees Celsius (0.1 degree steps)."""
        return proto.to_u16(self.read(address, Cmd.READ_TEMPERATURE)) / 10.0

    def read_status(self, address: int) -> int:
        """The 32-bit status word (see `roboclaw_protocol.describe_status`)."""
        return proto.to_u32(self.read(address, Cmd.READ_STATUS))

    def read_version(self, address: int) -> str:
        return self.read(address, Cmd.READ_VERSION).rstrip(b'\n\x00').decode('ascii', errors='replace')

    def set_serial_timeout(self, address: int, seconds: float) -> float:
        """Set the controller's own serial timeout to the largest 100 ms step <= `seconds`.

        The controller stops both motors when no valid packet arrives for that long, so it is
        the last line of defence when the board hangs. Reads it back and returns the value in
        effect (s); raises RoboClawError when the controller does not confirm it.
        """
        steps = proto.serial_timeout_steps(seconds)
        self.write(address, Cmd.SET_SERIAL_TIMEOUT, bytes((steps,)))
        actual = self.read_serial_timeout(address)
        if not 0.0 < actual <= seconds + 1e-9:
            raise RoboClawError(f'RoboClaw {address}: serial timeout reads back {actual:.1f} s, wanted <= {seconds} s')
        return actual

    def read_serial_timeout(self, address: int) -> float:
        return self.read(address, Cmd.READ_SERIAL_TIMEOUT)[0] * proto.SERIAL_TIMEOUT_STEP_S

    def close(self) -> None:
        try:
            self.port.close()
        except termios.error as exc:  # report it as the OSError callers expect
            raise OSError(f'serial port close failed: {exc}') from exc
