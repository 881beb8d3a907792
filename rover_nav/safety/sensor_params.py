"""Helpers the two guards share: rover geometry, sensor frames, cloud handling (their shared parameters are in
`rover_nav.runtime.shared_params`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rover_nav.runtime.geometry_param import geometry_for
from rover_nav.safety.cloud import Field, SensorFrames, drop_no_returns, xyz_from_cloud


def load_rover_geometry(profile: str, geometry: Any = None) -> Any:
    """The RoverGeometry for `profile` from the rover description (or the one a test injects)."""
    return geometry if geometry is not None else geometry_for(profile)


def sensor_frames(frame_prefix: str, geometry: Any) -> SensorFrames:
    pose = geometry.hazcam.pose
    return SensorFrames(frame_prefix, pose.xyz, pose.rpy)


def cloud_in_base(msg: Any, frames: SensorFrames) -> np.ndarray:
    """A sensor_msgs/PointCloud2 as (N, 3) base_link points (no-returns NaN); ValueError for an unusable cloud."""
    transform = frames.lookup(msg.header.frame_id)
    if transform is None:
        raise ValueError(f'cloud frame {msg.header.frame_id!r} is not one of {frames.known}')
    fields = [Field(f.name, int(f.offset), int(f.datatype), int(f.count)) for f in msg.fields]
    xyz = xyz_from_cloud(fields, msg.data, int(msg.width), int(msg.height), int(msg.point_step),
                         int(msg.row_step), bool(msg.is_bigendian))
    return transform.apply(drop_no_returns(xyz))
