"""RoboClaw packet-serial framing: command codes, payload sizes, encode/decode (no I/O).

Shared by the client (`roboclaw.py`) and the emulator (`roboclaw_emulator.py`), so both speak the
same bytes. Packet serial (Basicmicro RoboClaw user manual, "Packet Serial"):

* write: host sends ``[address, command, data..., crc_hi, crc_lo]``; the controller answers one
  ACK byte 0xFF when the CRC matched and stays silent when it did not;
* read: host sends ``[address, command]``; the controller answers ``[data..., crc_hi, crc_lo]``
  with the CRC computed over the host's two bytes followed by the data.

Multi-unit mode: several controllers share one TX/RX pair and only the addressed one answers.
Multi-byte values are big endian; speeds and encoder counts are signed 32-bit counts (per
second for speeds, quadrature counts for positions).
"""

from __future__ import annotations

from enum import IntEnum
import struct

from rover_nav.hardware.crc16 import crc16_ccitt, crc_bytes

ACK = 0xFF
ADDRESS_MIN = 0x80
ADDRESS_MAX = 0x87
VERSION_MAX_LEN = 48
#: The serial timeout register counts 100 ms steps, 0..255 (0 disables it: never written by us).
SERIAL_TIMEOUT_STEP_S = 0.1
SERIAL_TIMEOUT_MAX_STEPS = 255


class Cmd(IntEnum):
    """The packet-serial commands this stack uses (numbers from the RoboClaw manual)."""

    SET_SERIAL_TIMEOUT = 14
    READ_SERIAL_TIMEOUT = 15
    READ_ENCODER_M1 = 16
    READ_ENCODER_M2 = 17
    RESET_ENCODERS = 20
    READ_VERSION = 21
    READ_MAIN_BATTERY = 24
    READ_LOGIC_BATTERY = 25
    DRIVE_M1_SPEED = 35
    DRIVE_M2_SPEED = 36
    DRIVE_M1M2_SPEED = 37
    READ_CURRENTS = 49
    READ_ENCODERS = 78
    READ_SPEEDS = 79
    READ_TEMPERATURE = 82
    READ_STATUS = 90
    DRIVE_M1M2_POSITION = 121


#: Write commands -> payload length in bytes (before the CRC).
WRITE_PAYLOAD: dict[int, int] = {
    Cmd.SET_SERIAL_TIMEOUT: 1,
    Cmd.RESET_ENCODERS: 0,
    Cmd.DRIVE_M1_SPEED: 4,
    Cmd.DRIVE_M2_SPEED: 4,
    Cmd.DRIVE_M1M2_SPEED: 8,
    Cmd.DRIVE_M1M2_POSITION: 9,  # M1 position, M2 position (signed counts), buffer flag (1 = now)
}

#: Read commands -> reply data length in bytes (before the CRC); None = NUL-terminated string.
READ_REPLY: dict[int, int | None] = {
    Cmd.READ_SERIAL_TIMEOUT: 1,
    Cmd.READ_ENCODER_M1: 5,
    Cmd.READ_ENCODER_M2: 5,
    Cmd.READ_VERSION: None,
    Cmd.READ_MAIN_BATTERY: 2,
    Cmd.READ_LOGIC_BATTERY: 2,
    Cmd.READ_CURRENTS: 4,
    Cmd.READ_ENCODERS: 8,
    Cmd.READ_SPEEDS: 8,
    Cmd.READ_TEMPERATURE: 2,
    Cmd.READ_STATUS: 4,
}

#: Status bits (command 90). Bits 0..15 are errors that stop the motors, higher bits warnings.
STATUS_BITS: dict[int, str] = {
    0x0001: 'e-stop input',
    0x0002: 'temperature error',
    0x0004: 'temperature 2 error',
    0x0008: 'main battery high error',
    0x0010: 'logic battery high error',
    0x0020: 'logic battery low error',
    0x0040: 'M1 driver fault',
    0x0080: 'M2 driver fault',
    0x0100: 'M1 speed error',
    0x0200: 'M2 speed error',
    0x0400: 'M1 position error',
    0x0800: 'M2 position error',
    0x1000: 'M1 current error',
    0x2000: 'M2 current error',
    0x010000: 'M1 over-current warning',
    0x020000: 'M2 over-current warning',
    0x040000: 'main battery high warning',
    0x080000: 'main battery low warning',
    0x100000: 'temperature warning',
    0x200000: 'temperature 2 warning',
}
STATUS_ERROR_MASK = 0xFFFF


class FrameError(Exception):
    """A reply that cannot be trusted. `kind` is one of: timeout, partial, crc, nack."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f'{kind}: {detail}')
        self.kind = kind


def check_address(address: int) -> int:
    """Return `address` if it is a packet-serial address (0x80..0x87), else raise ValueError."""
    if isinstance(address, bool) or not isinstance(address, int) or not ADDRESS_MIN <= address <= ADDRESS_MAX:
        raise ValueError(f'address must be an integer in [{ADDRESS_MIN}, {ADDRESS_MAX}], got {address!r}')
    return address


def encode_write(address: int, cmd: int, payload: bytes = b'') -> bytes:
    """The bytes of one write packet: address, command, payload, CRC16 (big endian)."""
    check_address(address)
    expected = WRITE_PAYLOAD.get(int(cmd))
    if expected is None:
        raise ValueError(f'command {cmd!r} is not a known write command')
    if len(payload) != expected:
        raise ValueError(f'command {int(cmd)} takes {expected} payload bytes, got {len(payload)}')
    body = bytes((address, int(cmd))) + bytes(payload)
    return body + crc_bytes(crc16_ccitt(body))


def encode_read(address: int, cmd: int) -> bytes:
    """The two bytes that request a read: address, command (reads carry no CRC from the host)."""
    check_address(address)
    if int(cmd) not in READ_REPLY:
        raise ValueError(f'command {cmd!r} is not a known read command')
    return bytes((address, int(cmd)))


def reply_crc_ok(address: int, cmd: int, data: bytes, crc: bytes) -> bool:
    """True when `crc` (2 bytes) matches the CRC over [address, cmd] + data."""
    return crc_bytes(crc16_ccitt(bytes((address, int(cmd))) + data, 0)) == bytes(crc)


def encode_reply(address: int, cmd: int, data: bytes) -> bytes:
    """What a controller sends back for a read: data + CRC over [address, cmd] + data."""
    return bytes(data) + crc_bytes(crc16_ccitt(bytes((address, int(cmd))) + bytes(data)))


def i32(value: int) -> bytes:
    """A signed 32-bit big-endian field; raises ValueError outside the int32 range."""
    if not -(2**31) <= int(value) < 2**31:
        raise ValueError(f'value {value} does not fit a signed 32-bit field')
    return struct.pack('>i', int(value))


def to_i32(data: bytes, offset: int = 0) -> int:
    value: int = struct.unpack_from('>i', data, offset)[0]
    return value


def to_u16(data: bytes, offset: int = 0) -> int:
    value: int = struct.unpack_from('>H', data, offset)[0]
    return value


def to_u32(data: bytes, offset: int = 0) -> int:
    value: int = struct.unpack_from('>I', data, offset)[0]
    return value


def speeds_payload(m1_qpps: int, m2_qpps: int) -> bytes:
    """Payload of DRIVE_M1M2_SPEED: two signed speeds in encoder counts per second."""
    return i32(m1_qpps) + i32(m2_qpps)


def position_payload(m1_counts: int, m2_counts: int) -> bytes:
    """Payload of DRIVE_M1M2_POSITION: two signed encoder positions and buffer = 1 (execute at once).

    The controller then holds each motor at that count with its position PID: a brake that
    resists a slope, unlike a zero speed, whose velocity loop lets a loaded wheel creep.
    """
    return i32(m1_counts) + i32(m2_counts) + bytes((1,))


def serial_timeout_steps(seconds: float) -> int:
    """The largest register value (100 ms steps) whose timeout is <= `seconds`.

    Raises ValueError below one step (0.1 s): the register cannot express a shorter timeout and
    0 would disable it, so a driver asked for less must refuse to drive instead.
    """
    steps = int(seconds / SERIAL_TIMEOUT_STEP_S + 1e-9)
    if steps < 1:
        raise ValueError(f'a serial timeout of {seconds} s is below the RoboClaw minimum of 0.1 s')
    return min(steps, SERIAL_TIMEOUT_MAX_STEPS)


def describe_status(status: int) -> list[str]:
    """Human-readable names of the set status bits (unknown bits are shown in hex)."""
    names = [name for bit, name in STATUS_BITS.items() if status & bit]
    unknown = status & ~sum(STATUS_BITS)
    if unknown:
        names.append(f'unknown bits 0x{unknown:08x}')
    return names
