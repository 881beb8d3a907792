"""Suspension compensation core: coefficients from the URDF chain, checked against forward kinematics.

The forward-kinematics check is independent of the chain walk in `SuspensionModel.from_urdf`: it
pitches the body and the rocker/bogie joints by small angles with `UrdfModel.link_transforms`, and
differentiates where base_link sits relative to each wheel centre and how the wheel's carrier turns.
"""

from __future__ import annotations

import math

from drive.reference_suspension import compensate
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.description import urdf_model
from rover_description.geometry import PROFILES, SUSPENSION_JOINTS
from rover_nav.drive.layout import WheelLayout
from rover_nav.drive.suspension import SuspensionModel, correction

settings.register_profile('drive_suspension', deadline=None, max_examples=60)
settings.load_profile('drive_suspension')

rate = st.floats(-0.2, 0.2, allow_nan=False)
steer_angle = st.floats(-1.2, 1.2, allow_nan=False)
wheel_cmd = st.floats(-2.0, 2.0, allow_nan=False)


def _layout(profile: str) -> WheelLayout:
    from rover_description.geometry import load_geometry

    return WheelLayout.from_geometry(load_geometry(profile))


_MODELS: dict[str, tuple[WheelLayout, SuspensionModel]] = {}


def model_for(profile: str) -> tuple[WheelLayout, SuspensionModel]:
    if profile not in _MODELS:
        layout = _layout(profile)
        _MODELS[profile] = layout, SuspensionModel.from_urdf(urdf_model(profile), layout.wheel_joints, layout.radius)
    return _MODELS[profile]


def _ry(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def fk_correction(profile: str, body_rate: float, joint_rates: dict[str, float]) -> np.ndarray:
    """Per-wheel correction (rad/s) from finite differences of the URDF forward kinematics (steer 0).

    correction_i = w_carrier,i + d/dt(x_base - x_wheel_i) / r_i: what the motor must give up so that
    base_link (not the wheel centre) moves at the commanded surface speed.
    """
    layout, _ = model_for(profile)
    model = urdf_model(profile)
    eps = 1e-6

    def state(t: float) -> dict[str, np.ndarray]:
        poses = model.link_transforms({j: r * t for j, r in joint_rates.items()})
        body = _ry(body_rate * t)
        return {name: (body @ pose[:3, :3], body @ pose[:3, 3]) for name, pose in poses.items()}

    a, b = state(-eps), state(eps)
    out = np.zeros(layout.n)
    for i, wj in enumerate(layout.wheel_joints):
        joint = model.joints[wj]
        wheel, carrier = joint.child, joint.parent
        x_rel = [-s[wheel][1][0] for s in (a, b)]  # base_link (origin) minus wheel centre, world x
        lever = (x_rel[1] - x_rel[0]) / (2 * eps)
        rot = b[carrier][0] @ a[carrier][0].T  # small rotation of the carrier over 2 eps
        w_carrier = (rot[0, 2] - rot[2, 0]) / 2 / (2 * eps)  # about +y
        out[i] = w_carrier + lever / layout.radius[i]
    return out


@pytest.mark.parametrize('profile', PROFILES)
def test_the_chain_names_the_suspension_joints(profile):
    _, model = model_for(profile)
    assert sorted(model.joints) == sorted(SUSPENSION_JOINTS)
    assert model.coeff.shape == (6, 1 + len(SUSPENSION_JOINTS))


@pytest.mark.parametrize('profile', PROFILES)
@given(body=rate, r0=rate, r1=rate, r2=rate, r3=rate)
def test_coefficients_match_forward_kinematics(profile, body, r0, r1, r2, r3):
    _, model = model_for(profile)
    joint_rates = dict(zip(model.joints, (r0, r1, r2, r3), strict=True))
    rates = model.rates_vector(body, joint_rates)
    got = correction(model, np.zeros(6), rates)
    assert got == pytest.approx(fk_correction(profile, body, joint_rates), abs=1e-6)


@pytest.mark.parametrize('profile', PROFILES)
def test_bogie_wheels_follow_the_pivot_lever_formula(profile):
    """Rocker still: w_cmd = v/r - [w_bogie (r + h) - h w_body] / r, h = bogie pivot height above the axle."""
    layout, model = model_for(profile)
    urdf = urdf_model(profile)
    poses = urdf.link_transforms()
    w_body, q_bogie = 0.008, 0.014
    for i, wj in enumerate(layout.wheel_joints):
        joints = dict.fromkeys(model.joints, 0.0)
        side = 'l' if layout.y[i] > 0 else 'r'
        bogie = f'bogie_{side}_joint'
        joints[bogie] = q_bogie
        got = correction(model, np.zeros(6), model.rates_vector(w_body, joints))[i]
        r = layout.radius[i]
        chain = []  # links from the wheel up to the root
        link = urdf.joints[wj].child
        parents = {j.child: j.parent for j in urdf.joints.values()}
        while link in parents:
            link = parents[link]
            chain.append(link)
        if urdf.joints[bogie].child in chain:  # middle and rear wheels
            h = poses[urdf.joints[bogie].child][2, 3] - poses[urdf.joints[wj].child][2, 3]
            w_bogie = w_body + q_bogie
            assert got == pytest.approx((w_bogie * (r + h) - h * w_body) / r, rel=1e-9)
        else:  # front wheels sit on the rocker, which did not move
            assert got == pytest.approx(w_body, rel=1e-9)


@pytest.mark.parametrize('profile', PROFILES)
@given(cmd=st.lists(wheel_cmd, min_size=6, max_size=6), steer=st.lists(steer_angle, min_size=6, max_size=6))
def test_zero_rates_leave_the_commands_unchanged(profile, cmd, steer):
    layout, model = model_for(profile)
    out = compensate(model, np.array(cmd), np.array(steer), np.zeros(1 + len(model.joints)), 0.3,
                     layout.max_wheel_rate)
    assert out == pytest.approx(np.clip(cmd, -layout.max_wheel_rate, layout.max_wheel_rate), abs=1e-12)


@pytest.mark.parametrize('profile', PROFILES)
@given(cmd=st.lists(wheel_cmd, min_size=6, max_size=6), steer=st.lists(steer_angle, min_size=6, max_size=6),
       rates=st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=5, max_size=5),
       fraction=st.floats(0.0, 0.9))
def test_the_correction_is_bounded_and_never_reverses_a_wheel(profile, cmd, steer, rates, fraction):
    _, model = model_for(profile)
    cmd = np.array(cmd)
    out = compensate(model, cmd, np.array(steer), np.array(rates), fraction)
    assert np.all(np.abs(out - cmd) <= fraction * np.abs(cmd) + 1e-12)
    assert np.all(out * cmd >= 0.0)
    assert np.all(out[cmd == 0.0] == 0.0)


@pytest.mark.parametrize('profile', PROFILES)
def test_stale_rates_or_zero_bound_mean_no_compensation(profile):
    _, model = model_for(profile)
    cmd = np.full(6, 0.37)
    rates = np.full(1 + len(model.joints), 0.05)
    assert np.array_equal(compensate(model, cmd, np.zeros(6), None, 0.3), cmd)
    assert np.array_equal(compensate(model, cmd, np.zeros(6), rates, 0.0), cmd)
    assert not np.array_equal(compensate(model, cmd, np.zeros(6), rates, 0.3), cmd)


def test_rates_vector_needs_every_joint_finite():
    _, model = model_for('yutu2')
    full = dict.fromkeys(model.joints, 0.01)
    assert model.rates_vector(0.02, full) == pytest.approx([0.02, 0.01, 0.01, 0.01, 0.01])
    missing = dict(full)
    missing.pop(model.joints[-1])
    assert model.rates_vector(0.02, missing) is None
    assert model.rates_vector(math.nan, full) is None
    assert model.rates_vector(0.0, {**full, model.joints[0]: math.inf}) is None


@given(steer=steer_angle, body=rate)
def test_steering_scales_the_correction_by_its_cosine(steer, body):
    _, model = model_for('yutu2')
    rates = np.array([body, 0.01, -0.02, 0.0, 0.03])
    straight = correction(model, np.zeros(6), rates)
    steered = correction(model, np.full(6, steer), rates)
    assert steered == pytest.approx(math.cos(steer) * straight, abs=1e-12)


def test_nose_down_bogie_slows_its_wheels():
    """The egress case: the bogie tips nose down (positive pitch) as the middle wheel drops."""
    layout, model = model_for('yutu2')
    cmd = np.full(6, 0.0559 / layout.radius[0])
    joints = {**dict.fromkeys(model.joints, 0.0), 'bogie_l_joint': 0.022, 'bogie_r_joint': 0.022}
    out = compensate(model, cmd, np.zeros(6), model.rates_vector(0.0, joints), 0.3)
    bogie_wheels = [layout.names.index(n) for n in ('ml', 'rl', 'mr', 'rr')]
    front = [layout.names.index(n) for n in ('fl', 'fr')]
    assert np.all(out[bogie_wheels] < cmd[bogie_wheels]) and out[front] == pytest.approx(cmd[front])


def test_motor_limit_and_bad_bound():
    _, model = model_for('yutu2')
    rates = np.array([-0.05, 0.0, 0.0, 0.0, 0.0])  # nose up: every wheel speeds up
    out = compensate(model, np.full(6, 1.0), np.zeros(6), rates, 0.3, max_wheel_rate=1.02)
    assert np.all(out <= 1.02) and np.all(out > 1.0)
    with pytest.raises(ValueError, match='max_fraction'):
        compensate(model, np.ones(6), np.zeros(6), rates, 1.0)


def test_from_urdf_rejects_bad_input():
    urdf = urdf_model('yutu2')
    layout = _layout('yutu2')
    with pytest.raises(ValueError, match='not in the description'):
        SuspensionModel.from_urdf(urdf, ('wheel_xx_joint',), (0.1,))
    with pytest.raises(ValueError, match='radius'):
        SuspensionModel.from_urdf(urdf, layout.wheel_joints, (0.15, 0.15, 0.0, 0.15, 0.15, 0.15))
    with pytest.raises(ValueError, match='axis'):
        SuspensionModel.from_urdf(urdf, ('steer_fl_joint',), (0.15,))
    with pytest.raises(ValueError, match='one radius'):
        SuspensionModel.from_urdf(urdf, layout.wheel_joints, (0.15,))


def test_rate_filter_rejects_spikes_and_low_passes():
    from rover_nav.drive.suspension import RateFilter

    f = RateFilter(tau=0.3, spike=0.1, max_gap=0.5)
    step = np.array([0.0, 0.0, 0.05, 0.0, 0.0])
    assert f.update(None, 0.0) is None
    out = [f.update(step, 0.1 * k) for k in range(30)]
    assert out[0] == pytest.approx(np.zeros(5))  # ramps in from no correction
    assert out[3][2] == pytest.approx(0.05 * (1 - math.exp(-1.0)))  # 0.3 s = one time constant
    assert out[-1][2] == pytest.approx(0.05, rel=1e-3)
    assert f.update(np.array([0.0, 0.0, 0.5, 0.0, 0.0]), 3.0) is None  # a bounce, not terrain
    assert f.update(step, 3.1) == pytest.approx(np.zeros(5))  # restarted
    assert f.update(np.array([math.nan, 0, 0, 0, 0]), 3.2) is None
    f.update(step, 3.3)
    assert f.update(step, 5.0) == pytest.approx(np.zeros(5))  # a gap restarts it too
    with pytest.raises(ValueError):
        RateFilter(tau=-1.0)


def test_compensator_waits_for_steady_driving():
    from rover_nav.drive.suspension import RateFilter, SuspensionCompensator

    layout, model = model_for('yutu2')
    comp = SuspensionCompensator(model, 0.2, settle_s=1.0, rate_filter=RateFilter(tau=0.0))
    rates = np.array([0.0, 0.0, 0.02, 0.0, 0.02])
    cruise = np.full(6, 0.37)
    seen = []
    for k in range(25):
        t = 0.1 * k
        cmd = cruise * min(1.0, 0.1 * (k + 1))  # speeding up for 1 s, then steady
        seen.append((t, comp.command(cmd, np.zeros(6), rates, t), comp.active))
    assert not any(active for t, _, active in seen if t < 1.9)  # ramp + settle time
    assert seen[-1][2] and np.all(seen[-1][1][[1, 2, 4, 5]] < cruise[[1, 2, 4, 5]])
    out = comp.command(cruise * 0.5, np.zeros(6), rates, 2.5)  # speed change: not steady
    assert not comp.active and np.array_equal(out, cruise * 0.5)
    out = comp.command(np.zeros(6), np.zeros(6), rates, 2.6)
    assert np.array_equal(out, np.zeros(6))
    comp.command(cruise, np.zeros(6), None, 2.7)  # stale rates
    assert not comp.active


@pytest.mark.parametrize('profile', PROFILES)
@given(delta=st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=6, max_size=6))
def test_axle_common_mode_keeps_the_mean_and_never_steers(profile, delta):
    from rover_nav.drive.suspension import axle_groups, common_mode

    layout, _ = model_for(profile)
    groups = axle_groups(layout.x)
    assert len(np.unique(groups)) == 3  # front, middle, rear axles
    out = common_mode(np.array(delta), groups)
    for g in np.unique(groups):
        members = groups == g
        assert np.all(out[members] == out[members][0])
        assert out[members].sum() == pytest.approx(np.array(delta)[members].sum(), abs=1e-12)


@pytest.mark.parametrize('profile', PROFILES)
@given(speed=st.floats(-1.0, 1.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
       rates=st.lists(st.floats(-0.09, 0.09, allow_nan=False), min_size=5, max_size=5))
def test_compensator_only_ever_slows_a_wheel(profile, speed, rates):
    from rover_nav.drive.suspension import RateFilter, SuspensionCompensator, axle_groups

    layout, model = model_for(profile)
    comp = SuspensionCompensator(model, 0.2, settle_s=0.0, rate_filter=RateFilter(tau=0.0),
                                 axle_groups=axle_groups(layout.x))
    cmd = np.full(6, speed)
    for k in range(3):
        out = comp.command(cmd, np.zeros(6), np.array(rates), 0.1 * k)
        assert np.all(np.abs(out) <= np.abs(cmd) + 1e-12) and np.all(out * cmd >= 0.0)
        assert np.all(np.abs(out) >= 0.8 * np.abs(cmd) - 1e-12)
