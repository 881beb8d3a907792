"""Between the drive cores' per-wheel arrays and sensor_msgs/JointState fields (plain lists, no rclpy).

Joint command format (ROVER_SPEC section 3): all 10 steer + wheel joints named; `position` (rad)
for steering joints, `velocity` (rad/s, positive rolls forward) for wheel joints, NaN where a
field is not commanded.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
import weakref

import numpy as np

from rover_nav.drive.layout import WheelLayout


def command_fields(layout: WheelLayout, steer: np.ndarray,
                   wheel_rate: np.ndarray) -> tuple[list[str], list[float], list[float]]:
    """(name, position, velocity) lists: steer joints first (wheel order), then wheel joints."""
    names, idx, nan_steer, nan_wheels = _command_layout(layout)
    angles = np.asarray(steer, dtype=float).tolist()
    position = [angles[i] for i in idx] + nan_wheels
    velocity = nan_steer + np.asarray(wheel_rate, dtype=float).tolist()
    return list(names), position, velocity


_CommandLayout = tuple[tuple[str, ...], list[int], list[float], list[float]]
_COMMAND_LAYOUTS: weakref.WeakKeyDictionary[WheelLayout, _CommandLayout] = weakref.WeakKeyDictionary()


def _command_layout(layout: WheelLayout) -> _CommandLayout:
    """(joint names, steerable wheel indices, NaN per steer joint, NaN per wheel), worked out once per layout."""
    fields = _COMMAND_LAYOUTS.get(layout)
    if fields is None:
        idx = layout.steer_index.tolist()
        fields = ((*layout.steer_joint_names, *layout.wheel_joints), idx, [math.nan] * len(idx),
                  [math.nan] * layout.n)
        _COMMAND_LAYOUTS[layout] = fields
    return fields


class JointStateError(ValueError):
    """A JointState whose arrays do not match its names."""


def steer_angles(layout: WheelLayout, names: Sequence[str], position: Sequence[float]) -> np.ndarray:
    """Measured steering angle per wheel (rad, (n,)): 0 for fixed wheels, NaN when not reported."""
    return np.array(JointIndex(layout).steer_angles(names, position))


def wheel_values(layout: WheelLayout, names: Sequence[str], values: Sequence[float], field: str) -> np.ndarray:
    """Per-wheel entries (n,) of a JointState array (`field` names it in errors); NaN when not reported."""
    return np.array(JointIndex(layout).wheel_values(names, values, field))


class JointIndex:
    """`steer_angles` / `wheel_values` for a stream of JointStates from one sender, on plain floats.

    A sender names its joints the same way in every message: the index maps are worked out for
    the first name list and kept while the names stay equal (one list comparison per message
    instead of a tuple of the names hashed per lookup).
    """

    def __init__(self, layout: WheelLayout, extra: Sequence[str] = ()) -> None:
        """extra: other joints the node reads all or none of (the drive controller's suspension joints)."""
        self.layout = layout
        self.extra = tuple(extra)
        self._steerable = tuple(layout.steerable.tolist())
        self._names: list[str] | None = None
        self._steer: tuple[tuple[int, int], ...] = ()
        self._wheel: tuple[tuple[int, int], ...] = ()
        self._steer_named: tuple[bool, ...] = ()
        self._extra: tuple[int, ...] | None = None

    def _maps(self, names: Sequence[str]) -> None:
        if self._names is not None and self._names == names:
            return
        key = list(names)  # a copy: a received message is not ours to keep
        index = {name: i for i, name in enumerate(key)}  # a repeated name: its last one
        self._steer = tuple((k, index[j]) for k, j in enumerate(self.layout.steer_joints)
                            if j is not None and j in index and self._steerable[k])
        self._wheel = tuple((k, index[j]) for k, j in enumerate(self.layout.wheel_joints) if j in index)
        self._steer_named = tuple(j in index for j in self.layout.steer_joint_names)
        self._extra = tuple(index[j] for j in self.extra) if all(j in index for j in self.extra) else None
        self._names = key

    def steer_named(self, names: Sequence[str]) -> tuple[bool, ...]:
        """Per steering joint (layout.steer_joint_names order): does `names` name it?"""
        self._maps(names)
        return self._steer_named

    def extra_indices(self, names: Sequence[str]) -> tuple[int, ...] | None:
        """Where the `extra` joints stand in `names`, or None unless all of them are named."""
        self._maps(names)
        return self._extra

    def steer_angles(self, names: Sequence[str], position: Sequence[float]) -> list[float]:
        """As `steer_angles`, as a list: 0 for fixed wheels, NaN when not reported; JointStateError on a
        length mismatch."""
        angles = [0.0 if not s else math.nan for s in self._steerable]
        if len(position) == 0:
            return angles
        if len(position) != len(names):
            raise JointStateError(f'position has {len(position)} entries for {len(names)} names')
        self._maps(names)
        for k, i in self._steer:
            angles[k] = float(position[i])
        return angles

    def wheel_values(self, names: Sequence[str], values: Sequence[float], field: str) -> list[float]:
        """As `wheel_values`, as a list (NaN when not reported)."""
        out = [math.nan] * self.layout.n
        if len(values) == 0:
            return out
        if len(values) != len(names):
            raise JointStateError(f'{field} has {len(values)} entries for {len(names)} names')
        self._maps(names)
        for k, i in self._wheel:
            out[k] = float(values[i])
        return out
