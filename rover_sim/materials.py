"""What the ground is made of, per terrain cell: regolith, rock or the lander's metal. Pure numpy.

Regolith is soil: the terramechanics (`rover_sim.terramechanics`) limits a wheel's traction, the
wheel sinks and leaves a rut. Rock and metal are rigid: a wheel on them has plain Coulomb contact
(the friction coefficient below), no soil shear or compaction resistance, no sinkage and no rut.
`build_terrain` writes the map (`Terrain.materials`): a rock's cells where it stands at least
`ROCK_MIN_EXPOSED_M` out of the ground it was placed on (its low flank is taken as buried in
regolith), the lander's deck and ramp as metal. docs/simulator.md ("Rigid things") gives the
sources of the friction coefficients.
"""

from __future__ import annotations

import math

import numpy as np

REGOLITH, ROCK, METAL = 0, 1, 2
NAMES = ('regolith', 'rock', 'metal')
#: A rock's cells are rock where it stands at least this far (m) out of the ground it was placed on.
ROCK_MIN_EXPOSED_M = 0.01
#: Coulomb friction of a wheel on rigid ground (docs/simulator.md): rock 0.7 (Byerlee 1978's rock
#: friction, 0.6-0.85 at low normal stress), metal 0.6 (dry aluminium on steel, engineering handbooks).
COULOMB_FRICTION = {ROCK: 0.7, METAL: 0.6}
#: MuJoCo's contact friction on regolith: only a cap, the slip hinge (soil shear) limits traction before it.
#: 1.0 is what the contact had before the material map (the heightfield's default friction won the max).
SOIL_CONTACT_FRICTION = 1.0


def contact_friction(material: int) -> float:
    """The contact friction coefficient of a wheel on `material`."""
    return COULOMB_FRICTION.get(int(material), SOIL_CONTACT_FRICTION)


def distance_to_cells(mask: np.ndarray, resolution: float, max_distance: float) -> np.ndarray:
    """Distance (m) from every node to the nearest True node of `mask`, 0 on it; inf beyond max_distance.

    A brute-force dilation over the offsets within max_distance (a few cells: the fade of a rut next to
    rigid ground), so no image-processing dependency is needed.
    """
    if not (math.isfinite(resolution) and resolution > 0.0 and math.isfinite(max_distance) and max_distance >= 0.0):
        raise ValueError(f'distance_to_cells: bad resolution {resolution!r} or max_distance {max_distance!r}')
    mask = np.asarray(mask, dtype=bool)
    out = np.where(mask, 0.0, np.inf)
    if not mask.any():
        return out
    reach = int(math.ceil(max_distance / resolution))
    ny, nx = mask.shape
    for di in range(-reach, reach + 1):
        for dj in range(-reach, reach + 1):
            dist = math.hypot(di, dj) * resolution
            if (di == 0 and dj == 0) or dist > max_distance + 1e-9 * resolution:
                continue
            # out[i, j] <- dist where mask[i + di, j + dj]
            src = mask[max(di, 0):ny + min(di, 0), max(dj, 0):nx + min(dj, 0)]
            dst = out[max(-di, 0):ny + min(-di, 0), max(-dj, 0):nx + min(-dj, 0)]
            np.minimum(dst, np.where(src, dist, np.inf), out=dst)
    return out
