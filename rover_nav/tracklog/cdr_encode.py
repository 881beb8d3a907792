"""Canonical CDR bytes of a ROS 2 message, built from its `.msg` definition (no rclpy needed).

Why not `rclpy.serialization.serialize_message`: with rmw_fastrtps (Jazzy) it returns a buffer of
the *estimated* size (JointState: 4-12 bytes too long) whose alignment padding is uninitialised
memory, so the bytes differ from what DDS puts on the wire and what `ros2 bag record` stores, and
strict readers (rosbags: "CDR message size mismatch") reject them. The bytes made here are those
of the wire: XCDR1 little endian (header 00 01 00 00), every field aligned to its size from the
end of the header, zero padding, nothing after the last field.

The encoder of a type is generated once from the schema text the bag stores (`msgdefs`), so the
bytes and the schema cannot disagree; it reads fields by attribute, so rclpy messages and plain
objects (tf2_msgs has no Python package here: `SimpleNamespace` trees) both work. Runs of
fixed-size fields are packed with one precompiled `struct.Struct` per start alignment.
"""

from __future__ import annotations

import array
from collections.abc import Callable
from functools import lru_cache
import re
import struct
import sys
from typing import Any

from rover_nav.tracklog import msgdefs

#: primitive -> (struct code, size); byte/char are converted from bytes/str by `_u8`.
PRIMITIVE = {'bool': ('?', 1), 'byte': ('B', 1), 'char': ('B', 1), 'int8': ('b', 1), 'uint8': ('B', 1),
             'int16': ('h', 2), 'uint16': ('H', 2), 'int32': ('i', 4), 'uint32': ('I', 4), 'int64': ('q', 8),
             'uint64': ('Q', 8), 'float32': ('f', 4), 'float64': ('d', 8)}
HEADER = b'\x00\x01\x00\x00'
_LITTLE = sys.byteorder == 'little'
_FIELD_RE = re.compile(r'^(?P<base>[A-Za-z][\w/]*)(?P<bound><=\d+)?(?P<array>\[(?P<size><=)?(?P<n>\d*)\])?$')
_U32 = struct.Struct('<I')


def _u8(v: Any) -> int:
    """A byte/char field value as an int (rclpy gives bytes for byte, str for char)."""
    if isinstance(v, (bytes, bytearray)):
        return v[0]
    if isinstance(v, str):
        return ord(v)
    return int(v)


def _align(b: bytearray, size: int) -> None:
    pad = -(len(b) - 4) % size
    if pad:
        b += bytes(pad)


def _string(b: bytearray, v: str) -> None:
    data = v.encode('utf-8')
    pad = -(len(b) - 4) % 4
    if pad:
        b += bytes(pad)
    b += _U32.pack(len(data) + 1)
    b += data
    b += b'\x00'


def _strings(b: bytearray, values: Any, count: bool) -> None:
    if count:
        _align(b, 4)
        b += _U32.pack(len(values))
    for v in values:
        _string(b, v)


def _primitives(b: bytearray, values: Any, code: str, size: int, count: bool) -> None:
    """A sequence (count first) or fixed array of one primitive type."""
    n = len(values)
    if count:
        _align(b, 4)
        b += _U32.pack(n)
    if not n:
        return
    _align(b, size)
    if size == 1 and isinstance(values, (bytes, bytearray)):
        b += values
    elif _LITTLE and isinstance(values, array.array) and values.typecode == code:
        b += values.tobytes()
    elif hasattr(values, 'dtype') and values.dtype.kind in 'fiub' and code != '?':
        b += values.astype('<' + code).tobytes()
    elif code == 'B' and n and isinstance(values[0], (bytes, str)):
        b += bytes(_u8(v) for v in values)
    else:
        b += struct.pack(f'<{n}{code}', *values)


def parse_fields(text: str, package: str) -> list[tuple[str, str, str | None, int | None]]:
    """(name, base type 'pkg/Type' or primitive, array kind None/'seq'/'fixed', fixed length) per field."""
    fields = []
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 or '=' in line.split(None, 2)[1] or (len(parts) > 2 and parts[2].startswith('=')):
            continue  # constant
        match = _FIELD_RE.match(parts[0])
        if not match:
            raise ValueError(f'cannot parse field {line!r} of a {package} message')
        base = match.group('base')
        if base in ('string', 'wstring') or base in PRIMITIVE:
            if base == 'wstring':
                raise ValueError('wstring fields are not supported')
        elif '/' not in base:
            base = f'{package}/{base}'
        kind, n = None, None
        if match.group('array'):
            if match.group('size') or not match.group('n'):
                kind = 'seq'
            else:
                kind, n = 'fixed', int(match.group('n'))
        fields.append((parts[1], base, kind, n))
    return fields


class _Compiler:
    """Generates one Python function per message type (see the module docstring)."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {'_string': _string, '_strings': _strings, '_primitives': _primitives,
                                    '_u8': _u8, '_U32': _U32, '_align': _align}
        self.done: set[str] = set()
        self.counter = 0

    def name_of(self, type_name: str) -> str:
        return 'enc_' + re.sub(r'\W', '_', type_name)

    def compile(self, type_name: str) -> Callable[[Any, bytearray], None]:
        package, name = msgdefs.split_type(type_name)
        key = f'{package}/{name}'
        fn = self.name_of(key)
        if key not in self.done:
            self.done.add(key)
            lines = [f'def {fn}(m, b):']
            run: list[tuple[str, str, int]] = []  # (struct code incl. count, value expression, alignment)
            self._struct(package, name, 'm', lines, run, 0)
            self._flush(lines, run)
            lines.append('    return None')
            # our own generated code, from the .msg definitions
            exec(compile('\n'.join(lines), f'<cdr {key}>', 'exec'), self.env)
        compiled: Callable[[Any, bytearray], None] = self.env[fn]
        return compiled

    def _struct(self, package: str, name: str, expr: str, lines: list[str], run: list[tuple[str, str, int]],
                depth: int) -> None:
        if depth > 30:
            raise RecursionError(f'{package}/{name} nests too deeply')
        for field, base, kind, n in parse_fields(msgdefs.msg_text(package, name), package):
            value = f'{expr}.{field}'
            if base in PRIMITIVE:
                code, size = PRIMITIVE[base]
                conv = base in ('byte', 'char')
                if kind is None:
                    run.append((code, f'_u8({value})' if conv else value, size))
                elif kind == 'fixed' and not conv and n is not None and n <= 64:
                    run.append((f'{n}{code}', f'*{value}', size))
                else:
                    self._flush(lines, run)
                    lines.append(f'    _primitives(b, {value}, {code!r}, {size}, {kind == "seq"})')
            elif base == 'string':
                self._flush(lines, run)
                if kind is None:
                    lines.append(f'    _string(b, {value})')
                else:
                    lines.append(f'    _strings(b, {value}, {kind == "seq"})')
            elif kind is None:
                sub_pkg, sub_name = msgdefs.split_type(base)
                self._struct(sub_pkg, sub_name, value, lines, run, depth + 1)
            else:
                self._flush(lines, run)
                sub = self.name_of(base)
                self.compile(base)
                if kind == 'seq':
                    lines.append(f'    _align(b, 4); b += _U32.pack(len({value}))')
                lines.append(f'    for e in {value}: {sub}(e, b)')

    def _flush(self, lines: list[str], run: list[tuple[str, str, int]]) -> None:
        """Pack the pending fixed-size fields with one Struct chosen by the current offset mod 8."""
        if not run:
            return
        variants = []
        for start in range(8):
            fmt, pos = '<', start
            for code, _value, size in run:
                pad = -pos % size
                fmt += 'x' * pad
                fmt += code
                pos += pad + struct.calcsize('<' + code)
            variants.append(struct.Struct(fmt))
        self.counter += 1
        const = f'_S{self.counter}'
        self.env[const] = tuple(variants)
        args = ', '.join(value for _code, value, _size in run)
        lines.append(f'    b += {const}[(len(b) - 4) & 7].pack({args})')
        run.clear()


_COMPILER = _Compiler()


@lru_cache(maxsize=128)
def encoder(type_name: str) -> Callable[[Any], bytes]:
    """bytes(message) -> canonical CDR for `type_name` ('pkg/msg/Type'); built once per type."""
    enc = _COMPILER.compile(type_name)

    def encode(msg: Any) -> bytes:
        b = bytearray(HEADER)
        enc(msg, b)
        return bytes(b)

    return encode


_BY_CLASS: dict[type, Callable[[Any], bytes]] = {}


def serialize(msg: Any, type_name: str | None = None) -> bytes:
    """Canonical CDR bytes of `msg` (an rclpy message, or any object with the fields of `type_name`)."""
    if type_name is not None:
        return encoder(type_name)(msg)
    enc = _BY_CLASS.get(type(msg))
    if enc is None:
        enc = _BY_CLASS[type(msg)] = encoder(msgdefs.type_name_of(type(msg)))
    return enc(msg)


__all__ = ['encoder', 'parse_fields', 'serialize']
