"""Hazcam clouds thinned to fit the downlink: a subset of the points, in order, within the budget."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

from rover_nav.link.link_node import MIN_CLOUD_POINTS, message_size, thin_cloud


def _cloud(n: int) -> PointCloud2:
    xyz = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    fields = [PointField(name=c, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, c in enumerate('xyz')]
    msg = PointCloud2(height=10, width=n // 10, fields=fields, is_bigendian=False, point_step=12,
                      row_step=12 * (n // 10), is_dense=True)
    msg.header.frame_id = 'hazcam_link'
    msg.data = xyz.tobytes()
    return msg


def test_thinned_cloud_fits_and_keeps_every_kth_point():
    cloud = _cloud(1000)
    assert message_size(cloud) >= 12_000
    thinned, size = thin_cloud(cloud, 3000.0)
    assert size <= 3000 and size == message_size(thinned)
    points = np.frombuffer(bytes(thinned.data), dtype=np.float32).reshape(-1, 3)
    k = 1000 // len(points) + (1000 % len(points) > 0)
    original = np.frombuffer(bytes(cloud.data), dtype=np.float32).reshape(-1, 3)
    assert np.array_equal(points, original[::k])
    assert thinned.height == 1 and thinned.width == len(points) and thinned.header.frame_id == 'hazcam_link'
    assert thinned.row_step == thinned.width * thinned.point_step and not thinned.is_dense


def test_too_little_room_drops_the_cloud():
    assert thin_cloud(_cloud(1000), 12 * (MIN_CLOUD_POINTS - 1) + 96) is None
    assert thin_cloud(_cloud(1000), 0.0) is None
