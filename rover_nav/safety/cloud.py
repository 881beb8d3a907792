"""PointCloud2 payload -> (N, 3) float array in base_link, without rclpy.

`xyz_from_cloud` reads any cloud carrying float32 (or float64) x, y, z fields at any offsets,
with any point_step/row_step padding and either endianness; other fields are ignored.
`SensorFrames` knows the frames a hazard camera cloud may come in (base_link, hazcam_link,
hazcam_optical_frame, each optionally with the node's frame_prefix) and their transforms to
base_link from the rover description's sensor pose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rover_description.rotations import rpy_matrix

# sensor_msgs/PointField datatypes we read
FLOAT32, FLOAT64 = 7, 8
_NUMPY_TYPES = {FLOAT32: 'f4', FLOAT64: 'f8'}

# hazcam_optical_frame (z forward, x right, y down) -> hazcam_link (x forward, y left, z up)
OPTICAL_TO_LINK = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    datatype: int
    count: int = 1


def xyz_from_cloud(fields: Sequence[Field], data: bytes, width: int, height: int, point_step: int,
                   row_step: int, is_bigendian: bool = False) -> np.ndarray:
    """The (width * height, 3) float64 x, y, z of a cloud's payload (NaN rows kept: no-returns).

    Raises ValueError naming the problem when x, y or z is missing, not floating point, a field
    name appears twice (which definition would be meant?), or the payload is shorter than the
    layout says.
    """
    names_seen = [f.name for f in fields]
    duplicates = sorted({n for n in names_seen if names_seen.count(n) > 1})
    if duplicates:
        raise ValueError(f'cloud defines field(s) {duplicates} more than once')
    by_name = {f.name: f for f in fields}
    n = int(width) * int(height)
    if n == 0:
        return np.zeros((0, 3))
    if point_step <= 0 or row_step < width * point_step:
        raise ValueError(f'bad cloud layout: point_step={point_step}, row_step={row_step}, width={width}')
    if len(data) < (height - 1) * row_step + width * point_step:
        raise ValueError(f'cloud data has {len(data)} bytes, layout needs {height * row_step}')
    order = '>' if is_bigendian else '<'
    names, formats, offsets = [], [], []
    for axis in ('x', 'y', 'z'):
        f = by_name.get(axis)
        if f is None:
            raise ValueError(f'cloud has no {axis!r} field (fields: {sorted(by_name)})')
        if f.datatype not in _NUMPY_TYPES:
            raise ValueError(f'cloud field {axis!r} has datatype {f.datatype}, need FLOAT32 or FLOAT64')
        if f.offset + np.dtype(_NUMPY_TYPES[f.datatype]).itemsize > point_step:
            raise ValueError(f'cloud field {axis!r} at offset {f.offset} does not fit point_step {point_step}')
        names.append(axis)
        formats.append(order + _NUMPY_TYPES[f.datatype])
        offsets.append(f.offset)
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if row_step == width * point_step:
        rows = buf[: n * point_step]
    else:
        rows = np.concatenate([buf[r * row_step: r * row_step + width * point_step] for r in range(height)])
    size = np.dtype(formats[0]).itemsize
    if formats[0] == formats[1] == formats[2] and offsets[1] - offsets[0] == offsets[2] - offsets[1] == size:
        # x, y, z adjacent and of one type (the usual layout): one strided (N, 3) view, no record dtype
        xyz = np.ndarray((n, 3), dtype=formats[0], buffer=rows, offset=offsets[0], strides=(point_step, size))
        return xyz.astype(np.float64)
    dtype = np.dtype({'names': names, 'formats': formats, 'offsets': offsets, 'itemsize': point_step})
    rec = rows.view(dtype)
    return np.stack([rec['x'], rec['y'], rec['z']], axis=1).astype(np.float64)


#: m; a return closer than this to the origin of the cloud's own frame is a no-return: zeros are a
#: common "no return" encoding, denormals are noise, and no real return comes from the lens itself
#: (or, for a base_link cloud, from inside the body)
MIN_RETURN_RANGE = 0.01


def drop_no_returns(xyz: np.ndarray) -> np.ndarray:
    """(N, 3) points with every row closer than MIN_RETURN_RANGE to the origin set to NaN (a copy)."""
    pts = np.array(xyz, dtype=np.float64, copy=True)
    with np.errstate(over='ignore', invalid='ignore'):
        near = np.max(np.abs(pts), axis=1) < MIN_RETURN_RANGE if len(pts) else np.zeros(0, dtype=bool)
    pts[near] = np.nan
    return pts


def pack_xyz(points: np.ndarray) -> tuple[list[Field], bytes, int]:
    """(fields, data, point_step) of an unorganised little-endian float32 x, y, z cloud."""
    pts = np.ascontiguousarray(np.asarray(points, dtype='<f4').reshape(-1, 3))
    return [Field('x', 0, FLOAT32), Field('y', 4, FLOAT32), Field('z', 8, FLOAT32)], pts.tobytes(), 12


@dataclass(frozen=True)
class Transform:
    """p_base = rotation @ p + translation."""

    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=float) @ self.rotation.T + self.translation


class SensorFrames:
    """Frame id -> transform to base_link, for clouds from the hazard camera."""

    def __init__(self, frame_prefix: str, hazcam_xyz: Sequence[float], hazcam_rpy: Sequence[float]) -> None:
        link = Transform(rpy_matrix(*hazcam_rpy), np.asarray(hazcam_xyz, dtype=float))
        optical = Transform(link.rotation @ OPTICAL_TO_LINK, link.translation)
        identity = Transform(np.eye(3), np.zeros(3))
        self._by_name = {'base_link': identity, 'hazcam_link': link, 'hazcam_optical_frame': optical}
        self.prefix = frame_prefix

    def lookup(self, frame_id: str) -> Transform | None:
        """The transform for `frame_id` (bare or with the frame prefix), None if unknown."""
        name = frame_id.lstrip('/')
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix):]
        return self._by_name.get(name)

    @property
    def known(self) -> list[str]:
        return [self.prefix + k for k in self._by_name]
