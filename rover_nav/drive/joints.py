"""Between the drive cores' per-wheel arrays and sensor_msgs/JointState fields (plain lists, no rclpy).

Joint command format (ROVER_SPEC section 3): all 10 steer + wheel joints named; `position` (rad)
for steering joints, `velocity` (rad/s, positive rolls forward) for wheel joints, NaN where a
field is not commanded.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
import math

import numpy as np

from rover_nav.drive.layout import WheelLayout


def command_fields(layout: WheelLayout, steer: np.ndarray,
                   wheel_rate: np.ndarray) -> tuple[list[str], list[float], list[float]]:
    """(name, position, velocity) lists: steer joints first (wheel order), then wheel joints."""
    idx = layout.steer_index
    names = [*layout.steer_joint_names, *layout.wheel_joints]
    nan_wheels = [math.nan] * layout.n
    position = [float(a) for a in steer[idx]] + nan_wheels
    velocity = [math.nan] * len(idx) + [float(r) for r in wheel_rate]
    return names, position, velocity


class JointStateError(ValueError):
    """A JointState whose arrays do not match its names."""


@functools.lru_cache(maxsize=64)
def _index_map(names: tuple[str, ...], wanted: tuple[str | None, ...]) -> tuple[tuple[int, int], ...]:
    """(k, i) pairs: wanted[k] is names[i] (the last one of that name). A sender names its joints
    the same way in every message, so this is worked out once per (names, wanted) pair."""
    index = {name: i for i, name in enumerate(names)}
    return tuple((k, index[joint]) for k, joint in enumerate(wanted) if joint is not None and joint in index)


def _lookup(names: Sequence[str], values: Sequence[float], wanted: Sequence[str | None], field: str) -> np.ndarray:
    if len(values) == 0:
        return np.full(len(wanted), np.nan)
    if len(values) != len(names):
        raise JointStateError(f'{field} has {len(values)} entries for {len(names)} names')
    out = np.full(len(wanted), np.nan)
    for k, i in _index_map(tuple(names), tuple(wanted)):
        out[k] = float(values[i])
    return out


def steer_angles(layout: WheelLayout, names: Sequence[str], position: Sequence[float]) -> np.ndarray:
    """Measured steering angle per wheel (rad, (n,)): 0 for fixed wheels, NaN when not reported."""
    angles = _lookup(names, position, layout.steer_joints, 'position')
    angles[~layout.steerable] = 0.0
    return angles


def wheel_values(layout: WheelLayout, names: Sequence[str], values: Sequence[float], field: str) -> np.ndarray:
    """Per-wheel entries (n,) of a JointState array (`field` names it in errors); NaN when not reported."""
    return _lookup(names, values, layout.wheel_joints, field)
