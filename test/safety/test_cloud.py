"""PointCloud2 payload parsing and sensor frames (pure)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rover_description.geometry import load_geometry
from rover_nav.safety.cloud import FLOAT32, FLOAT64, OPTICAL_TO_LINK, Field, SensorFrames, pack_xyz, xyz_from_cloud


def test_round_trip_of_a_packed_cloud():
    pts = np.array([[1.0, 2.0, 3.0], [np.nan, 0.0, 0.0], [-1.5, 0.25, 1e3]])
    fields, data, step = pack_xyz(pts)
    out = xyz_from_cloud(fields, data, width=3, height=1, point_step=step, row_step=3 * step)
    np.testing.assert_array_equal(out, pts.astype(np.float32).astype(np.float64))


def test_extra_fields_padding_rows_and_big_endian():
    # layout: rgb (4 bytes) first, then z, y, x as big-endian float64, 4 pad bytes; 2 x 2 organised, row padding
    dtype = np.dtype([('rgb', '>u4'), ('z', '>f8'), ('y', '>f8'), ('x', '>f8'), ('pad', 'V4')])
    rows = []
    values = np.arange(12, dtype=float).reshape(4, 3)
    for r in range(2):
        rec = np.zeros(2, dtype=dtype)
        for c in range(2):
            x, y, z = values[r * 2 + c]
            rec[c] = (7, z, y, x, b'\0' * 4)
        rows.append(rec.tobytes() + b'\xff' * 8)
    fields = [Field('rgb', 0, 6), Field('z', 4, FLOAT64), Field('y', 12, FLOAT64), Field('x', 20, FLOAT64)]
    out = xyz_from_cloud(fields, b''.join(rows), width=2, height=2, point_step=dtype.itemsize,
                         row_step=2 * dtype.itemsize + 8, is_bigendian=True)
    np.testing.assert_array_equal(out, values)


@pytest.mark.parametrize(('fields', 'message'), [
    ([Field('x', 0, FLOAT32), Field('y', 4, FLOAT32)], "no 'z' field"),
    ([Field('x', 0, FLOAT32), Field('y', 4, FLOAT32), Field('z', 8, 2)], 'datatype'),
    ([Field('x', 0, FLOAT32), Field('y', 4, FLOAT32), Field('z', 10, FLOAT32)], 'does not fit'),
])
def test_unusable_layouts_are_rejected_by_name(fields, message):
    with pytest.raises(ValueError, match=message):
        xyz_from_cloud(fields, b'\0' * 24, width=2, height=1, point_step=12, row_step=24)


def test_short_payload_is_rejected():
    fields, data, step = pack_xyz(np.zeros((4, 3)))
    with pytest.raises(ValueError, match='bytes'):
        xyz_from_cloud(fields, data[:-1], width=4, height=1, point_step=step, row_step=4 * step)


def test_frames_put_a_forward_point_where_the_camera_looks():
    geometry = load_geometry('yutu2')
    pose = geometry.hazcam.pose
    frames = SensorFrames('rover1/', pose.xyz, pose.rpy)
    link = frames.lookup('rover1/hazcam_link')
    optical = frames.lookup('hazcam_optical_frame')
    assert frames.lookup('rover1/base_link') is not None and frames.lookup('odom') is None
    ahead_link = link.apply(np.array([[2.0, 0.0, 0.0]]))[0]
    ahead_optical = optical.apply(np.array([[0.0, 0.0, 2.0]]))[0]  # optical z forward
    np.testing.assert_allclose(ahead_link, ahead_optical, atol=1e-12)
    pitch = pose.rpy[1]  # positive pitch looks down (REP-103)
    expected = np.array(pose.xyz) + 2.0 * np.array([math.cos(pitch), 0.0, -math.sin(pitch)])
    np.testing.assert_allclose(ahead_link, expected, atol=1e-12)
    np.testing.assert_allclose(OPTICAL_TO_LINK @ np.array([1.0, 0.0, 0.0]), [0.0, -1.0, 0.0])  # x right
