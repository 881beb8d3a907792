"""The wheel layout both drive cores work on: the rover geometry as numpy arrays.

Built from a `RoverGeometry` (which `load_geometry(profile)` reads from the URDF), never from
copied numbers. Arrays are shape (n,) in the geometry's wheel order (fl, ml, rl, fr, mr, rr for the
real profiles); positions are the wheels' contact points (= steering axes) in `base_link` metres,
x forward, y left (REP-103). Fixed wheels have steer limits (0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_description.geometry import RoverGeometry


@dataclass(frozen=True, eq=False)
class WheelLayout:
    """Wheel positions, radii and steering limits as arrays (read-only views)."""

    names: tuple[str, ...]
    wheel_joints: tuple[str, ...]
    steer_joints: tuple[str | None, ...]
    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    steerable: np.ndarray  # bool
    steer_min: np.ndarray  # rad
    steer_max: np.ndarray  # rad
    max_steer_rate: float  # rad/s
    max_wheel_rate: float = math.inf  # rad/s, the wheel motors' limit (URDF joint velocity limit)

    @classmethod
    def from_geometry(cls, geometry: RoverGeometry) -> WheelLayout:
        """Arrays from the description's `RoverGeometry`; raises ValueError on a degenerate layout."""
        wheels = geometry.wheels
        if len(wheels) < 2:
            raise ValueError(f'geometry: need at least 2 wheels, got {len(wheels)}')

        def arr(values: object, dtype: type = float) -> np.ndarray:
            a: np.ndarray = np.array(values, dtype=dtype)
            a.setflags(write=False)
            return a

        layout = cls(
            names=tuple(w.name for w in wheels),
            wheel_joints=tuple(w.joint for w in wheels),
            steer_joints=tuple(w.steer_joint for w in wheels),
            x=arr([w.x for w in wheels]),
            y=arr([w.y for w in wheels]),
            radius=arr([w.radius for w in wheels]),
            steerable=arr([w.steerable for w in wheels], bool),
            steer_min=arr([w.steer_min if w.steerable else 0.0 for w in wheels]),
            steer_max=arr([w.steer_max if w.steerable else 0.0 for w in wheels]),
            max_steer_rate=float(geometry.max_steer_rate),
            max_wheel_rate=float(getattr(geometry, 'max_wheel_rate', None) or math.inf),
        )
        layout._check()
        return layout

    def _check(self) -> None:
        for label, a in (('x', self.x), ('y', self.y), ('radius', self.radius),
                         ('steer_min', self.steer_min), ('steer_max', self.steer_max)):
            if not np.all(np.isfinite(a)):
                raise ValueError(f'geometry: wheel {label} must be finite, got {a.tolist()}')
        if np.any(self.radius <= 0.0):
            raise ValueError(f'geometry: wheel radius must be > 0, got {self.radius.tolist()}')
        if np.any(self.steer_min > 0.0) or np.any(self.steer_max < 0.0):
            raise ValueError('geometry: steering limits must include 0 (straight ahead)')
        if not (math.isfinite(self.max_steer_rate) and self.max_steer_rate > 0.0):
            raise ValueError(f'geometry: max_steer_rate must be > 0 rad/s, got {self.max_steer_rate}')
        if np.ptp(self.y) <= 0.0:
            raise ValueError('geometry: the wheels must not all be on one line along x (no track width)')

    @property
    def max_surface_speed(self) -> float:
        """m/s: the slowest wheel's motor limit as a surface speed (inf when the description gives none)."""
        return float(np.min(self.max_wheel_rate * self.radius))

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def steer_joint_names(self) -> tuple[str, ...]:
        """Joint names of the steerable wheels, in wheel order."""
        return tuple(j for j in self.steer_joints if j is not None)

    @property
    def steer_index(self) -> np.ndarray:
        """Indices (into the wheel arrays) of the steerable wheels, in wheel order."""
        return np.flatnonzero(self.steerable)
