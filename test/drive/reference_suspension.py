"""The numpy reference of the suspension correction, for the tests only.

`SuspensionCompensator.command` runs the same steps on plain floats (numpy's per-call cost on six
wheels was most of the drive controller's time per command); test_float_paths holds the two to the
bit, and test_suspension checks the reference's properties. The product K @ rates is the
production `correction`.
"""

from __future__ import annotations

import math

import numpy as np

from rover_nav.drive.suspension import SuspensionModel, correction


def compensate(model: SuspensionModel, wheel_rate: np.ndarray, steer: np.ndarray, rates: np.ndarray | None,
               max_fraction: float, max_wheel_rate: float = math.inf) -> np.ndarray:
    """Wheel rate commands (rad/s, (n,)) with the suspension's pitching taken out.

    rates None (stale or missing) -> the commands unchanged. Each wheel's change is clipped to
    `max_fraction` (in [0, 1)) of its own command, so zero stays zero and no wheel reverses; the
    result also stays within the motors' `max_wheel_rate`.
    """
    cmd = np.asarray(wheel_rate, dtype=float)
    if rates is None or max_fraction <= 0.0:
        return cmd.copy()
    if not 0.0 <= max_fraction < 1.0:
        raise ValueError(f'max_fraction must be in [0, 1), got {max_fraction}')
    bound = max_fraction * np.abs(cmd)
    corr = np.clip(correction(model, steer, rates), -bound, bound)
    out = cmd - corr
    return np.clip(out, -max_wheel_rate, max_wheel_rate) if math.isfinite(max_wheel_rate) else out
