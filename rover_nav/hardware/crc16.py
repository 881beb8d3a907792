"""CRC16-CCITT as used by the RoboClaw packet-serial protocol (XModem variant).

Polynomial 0x1021, initial value 0, no reflection, no final XOR. The RoboClaw computes it over
every byte of a packet: for a write the host sends address, command, data, then the CRC (high
byte first); for a read the controller's CRC covers the host's address and command bytes
followed by the reply data.
"""

from __future__ import annotations

from collections.abc import Iterable

_POLY = 0x1021


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else (crc << 1)
        out.append(crc & 0xFFFF)
    return tuple(out)


_TABLE = _table()


def crc16_ccitt(data: Iterable[int], crc: int = 0) -> int:
    """Return the 16-bit CRC of `data` (bytes or ints 0..255), continuing from `crc`."""
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def crc_bytes(crc: int) -> bytes:
    """The two CRC bytes as sent on the wire (big endian)."""
    return bytes(((crc >> 8) & 0xFF, crc & 0xFF))
