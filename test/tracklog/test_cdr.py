"""Direct CDR field readers agree with rclpy's deserializer for any frame ids and values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
import pytest
from rclpy.serialization import serialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu

from rover_nav.tracklog import cdr

frames = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=20)
floats = st.floats(allow_nan=False, width=64)
secs = st.integers(min_value=-(2**31), max_value=2**31 - 1)
nanos = st.integers(min_value=0, max_value=999_999_999)


@settings(max_examples=200, deadline=None)
@given(frames, frames, secs, nanos, st.lists(floats, min_size=7, max_size=7), floats)
def test_odometry_pose_matches_rclpy(frame, child, sec, nanosec, values, vx):
    m = Odometry()
    m.header.stamp.sec, m.header.stamp.nanosec = sec, nanosec
    m.header.frame_id, m.child_frame_id = frame, child
    p, q = m.pose.pose.position, m.pose.pose.orientation
    p.x, p.y, p.z, q.x, q.y, q.z, q.w = values
    m.pose.covariance[0] = 7.0
    m.twist.twist.linear.x = vx
    assert cdr.odometry_pose(serialize_message(m)) == (
        sec * 1_000_000_000 + nanosec, *values[:3], tuple(values[3:]))


@settings(max_examples=200, deadline=None)
@given(frames, secs, nanos, st.lists(floats, min_size=4, max_size=4), floats)
def test_imu_orientation_matches_rclpy(frame, sec, nanosec, quat, cov0):
    m = Imu()
    m.header.stamp.sec, m.header.stamp.nanosec = sec, nanosec
    m.header.frame_id = frame
    m.orientation.x, m.orientation.y, m.orientation.z, m.orientation.w = quat
    m.orientation_covariance[0] = cov0
    m.orientation_covariance[1] = 3.0
    m.angular_velocity.x = 5.0
    assert cdr.imu_orientation(serialize_message(m)) == (tuple(quat), cov0)


@given(secs, nanos)
def test_clock_ns_matches_rclpy(sec, nanosec):
    m = Clock()
    m.clock.sec, m.clock.nanosec = sec, nanosec
    assert cdr.clock_ns(serialize_message(m)) == sec * 1_000_000_000 + nanosec


def test_big_endian_data_is_read_too():
    import struct

    frame = b'world\x00'
    body = struct.pack('>iI', 3, 4) + struct.pack('>I', len(frame)) + frame
    body += b'\x00' * ((-len(body)) % 8) + struct.pack('>5d', 0.1, 0.2, 0.3, 0.9, -1.0)
    assert cdr.imu_orientation(b'\x00\x00\x00\x00' + body) == ((0.1, 0.2, 0.3, 0.9), -1.0)


@pytest.mark.parametrize('reader', [cdr.clock_ns, cdr.odometry_pose, cdr.imu_orientation])
def test_truncated_data_is_a_value_error(reader):
    m = Odometry()
    m.header.frame_id = 'world'
    data = serialize_message(m)
    for cut in (0, 3, 10, 30) if reader is not cdr.clock_ns else (0, 3, 10):
        with pytest.raises(ValueError):
            reader(data[:cut])
