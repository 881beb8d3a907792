"""Turning scrub: the moment with which soil resists a rolling wheel's yaw. Pure numpy, no MuJoCo.

Exact four-corner steering lets a slow arc run without side force at the wheel centres, yet the
contact patch (b wide, L long) still twists on the ground: with the wheel turning about a centre
R away (y positive away from it, x forward, both from the patch centre), the ground under the
patch moves backwards at v (1 + y/R) and sideways at v x / R in the wheel's frame, while every
tread point moves backwards at v. A tread point that entered the patch at (L/2, y) has, at x,
displaced the soil under it by

    j_x = y (L/2 - x) / R,    j_y = (L^2/4 - x^2) / (2 R)

The soil answers with Janosi-Hanamoto shear along j, ``tau = tau_max (1 - exp(-|j|/K))``,
``tau_max = c + sigma tan(phi)`` at the patch's mean pressure ``sigma = W / (b L)``; the moment of
those stresses about the patch centre opposes the yaw. For |j| << K it is linear in 1/R,
``M = tau_max b^3 L^2 / (24 K R)`` (the width term; the x term integrates to zero); for R -> 0 it
tends to the fully mobilised moment of the same shear directions. The patch length of a rigid
wheel sunk z with the exit at the bottom (Wong-Reece) is ``L = r sin(theta_1)``,
``cos(theta_1) = 1 - z/r``. Sources: the lateral displacement form of Ishigami, Miwa, Nagatani and
Yoshida (2007, "Terramechanics-based model for steering maneuver of planetary exploration rovers
on loose soil", J. Field Robotics 24(3), 233-250); Janosi and Hanamoto (1961) for the shear.
"""

from __future__ import annotations

import math

import numpy as np

#: Integration points along and across the patch (midpoint rule).
_GRID = 24
#: A patch is never shorter than this (m): a wheel on firm ground still touches a strip.
MIN_PATCH_LENGTH = 0.01


def patch_length(radius: float, sinkage: np.ndarray) -> np.ndarray:
    """Contact length (m) of a rigid wheel of `radius` sunk `sinkage` (exit angle 0): r sin(theta_1)."""
    z = np.clip(np.asarray(sinkage, dtype=float), 0.0, radius)
    cos_t1 = 1.0 - z / radius
    return np.maximum(radius * np.sqrt(np.maximum(1.0 - cos_t1 * cos_t1, 0.0)), MIN_PATCH_LENGTH)


def scrub_moment(turn_radius: np.ndarray, load: np.ndarray, length: np.ndarray, width: float,
                 cohesion: float, friction_deg: float, shear_k: float) -> np.ndarray:
    """Moment (N m, >= 0) resisting each wheel's yaw while it rolls on an arc of `turn_radius` (m).

    All array arguments broadcast against each other; an infinite radius (straight) gives 0, a zero
    radius (yawing in place) the fully mobilised moment. Loads <= 0 give 0.
    """
    r_turn = np.abs(np.asarray(turn_radius, dtype=float))
    w = np.maximum(np.asarray(load, dtype=float), 0.0)
    length = np.asarray(length, dtype=float)
    r_turn, w, length = np.broadcast_arrays(r_turn, w, length)
    sigma = w / (width * length)
    tau_max = cohesion + sigma * math.tan(math.radians(friction_deg))
    # unit-square midpoints, scaled per wheel: u along (x = u L), v across (y = v b)
    u = (np.arange(_GRID) + 0.5) / _GRID - 0.5
    uu, vv = np.meshgrid(u, u, indexing='ij')
    x = uu * length[..., None, None]
    y = vv * width
    half = 0.5 * length[..., None, None]
    jx0 = y * (half - x)  # displacement times R
    jy0 = 0.5 * (half * half - x * x)
    norm0 = np.hypot(jx0, jy0)
    with np.errstate(divide='ignore', invalid='ignore'):
        inv_r = np.where(np.isinf(r_turn), 0.0, 1.0 / r_turn)[..., None, None]
        # shear stress per unit displacement direction; R -> 0 (inv_r -> inf) mobilises it fully
        mobilised = np.where(np.isinf(inv_r), 1.0, -np.expm1(-norm0 * inv_r / shear_k))
        arm = np.where(norm0 > 0.0, (x * jy0 - y * jx0) / norm0, 0.0)
    cell_area = length * width / (_GRID * _GRID)
    moment = np.abs((arm * mobilised).sum(axis=(-2, -1)) * cell_area) * tau_max
    return np.where(w > 0.0, moment, 0.0)

