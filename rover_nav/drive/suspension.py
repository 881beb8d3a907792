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


def correction(model: SuspensionModel, steer: np.ndarray, rates: np.ndarray | Sequence[float]) -> np.ndarray:
    """Unbounded per-wheel correction (rad/s, (n,)) to subtract from the wheel rate commands.

    steer: (n,) rad, the corners' angles (0 for fixed wheels); rates: [body pitch, joint rates...].
    """
    out: np.ndarray = np.cos(np.asarray(steer, dtype=float)) * (model.coeff @ np.asarray(rates, dtype=float))
    return out


class RateFilter:
    """Quasi-static link rates for the compensation: spikes rejected, the rest low-passed.

    The correction is a feedback loop through the suspension (a wheel's torque pitches its bogie).
    Fed with raw joint rates at the 10 Hz command rate it locks onto the suspension's fast bounce
    (rates of 0.5 rad/s right after a point turn) and drives it. The pitching it is meant for is slow
    (a wheel dropping over an edge: ~0.02 rad/s for seconds), so: any rate above `spike` (rad/s)
    means "not quasi-static" and gives no correction (the filter restarts from zero), and the rest is
    low-passed with time constant `tau` (s). Times in seconds on any monotonic clock.
    """

    def __init__(self, tau: float = 0.3, spike: float = 0.1, max_gap: float = 0.5) -> None:
        if not (tau >= 0.0 and spike > 0.0 and max_gap > 0.0):
            raise ValueError(f'RateFilter: need tau >= 0, spike > 0, max_gap > 0; got {tau}, {spike}, {max_gap}')
        self.tau, self.spike, self.max_gap = tau, spike, max_gap
        self._state: list[float] | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._state, self._t = None, None

    def update(self, rates: np.ndarray | None, t: float) -> np.ndarray | None:
        """The filtered [body, joints...] rates at time t, or None (no correction this time)."""
        values = self.update_list(rates, t)
        return None if values is None else np.array(values)

    def update_list(self, rates: Sequence[float] | np.ndarray | None, t: float) -> list[float] | None:
        """`update` on plain floats (a new list; this runs once per command with ~5 rates)."""
        if rates is None:
            self.reset()
            return None
        values = [float(r) for r in rates]
        spike = self.spike
        for r in values:  # NaN fails the comparison: not finite means no correction, as does a spike
            if not abs(r) <= spike:
                self.reset()
                return None
        state = self._state
        if state is None or self._t is None or not 0.0 <= t - self._t <= self.max_gap or len(state) != len(values):
            state = [0.0] * len(values)  # ramp in from no correction
            self._t = t
        alpha = 1.0 if self.tau == 0.0 else 1.0 - math.exp(-(t - self._t) / self.tau)
        state = [s + alpha * (r - s) for s, r in zip(state, values, strict=True)]
        self._state = state
        self._t = t
        return list(state)


class SuspensionCompensator:
    """The correction for a stream of commands: only in steady driving, with filtered rates.

    Each wheel's change is clipped to `max_fraction` (in [0, 1)) of its own command, so zero stays
    zero and no wheel reverses; the result also stays within the motors' `max_wheel_rate`.

    Start-up, stops, speed changes and the first moments after a point turn pitch the links by the
    motors' own reaction torques and bounce the suspension; correcting those feeds the bounce. So
    the correction applies only once the wheel-rate command has been steady (every wheel within 2 %
    of its previous command, none zero) for `settle_s` seconds, with rates from a `RateFilter`. With
    `axle_groups` it is averaged per left/right pair (it never steers). It only ever slows a wheel:
    the cap is a speed cap, and a speed-up is what the model gets wrong on ground tilted differently
    under the front and rear wheels.
    """

    def __init__(self, model: SuspensionModel, max_fraction: float = 0.2, settle_s: float = 1.0,
                 rate_filter: RateFilter | None = None, axle_groups: np.ndarray | None = None) -> None:
        self.model = model
        self.axle_groups = axle_groups
        self.max_fraction = max_fraction
        self.settle_s = settle_s
        self.filter = rate_filter or RateFilter()
        self._last_cmd: list[float] | None = None
        self._steady_since: float | None = None
        self.active = False  # was the last command corrected?

    def command(self, wheel_rate: np.ndarray, steer: np.ndarray, rates: Sequence[float] | None, t: float,
                max_wheel_rate: float = math.inf) -> np.ndarray:
        """wheel_rate (rad/s, (n,)) corrected, or unchanged while unsteady / without fresh rates.

        Worked on plain floats (6 wheels: numpy's per-call cost was most of the time); the products
        K @ rates and cos(steer) stay numpy calls, and every other step is the same float operation
        as in the numpy reference (test/drive/reference_suspension.py; clips and minima as numpy
        evaluates them), so the results are the same to the bit (test_float_paths).
        """
        cmd = np.array(wheel_rate, dtype=float)
        values = cmd.tolist()
        last = self._last_cmd
        steady = False
        if last is not None and len(last) == len(values):
            steady = True
            for c, p in zip(values, last, strict=True):
                if not (c != 0.0 and abs(c - p) <= 0.02 * abs(p)):
                    steady = False
                    break
        if not steady or self._steady_since is None:
            self._steady_since = t
        self._last_cmd = values
        filtered = self.filter.update_list(rates, t)
        self.active = filtered is not None and t - self._steady_since >= self.settle_s
        if filtered is None or not self.active:
            return cmd
        fraction = self.max_fraction
        if fraction <= 0.0:
            outs = values  # no correction: the commands as they are
        else:
            if not fraction < 1.0:
                raise ValueError(f'max_fraction must be in [0, 1), got {fraction}')
            outs = []
            corr = correction(self.model, steer, filtered).tolist()
            limit = max_wheel_rate if math.isfinite(max_wheel_rate) else None
            for c, k in zip(values, corr, strict=True):
                bound = fraction * abs(c)
                lo = -bound
                k = k if k > lo else lo  # np.clip as numpy evaluates it: min(max(x, lo), hi)
                k = k if k < bound else bound
                out = c - k
                if limit is not None:
                    out = out if out > -limit else -limit
                    out = out if out < limit else limit
                outs.append(out)
        if self.axle_groups is not None:
            outs = _plus_common_mode(values, outs, self.axle_groups)
        result = []
        for c, out in zip(values, outs, strict=True):  # np.sign(cmd) * np.minimum(|out|, |cmd|)
            a, b = abs(out), abs(c)
            result.append((1.0 if c > 0.0 else -1.0 if c < 0.0 else 0.0) * (a if a <= b else b))
        return np.array(result)


def _plus_common_mode(cmd: list[float], out: list[float], groups: np.ndarray) -> list[float]:
    """`cmd + common_mode(out - cmd, groups)` on floats for pairs (an axle); larger groups go through numpy."""
    members = _group_members(groups)
    if any(len(m) > 2 for m in members):
        summed: list[float] = (np.asarray(cmd) + common_mode(np.asarray(out) - np.asarray(cmd), groups)).tolist()
        return summed
    delta = [o - c for o, c in zip(out, cmd, strict=True)]
    result = list(cmd)
    for m in members:
        total = 0.0
        for i in m:
            total += delta[i]
        mean = total / len(m)  # np.mean of one or two values, to the bit
        for i in m:
            result[i] = cmd[i] + mean
    return result


_GROUP_MEMBERS: dict[bytes, tuple[tuple[int, ...], ...]] = {}


def _group_members(groups: np.ndarray) -> tuple[tuple[int, ...], ...]:
    key = np.asarray(groups).tobytes()
    members = _GROUP_MEMBERS.get(key)
    if members is None:
        g = np.asarray(groups).tolist()  # np.unique's order (sorted), without its first-call import of numpy.ma
        members = tuple(tuple(i for i, gi in enumerate(g) if gi == k) for k in sorted(set(g)))
        _GROUP_MEMBERS[key] = members
    return members


def axle_groups(x: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Group index per wheel: wheels at the same x (within tol m) share an axle (left/right pair)."""
    groups = np.full(len(x), -1)
    for i in range(len(x)):
        if groups[i] < 0:
            groups[(groups < 0) & (np.abs(np.asarray(x) - x[i]) <= tol)] = groups.max() + 1
    return groups


def common_mode(delta: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """delta averaged over each group: a change that speeds or slows an axle but never steers the rover."""
    out = np.empty_like(delta)
    for g in np.unique(groups):
        out[groups == g] = np.mean(delta[groups == g])
    return out
