"""Suspension compensation: wheel rate commands corrected for the pitching of the links the motors sit on.

Why: the hub motors are rate controlled *relative to their carrier* (the rocker for the front
wheels, the bogie for the middle and rear ones). When a carrier pitches (a wheel drops over an
edge, the body tips onto a ramp), the wheel's absolute spin is motor rate + carrier pitch rate, and
the rigid chain from the wheel centre up to `base_link` swings, so `base_link` moves faster or
slower than the commanded surface speed. For each wheel i, with pitch rates about base_link's +y
(REP-103: positive = nose down), rolling without slip along its heading:

    v_base,i = cos(d_i) * [r_i * (w_motor,i + w_carrier,i) + sum_k w_k * dz_k]

where the sum runs over the rigid segments from the wheel centre up the kinematic chain to
`base_link` (dz_k: the segment's height, parent origin minus child origin, at nominal stance;
w_k: the absolute pitch rate of the link the segment is fixed in). Asking v_base,i = r_i * w_cmd,i
gives w_motor,i = w_cmd,i - correction_i with correction = cos(d) * (K @ [w_body, q_dot...]).
`K` (n_wheels, 1 + n_joints) is built once from the URDF chain (`SuspensionModel.from_urdf`),
never from copied numbers. For a bogie wheel with the rocker still this is
`[w_bogie (r + h) - h w_body] / r` with h the bogie pivot height above the axle.

Pure numpy, no ROS. Rates: rad/s. The correction is bounded to a fraction of each wheel's command,
so a zero command stays zero, a wheel never reverses and a wrong rate can do limited harm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Any

import numpy as np

PITCH_AXIS = np.array([0.0, 1.0, 0.0])
_AXIS_EPS = 1e-9


@dataclass(frozen=True, eq=False)
class SuspensionModel:
    """Coefficients turning [body pitch rate, joint rates] into per-wheel rate corrections.

    joints: the pitch joints between base_link and the wheel carriers (joint_states names).
    coeff: (n_wheels, 1 + len(joints)); column 0 multiplies the body pitch rate (gyro).
    """

    joints: tuple[str, ...]
    coeff: np.ndarray

    @classmethod
    def from_urdf(cls, model: Any, wheel_joints: Sequence[str], radius: Sequence[float]) -> SuspensionModel:
        """Walk each wheel's chain in a `rover_description.urdf_model.UrdfModel` (nominal stance, q = 0).

        Raises ValueError for a wheel joint the model lacks, a radius <= 0, or a wheel axis that is not
        base_link's y axis (the formula assumes pitch-axis wheels).
        """
        if len(wheel_joints) != len(radius):
            raise ValueError('one radius per wheel joint')
        poses = model.link_transforms()
        by_child = {j.child: j for j in model.joints.values()}

        def pitch_component(joint: Any) -> float:
            if joint.type not in ('revolute', 'continuous'):
                return 0.0
            parent_rot = poses[joint.parent][:3, :3] @ joint.origin[:3, :3]
            return float((parent_rot @ np.asarray(joint.axis, dtype=float)) @ PITCH_AXIS)

        # pitch joints on the wheels' chains (wheel joints excluded), in a stable order
        chains: list[list[Any]] = []
        names: list[str] = []
        for wj, r in zip(wheel_joints, radius, strict=True):
            if wj not in model.joints:
                raise ValueError(f'wheel joint {wj!r} not in the description')
            if not (math.isfinite(r) and r > 0.0):
                raise ValueError(f'wheel {wj!r}: radius must be > 0, got {r}')
            wheel = model.joints[wj]
            if abs(abs(pitch_component(wheel)) - 1.0) > 1e-6:
                raise ValueError(f'wheel joint {wj!r}: axis must be base_link y for suspension compensation')
            chain = []
            link = wheel.parent
            while link in by_child:  # carrier up to the root
                joint = by_child[link]
                chain.append(joint)
                if abs(pitch_component(joint)) > _AXIS_EPS and joint.name not in names:
                    names.append(joint.name)
                link = joint.parent
            chains.append(chain)
        column = {name: 1 + i for i, name in enumerate(names)}

        def rate_coeff(link: str) -> np.ndarray:
            """Absolute pitch rate of `link` as a row over [body, joints]."""
            row = np.zeros(1 + len(names))
            row[0] = 1.0
            while link in by_child:
                joint = by_child[link]
                s = pitch_component(joint)
                if abs(s) > _AXIS_EPS:
                    row[column[joint.name]] += s
                link = joint.parent
            return row

        coeff = np.zeros((len(wheel_joints), 1 + len(names)))
        for i, (wj, r) in enumerate(zip(wheel_joints, radius, strict=True)):
            wheel = model.joints[wj]
            sign = math.copysign(1.0, pitch_component(wheel))  # motor rate along +y
            row = rate_coeff(wheel.parent)  # carrier spin adds to the motor's
            for joint in (wheel, *chains[i]):  # segment child origin -> parent origin, fixed in the parent
                dz = float(poses[joint.parent][2, 3] - poses[joint.child][2, 3])
                row = row + rate_coeff(joint.parent) * dz / float(r)
            coeff[i] = sign * row
        coeff.setflags(write=False)
        return cls(tuple(names), coeff)

    def rates_vector(self, body_pitch_rate: float, joint_rates: dict[str, float]) -> np.ndarray | None:
        """[body, joints...] or None when a joint rate is missing or any value is not finite."""
        values = [body_pitch_rate]
        for name in self.joints:
            if name not in joint_rates:
                return None
            values.append(joint_rates[name])
        vec = np.asarray(values, dtype=float)
        return vec if np.all(np.isfinite(vec)) else None


def correction(model: SuspensionModel, steer: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Unbounded per-wheel correction (rad/s, (n,)) to subtract from the wheel rate commands.

    steer: (n,) rad, the corners' angles (0 for fixed wheels); rates: [body pitch, joint rates...].
    """
    return np.cos(np.asarray(steer, dtype=float)) * (model.coeff @ np.asarray(rates, dtype=float))


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
