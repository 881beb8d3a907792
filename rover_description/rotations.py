"""Rotations, once for every layer: URDF roll-pitch-yaw and REP-145 quaternions to 3x3 matrices.

The description (URDF poses), the slope guard (IMU attitude), the drive controller and the
odometry (IMU mount) all turn the same numbers into the same matrices; this is the one copy.
URDF rpy is roll about x, then pitch about y, then yaw about z, all about fixed axes:
R = Rz(yaw) Ry(pitch) Rx(roll). Quaternions are (x, y, z, w). Pure math, numpy only.
"""

from __future__ import annotations

import math

import numpy as np

#: |norm - 1| a REP-145 orientation may be off by and still be read as a rotation (float32 and
#: fixed-point drivers, e.g. the BNO055's 1/16384 steps, are far inside it)
QUATERNION_NORM_TOLERANCE = 0.05


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation (3, 3) of URDF roll-pitch-yaw (rad, fixed axes x, y, z): Rz(yaw) Ry(pitch) Rx(roll)."""
    roll, pitch, yaw = float(roll), float(pitch), float(yaw)
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def matrix_rpy(rot: np.ndarray) -> tuple[float, float, float]:
    """Inverse of `rpy_matrix` (pitch in [-pi/2, pi/2]); rad."""
    pitch = math.asin(max(-1.0, min(1.0, -float(rot[2, 0]))))
    if abs(math.cos(pitch)) < 1e-9:  # gimbal lock: put everything in yaw
        return 0.0, pitch, math.atan2(-float(rot[0, 1]), float(rot[1, 1]))
    roll = math.atan2(float(rot[2, 1]), float(rot[2, 2]))
    yaw = math.atan2(float(rot[1, 0]), float(rot[0, 0]))
    return roll, pitch, yaw


def unit_quaternion(x: float, y: float, z: float, w: float,
                    tolerance: float = QUATERNION_NORM_TOLERANCE) -> tuple[float, float, float, float]:
    """The quaternion normalised; ValueError unless it is finite and |norm - 1| <= tolerance.

    The norm comes from math.hypot, which neither overflows (a 1e160-scaled quaternion is not
    read as level) nor underflows (a 2e-6 one is not a rotation, whatever its direction).
    """
    for name, value in (('qx', x), ('qy', y), ('qz', z), ('qw', w)):
        try:
            ok = math.isfinite(value)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f'{name} must be a finite number, got {value!r}')
    n = math.hypot(x, y, z, w)
    if not (math.isfinite(n) and abs(n - 1.0) <= tolerance):
        raise ValueError(f'orientation quaternion has norm {n:.6g}: not a unit quaternion '
                         f'(tolerance {tolerance})')
    return x / n, y / n, z / n, w / n


def quaternion_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """Rotation matrix (3, 3) of a unit quaternion (normalised here); ValueError if it is not one."""
    x, y, z, w = unit_quaternion(x, y, z, w)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
