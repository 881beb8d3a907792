"""Packet-serial framing: CRC16-CCITT, exact bytes of the commands, serial timeout steps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_nav.hardware import roboclaw_protocol as proto
from rover_nav.hardware.crc16 import crc16_ccitt
from rover_nav.hardware.roboclaw_protocol import Cmd


def reference_crc(data: bytes) -> int:
    """Bit-by-bit CRC16-CCITT (poly 0x1021, init 0), independent of the table implementation."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def test_crc_check_value():
    # CRC-16/XMODEM check value of the ASCII digits 1..9
    assert crc16_ccitt(b'123456789') == 0x31C3


@given(st.binary(max_size=64))
def test_crc_matches_bitwise_reference(data):
    assert crc16_ccitt(data) == reference_crc(data)


def test_drive_both_motors_exact_bytes():
    frame = proto.encode_write(128, Cmd.DRIVE_M1M2_SPEED, proto.speeds_payload(1000, -1000))
    body = bytes([0x80, 37, 0x00, 0x00, 0x03, 0xE8, 0xFF, 0xFF, 0xFC, 0x18])
    crc = reference_crc(body)
    assert frame == body + bytes([crc >> 8, crc & 0xFF])


def test_set_serial_timeout_exact_bytes():
    frame = proto.encode_write(130, Cmd.SET_SERIAL_TIMEOUT, bytes([5]))
    crc = reference_crc(bytes([130, 14, 5]))
    assert frame == bytes([130, 14, 5, crc >> 8, crc & 0xFF])


def test_read_request_has_no_crc():
    assert proto.encode_read(129, Cmd.READ_ENCODERS) == bytes([129, 78])


@given(st.sampled_from(sorted(proto.READ_REPLY)), st.integers(128, 135), st.binary(min_size=1, max_size=16),
       st.integers(0, 8 * 16 + 15))
def test_reply_crc_catches_every_single_bit_error(cmd, address, data, bit):
    reply = proto.encode_reply(address, cmd, data)
    assert proto.reply_crc_ok(address, cmd, reply[:-2], reply[-2:])
    flipped = bytearray(reply)
    index = bit // 8 % len(flipped)
    flipped[index] ^= 1 << (bit % 8)
    assert not proto.reply_crc_ok(address, cmd, bytes(flipped[:-2]), bytes(flipped[-2:]))


@given(st.integers(-(2**31), 2**31 - 1))
def test_i32_round_trip(value):
    assert proto.to_i32(proto.i32(value)) == value


@given(st.floats(0.1, 100.0))
def test_serial_timeout_steps_never_exceed_the_request(seconds):
    steps = proto.serial_timeout_steps(seconds)
    assert 1 <= steps <= 255
    assert steps * 0.1 <= seconds + 1e-9
    assert steps == 255 or (steps + 1) * 0.1 > seconds


@pytest.mark.parametrize('seconds', [0.0, 0.05, 0.099])
def test_serial_timeout_below_one_step_is_refused(seconds):
    with pytest.raises(ValueError, match='below'):
        proto.serial_timeout_steps(seconds)


@pytest.mark.parametrize('address', [0, 127, 136, 255, True])
def test_bad_addresses_rejected(address):
    with pytest.raises(ValueError, match='address'):
        proto.encode_read(address, Cmd.READ_STATUS)


def test_wrong_payload_length_rejected():
    with pytest.raises(ValueError, match='payload'):
        proto.encode_write(128, Cmd.DRIVE_M1M2_SPEED, b'\x00' * 4)


def test_status_names():
    assert proto.describe_status(0x0001 | 0x080000) == ['e-stop input', 'main battery low warning']
    assert proto.describe_status(0) == []
