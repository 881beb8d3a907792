"""The few fields the track logger needs, read straight from serialized (CDR) messages.

The logger records raw bytes; decoding a whole message into rclpy's Python classes only to read
a pose costs far more than the recording itself (an Imu builds a dozen nested objects). These
readers take the bytes as they arrived and return plain floats, without rclpy.

CDR (XCDR1, as rmw implementations write ROS 2 messages): a 4-byte encapsulation header (byte 1:
1 = little endian), then the fields in order, each aligned to its own size counted from the end
of that header; a string is a uint32 length (including the trailing NUL) and its bytes.
Truncated or malformed data raises ValueError.
"""

from __future__ import annotations

import struct

_BODY = 4  # encapsulation header length


def _endian(data: bytes) -> str:
    if len(data) < _BODY:
        raise ValueError(f'CDR data too short ({len(data)} bytes)')
    return '<' if data[1] & 1 else '>'


def _after_string(data: bytes, pos: int, endian: str) -> int:
    """Body offset just past the string whose length field is at (or aligned after) `pos`."""
    pos = (pos + 3) & ~3
    length: int = struct.unpack_from(endian + 'I', data, _BODY + pos)[0]
    return pos + 4 + length


def _after_header(data: bytes, endian: str) -> int:
    """Body offset just past a leading std_msgs/Header (stamp, frame_id)."""
    return _after_string(data, 8, endian)


def _stamp_ns(data: bytes, endian: str) -> int:
    sec: int
    nanosec: int
    sec, nanosec = struct.unpack_from(endian + 'iI', data, _BODY)
    return sec * 1_000_000_000 + nanosec


def clock_ns(data: bytes) -> int:
    """rosgraph_msgs/Clock -> clock in ns."""
    try:
        return _stamp_ns(data, _endian(data))
    except struct.error as exc:
        raise ValueError(f'malformed Clock: {exc}') from None


def odometry_pose(data: bytes) -> tuple[int, float, float, float, tuple[float, float, float, float]]:
    """nav_msgs/Odometry -> (header stamp ns, x, y, z, (qx, qy, qz, qw)) of pose.pose."""
    try:
        endian = _endian(data)
        pos = _after_string(data, _after_header(data, endian), endian)  # child_frame_id
        pos = (pos + 7) & ~7
        x, y, z, qx, qy, qz, qw = struct.unpack_from(endian + '7d', data, _BODY + pos)
        return _stamp_ns(data, endian), x, y, z, (qx, qy, qz, qw)
    except struct.error as exc:
        raise ValueError(f'malformed Odometry: {exc}') from None


def imu_orientation(data: bytes) -> tuple[tuple[float, float, float, float], float]:
    """sensor_msgs/Imu -> ((qx, qy, qz, qw), orientation_covariance[0])."""
    try:
        endian = _endian(data)
        pos = (_after_header(data, endian) + 7) & ~7
        qx, qy, qz, qw, cov0 = struct.unpack_from(endian + '5d', data, _BODY + pos)
        return (qx, qy, qz, qw), cov0
    except struct.error as exc:
        raise ValueError(f'malformed Imu: {exc}') from None


__all__ = ['clock_ns', 'imu_orientation', 'odometry_pose']
