"""The per-message float paths give the same numbers, to the bit, as the numpy reference code they replace.

The drive and odometry nodes run their hot paths on plain floats (a handful of wheels: numpy's per-call
cost was most of the time). These tests drive both routes with the same random and edge-case inputs
(signed zeros, zero commands, spikes, stale rates, NaN wheels) and compare the bits, so a later edit
that changes a rounding or a signed zero shows up here and not as a drifting drive.
"""

from __future__ import annotations

import math
import random
import re

from drive.reference_suspension import compensate
import numpy as np
import pytest

from rover_description.description import urdf_model
from rover_nav.drive import joints
from rover_nav.drive.odometry import Odometry2D, estimate_twist
from rover_nav.drive.suspension import (
    RateFilter,
    SuspensionCompensator,
    SuspensionModel,
    axle_groups,
    common_mode,
)


def bits(values: object) -> bytes:
    return np.asarray(values, dtype=float).tobytes()


class ReferenceCompensator:
    """`SuspensionCompensator.command` as it was written with numpy: `compensate` and `common_mode`."""

    def __init__(self, model: SuspensionModel, max_fraction: float, settle_s: float, groups: np.ndarray | None,
                 tau: float, spike: float) -> None:
        self.model, self.max_fraction, self.settle_s, self.groups = model, max_fraction, settle_s, groups
        self.tau, self.spike = tau, spike
        self.state: np.ndarray | None = None
        self.t: float | None = None
        self.last: np.ndarray | None = None
        self.since: float | None = None
        self.active = False

    def _filter(self, rates: np.ndarray | None, t: float) -> np.ndarray | None:
        if rates is None or not np.all(np.isfinite(rates)) or np.max(np.abs(rates)) > self.spike:
            self.state, self.t = None, None
            return None
        if self.state is None or self.t is None or not 0.0 <= t - self.t <= 0.3:
            self.state, self.t = np.zeros_like(rates), t
        alpha = 1.0 if self.tau == 0.0 else 1.0 - math.exp(-(t - self.t) / self.tau)
        self.state = self.state + alpha * (rates - self.state)
        self.t = t
        return self.state.copy()

    def command(self, cmd: np.ndarray, steer: np.ndarray, rates: np.ndarray | None, t: float,
                max_wheel_rate: float) -> np.ndarray:
        last = self.last
        steady = (last is not None and bool(np.all(cmd != 0.0))
                  and bool(np.all(np.abs(cmd - last) <= 0.02 * np.abs(last))))
        if not steady or self.since is None:
            self.since = t
        self.last = cmd.copy()
        filtered = self._filter(rates, t)
        self.active = filtered is not None and t - self.since >= self.settle_s
        if not self.active:
            return cmd.copy()
        out = compensate(self.model, cmd, steer, filtered, self.max_fraction, max_wheel_rate)
        if self.groups is not None:
            out = cmd + common_mode(out - cmd, self.groups)
        return np.sign(cmd) * np.minimum(np.abs(out), np.abs(cmd))


@pytest.mark.parametrize('seed', range(4))
def test_suspension_compensator_matches_the_numpy_reference(profile, layout, seed):
    model = SuspensionModel.from_urdf(urdf_model(profile), layout.wheel_joints, layout.radius)
    rng = random.Random(seed)
    n_rates = 1 + len(model.joints)
    for _ in range(40):
        fraction = rng.choice([0.2, 0.0, 0.5, 0.05])
        settle, tau, spike = rng.choice([1.0, 0.0, 0.3]), rng.choice([0.3, 0.0]), rng.choice([0.1, 1.0])
        limit = rng.choice([layout.max_wheel_rate, math.inf, 0.5])
        groups = rng.choice([axle_groups(layout.x), None])
        ref = ReferenceCompensator(model, fraction, settle, groups, tau, spike)
        new = SuspensionCompensator(model, fraction, settle, RateFilter(tau, spike, 0.3), groups)
        base = np.array([rng.uniform(-3.0, 3.0) for _ in range(layout.n)])
        t = 0.0
        for _ in range(40):
            t += rng.choice([0.1, 0.1, 0.05, 0.5, 0.0])
            pick = rng.random()
            if pick < 0.6:
                cmd = base * (1.0 + rng.uniform(-0.01, 0.01))
            elif pick < 0.7:
                cmd = np.zeros(layout.n) * rng.choice([1.0, -1.0])
            elif pick < 0.8:
                cmd = base.copy()
                cmd[rng.randrange(layout.n)] = rng.choice([0.0, -0.0, 1e-310])
            else:
                cmd = base = np.array([rng.uniform(-3.0, 3.0) for _ in range(layout.n)])
            steer = np.array([rng.choice([0.0, -0.0, rng.uniform(-1.0, 1.0)]) for _ in range(layout.n)])
            pick = rng.random()
            if pick < 0.1:
                rates = None
            elif pick < 0.15:
                rates = np.array([math.nan] + [0.01] * (n_rates - 1))
            elif pick < 0.3:
                rates = np.array([rng.uniform(-0.3, 0.3) for _ in range(n_rates)])
            else:
                rates = np.array([rng.choice([0.0, -0.0, rng.uniform(-0.1, 0.1)]) for _ in range(n_rates)])
            expected = ref.command(cmd, steer, rates, t, limit)
            got = new.command(cmd, steer, None if rates is None else rates.tolist(), t, limit)
            assert bits(got) == bits(expected)
            assert new.active == ref.active


def test_covariance_rows_are_the_covariance(profile):
    rng = np.random.default_rng(5)
    for sigma in (0.0, 0.1, 0.3):
        odom = Odometry2D(slip_ratio_sigma=sigma, slip_correlation_m=0.3, slip_correlation_rad=0.5)
        for _ in range(200):
            odom.step(float(rng.normal(0.0, 0.05)), float(rng.normal(0.0, 0.05)), np.diag(rng.random(2) * 1e-4), 0.1,
                      w_from_wheels=bool(rng.random() < 0.8))
            if rng.random() < 0.05:
                odom.set_yaw(float(rng.normal()), 1e-4)
            assert bits(odom.covariance_rows()) == bits(odom.covariance)


def _reference_lookup(names: list[str], values: list[float], wanted) -> list[float]:
    """The plain reading of a JointState: the last entry of each wanted name, NaN when not named."""
    last = {name: values[i] for i, name in enumerate(names)} if values else {}
    return [float(last[j]) if j is not None and j in last else math.nan for j in wanted]


def test_joint_index_reads_joint_states_as_the_plain_lookup(layout):
    """One index, kept across messages while the names stay equal, re-made when they change."""
    rng = random.Random(11)
    extra = ('rocker_left_joint', 'bogie_left_joint')
    names = [*layout.steer_joint_names, *layout.wheel_joints, *extra]
    index = joints.JointIndex(layout, extra)
    for _ in range(300):
        order = names[:]
        rng.shuffle(order)
        if rng.random() < 0.2:
            order.remove(rng.choice(order))  # a joint not reported
        if rng.random() < 0.1:
            order.append(order[0])  # a repeated name: the last one counts
        position = [rng.choice([rng.uniform(-1.0, 1.0), math.nan, -0.0]) for _ in order]
        velocity = [] if rng.random() < 0.2 else [rng.uniform(-1.0, 1.0) for _ in order]
        steer = [0.0 if not s else v for s, v in zip(layout.steerable.tolist(),
                                                      _reference_lookup(order, position, layout.steer_joints),
                                                      strict=True)]
        assert bits(index.steer_angles(order, position)) == bits(steer)
        assert bits(joints.steer_angles(layout, order, position)) == bits(steer)
        wheels = _reference_lookup(order, velocity, layout.wheel_joints)
        assert bits(index.wheel_values(order, velocity, 'velocity')) == bits(wheels)
        assert bits(joints.wheel_values(layout, order, velocity, 'velocity')) == bits(wheels)
        assert index.steer_named(order) == tuple(j in order for j in layout.steer_joint_names)
        last = {name: i for i, name in enumerate(order)}
        assert index.extra_indices(order) == (tuple(last[j] for j in extra) if set(extra) <= set(order) else None)
    with pytest.raises(joints.JointStateError, match='velocity has 1 entries'):
        index.wheel_values(names, [0.0], 'velocity')
    with pytest.raises(joints.JointStateError, match='position has 1 entries'):
        joints.steer_angles(layout, names, [0.0])


def test_estimate_twist_takes_lists_and_arrays_alike(layout):
    rng = random.Random(3)
    for _ in range(500):
        steer = [rng.choice([rng.uniform(-1.0, 1.0), math.nan, 0.0, -0.0]) for _ in range(layout.n)]
        rate = [rng.choice([rng.uniform(-0.5, 0.5), math.nan, 0.25, 0.0]) for _ in range(layout.n)]
        try:
            expected = estimate_twist(layout, np.array(steer), np.array(rate))
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                estimate_twist(layout, steer, rate)
            continue
        got = estimate_twist(layout, steer, rate)
        for field in ('v', 'w', 'cov', 'residual', 'used', 'slip', 'sigma', 'rss', 'dof', 'slip_cov'):
            assert np.asarray(getattr(got, field)).tobytes() == np.asarray(getattr(expected, field)).tobytes(), field


def test_a_repeated_twist_reuses_nothing_the_caller_can_touch(layout):
    """The last saturated command is kept for a repeated twist; what `command` returns is the caller's own."""
    from rover_nav.drive.kinematics import DriveKinematics, DriveLimits

    limits = DriveLimits(max_wheel_speed=0.08, min_turning_radius=1.0)
    drive = DriveKinematics(layout, limits)
    first = drive.command(0.05, 0.01, 0.0)
    first.steer[:] = 9.0
    first.wheel_rate[:] = 9.0
    again = drive.command(0.05, 0.01, 0.1)
    fresh = DriveKinematics(layout, limits)
    fresh.command(0.05, 0.01, 0.0)
    expected = fresh.command(0.05, 0.01, 0.1)
    for field in ('steer', 'wheel_rate', 'surface_speed', 'v', 'w', 'steer_error'):
        assert bits(getattr(again, field)) == bits(getattr(expected, field)), field
    drive.set_limits(DriveLimits(max_wheel_speed=0.02, min_turning_radius=1.0))  # new limits: worked out again
    assert np.max(np.abs(drive.command(0.05, 0.01, 0.2).surface_speed)) <= 0.02 + 1e-12
