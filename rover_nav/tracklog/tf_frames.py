"""The rover's frames for the bag: what robot_state_publisher and an odometry TF would publish.

A bag without `/tf_static`, `/tf` and `/robot_description` shows numbers but no rover: Foxglove and
RViz cannot place `/hazcam/points` (frame `hazcam_optical_frame`) or draw the model. The logger
writes them itself, from the rover description (the URDF the launch files and the simulator use):
- `/tf_static`: every fixed joint (imu_link, hazcam_link, hazcam_optical_frame, mast, chassis);
- `/tf`: odom -> base_link from each odometry message, and the movable joints (rocker, bogie,
  steering, wheels) from each joint_states message, mimic joints following their leader;
- `/robot_description`: the URDF text (latched).
Pure Python; transforms are (parent, child, (x, y, z), (qx, qy, qz, qw)) tuples, messages are
plain-object trees with the fields of tf2_msgs/msg/TFMessage for `cdr_encode`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
import math
from types import SimpleNamespace
from typing import Any

import numpy as np

Transform = tuple[str, str, tuple[float, float, float], tuple[float, float, float, float]]
TF_TYPE = 'tf2_msgs/msg/TFMessage'


def quaternion_from_matrix(rot: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation matrix (Shepperd's method, w >= 0)."""
    m = np.asarray(rot, dtype=float)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0.0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s
    x, y, z, w = (float(v) for v in q)
    if w < 0.0:
        x, y, z, w = -x, -y, -z, -w
    return x, y, z, w


def quaternion_multiply(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Hamilton product a * b of (x, y, z, w) quaternions."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz)


@dataclass(frozen=True)
class _MovingJoint:
    name: str
    parent: str
    child: str
    kind: str
    xyz: tuple[float, float, float]
    quat: tuple[float, float, float, float]
    axis: tuple[float, float, float]
    rot: np.ndarray
    mimic: tuple[str, float, float] | None


class RoverFrames:
    """The frames of one rover description; `frame_prefix` is prepended to every frame id."""

    def __init__(self, model: Any, frame_prefix: str = '') -> None:
        self.prefix = frame_prefix
        self.static: list[Transform] = []
        self._moving: list[_MovingJoint] = []
        for j in model.joints.values():
            origin = np.asarray(j.origin, dtype=float)
            x, y, z = (float(v) for v in origin[:3, 3])
            xyz = (x, y, z)
            quat = quaternion_from_matrix(origin[:3, :3])
            parent, child = frame_prefix + j.parent, frame_prefix + j.child
            if j.movable:
                mimic = (j.mimic.joint, j.mimic.multiplier, j.mimic.offset) if j.mimic is not None else None
                ax, ay, az = (float(v) for v in j.axis)
                self._moving.append(_MovingJoint(j.name, parent, child, j.type, xyz, quat, (ax, ay, az),
                                                 origin[:3, :3], mimic))
            else:
                self.static.append((parent, child, xyz, quat))

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self._moving]

    def joint_transforms(self, positions: Mapping[str, float]) -> list[Transform]:
        """Transforms of the movable joints for the given positions (missing: 0, or from the mimic leader)."""
        out: list[Transform] = []
        for j in self._moving:
            q = positions.get(j.name)
            if q is None and j.mimic is not None:
                lead = positions.get(j.mimic[0], 0.0)
                q = j.mimic[1] * lead + j.mimic[2]
            q = float(q or 0.0)
            if not math.isfinite(q):
                continue
            ax, ay, az = j.axis
            if j.kind == 'prismatic':
                d = j.rot @ np.array([ax * q, ay * q, az * q])
                x, y, z = j.xyz[0] + float(d[0]), j.xyz[1] + float(d[1]), j.xyz[2] + float(d[2])
                out.append((j.parent, j.child, (x, y, z), j.quat))
            else:
                s = math.sin(q / 2.0)
                out.append((j.parent, j.child, j.xyz, quaternion_multiply(j.quat, (ax * s, ay * s, az * s,
                                                                                   math.cos(q / 2.0)))))
        return out

    def odom_transform(self, x: float, y: float, z: float, q: tuple[float, float, float, float],
                       parent: str = 'odom', child: str = 'base_link') -> Transform:
        return (self.prefix + parent, self.prefix + child, (x, y, z), q)


def tf_message(stamp_ns: int, transforms: Iterable[Transform]) -> SimpleNamespace:
    """A tf2_msgs/msg/TFMessage as a plain-object tree (every transform stamped `stamp_ns`)."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    items = []
    for parent, child, (x, y, z), (qx, qy, qz, qw) in transforms:
        items.append(SimpleNamespace(
            header=SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec), frame_id=parent),
            child_frame_id=child,
            transform=SimpleNamespace(translation=SimpleNamespace(x=float(x), y=float(y), z=float(z)),
                                      rotation=SimpleNamespace(x=float(qx), y=float(qy), z=float(qz),
                                                               w=float(qw)))))
    return SimpleNamespace(transforms=items)


__all__ = ['TF_TYPE', 'RoverFrames', 'quaternion_from_matrix', 'quaternion_multiply', 'tf_message']
