"""Tilt and uphill direction from an IMU orientation (REP-145: imu_link relative to ENU world).

All vectors are numpy arrays of shape (3,). `up_in_base` is the world up axis (minus gravity,
unit length) expressed in base_link: its z component is cos(tilt) and its x, y components are
minus gravity projected on the body xy plane, i.e. the uphill direction with length sin(tilt).
"""

from __future__ import annotations

import math

import numpy as np

from rover_description.rotations import unit_quaternion
from rover_nav.safety.command import require_finite


def up_in_base(q_world_imu: tuple[float, float, float, float], r_base_imu: np.ndarray) -> np.ndarray:
    """World up (unit) in base_link, from the IMU quaternion (x, y, z, w) and the IMU mount.

    R_world_base = R_world_imu R_base_imu^T, so up_base = R_world_base^T e_z
    = R_base_imu (R_world_imu^T e_z) = R_base_imu @ (third row of R_world_imu).
    """
    x, y, z, w = unit_quaternion(*q_world_imu)
    # the third row of quaternion_matrix: only it is needed (this runs for every IMU message)
    return r_base_imu @ np.array([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)])


def tilt_of(up_base: np.ndarray) -> float:
    """Tilt (rad): the angle between body z and world up, 0 on level ground."""
    x, y, z = (float(v) for v in up_base)
    n = math.hypot(x, y, z)
    if not math.isfinite(n) or n < 1e-9:
        raise ValueError(f'up vector {up_base!r} has no direction')
    return math.acos(max(-1.0, min(1.0, z / n)))


def uphill_of(up_base: np.ndarray) -> tuple[float, float]:
    """Unit uphill direction (x, y) on the body xy plane, (0, 0) when level.

    This is minus gravity projected on body xy, normalised; a base_link velocity (v, 0) climbs
    when v * x > 0.
    """
    ux, uy = float(up_base[0]), float(up_base[1])
    n = math.hypot(ux, uy)
    if n < 1e-12:
        return 0.0, 0.0
    return ux / n, uy / n


class UpFilter:
    """First-order low-pass on the up vector (time constant `tau` s, explicit sample times).

    Filtering the vector, not the angle, keeps the uphill direction and the tilt consistent
    and has no wrap-around. alpha = 1 - exp(-dt / tau); the first sample initialises it.
    """

    def __init__(self, tau: float) -> None:
        require_finite(tau=tau)
        if tau < 0.0:
            raise ValueError(f'tau must be >= 0, got {tau}')
        self.tau = tau
        self.value: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self.value = None
        self._t = None

    def update(self, up: np.ndarray, now: float) -> np.ndarray:
        require_finite(now=now)
        if not np.all(np.isfinite(up)):
            raise ValueError(f'up vector {up!r} is not finite')
        if self.value is None or self._t is None or now < self._t:
            self.value = np.array(up, dtype=float)
        else:
            dt = now - self._t
            alpha = 1.0 if self.tau <= 0.0 else 1.0 - math.exp(-dt / self.tau)
            self.value = self.value + alpha * (np.asarray(up, dtype=float) - self.value)
        self._t = now
        return self.value
