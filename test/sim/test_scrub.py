"""Turning scrub (`rover_sim.scrub`) against closed forms written here, and the simulator applying it.

Item 6 of issue 17 (first part): with exact steering a sphere collider on Coulomb contact turned
with no more slip than it drove straight. The patch's scrub now resists every wheel's yaw.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.geometry import load_geometry
from rover_sim.scrub import MIN_PATCH_LENGTH, patch_length, scrub_moment
from rover_sim.soils import load_soil

SOIL = load_soil('change4')
WHEEL = load_geometry('yutu2').wheels[0]
LOAD, LENGTH = 36.0, 0.056  # N, m: one wheel of the rover on the Moon sunk ~11 mm (measured in the drive below)


def _moment(radius, load=LOAD, length=LENGTH):
    return float(scrub_moment(np.array(radius), np.array(load), np.array(length), WHEEL.width, SOIL.cohesion,
                              SOIL.friction_deg, SOIL.shear_k))


def _tau_max(load=LOAD, length=LENGTH):
    return SOIL.cohesion + load / (WHEEL.width * length) * math.tan(math.radians(SOIL.friction_deg))


def test_straight_or_unloaded_wheels_have_no_scrub():
    assert _moment(math.inf) == 0.0
    assert _moment(1.0, load=0.0) == 0.0


def test_gentle_arcs_follow_the_linear_closed_form():
    """|j| << K: M = tau_max b^3 L^2 / (24 K R), derived by hand (the patch's width term)."""
    for radius in (5.0, 20.0, 100.0):
        closed = _tau_max() * WHEEL.width ** 3 * LENGTH ** 2 / (24.0 * SOIL.shear_k * radius)
        assert _moment(radius) == pytest.approx(closed, rel=0.03)


def _full_spin_moment(n: int = 400) -> float:
    """Upper bound: every patch element sheared at tau_max, perpendicular to its radius (yawing in place)."""
    u = (np.arange(n) + 0.5) / n - 0.5
    x, y = np.meshgrid(u * LENGTH, u * WHEEL.width, indexing='ij')
    return _tau_max() * float(np.hypot(x, y).mean()) * LENGTH * WHEEL.width


@settings(max_examples=200, deadline=None)
@given(st.floats(0.02, 200.0), st.floats(0.02, 200.0))
def test_tighter_turns_scrub_more_and_never_beyond_full_mobilisation(r1, r2):
    small, large = sorted((r1, r2))
    assert _moment(small) >= _moment(large) - 1e-12
    assert _moment(small) <= _full_spin_moment() * 1.01


def test_the_patch_is_the_wong_reece_contact_length():
    r = WHEEL.radius
    assert patch_length(r, np.array(0.0)) == MIN_PATCH_LENGTH
    assert float(patch_length(r, np.array(0.011))) == pytest.approx(r * math.sin(math.acos(1 - 0.011 / r)))
    assert float(patch_length(r, np.array(2 * r))) == pytest.approx(r)  # clipped: never beyond the axle


@pytest.fixture(scope='module')
def drives():
    """A 1 m arc and a straight line on flat change4 regolith through the drive kinematics (replay)."""
    from rover_bringup import drive_replay
    from rover_sim.simulation import Simulation

    seen: dict[str, list] = {}
    original = Simulation._turning_scrub

    def spy(self, loads, sinkage, rigid):
        original(self, loads, sinkage, rigid)
        if 15.0 < self.time < 39.5:  # the steady part of the 40 s segment (then the replay comes to rest)
            lay = self.layout
            seen.setdefault(current, []).append((self.scrub, np.array(loads), np.array(sinkage),
                                                 self.model.geom_friction[lay.tread_geom, 1].copy(),
                                                 self.model.geom_condim[lay.tread_geom].copy()))

    Simulation._turning_scrub = spy
    results = {}
    try:
        for current, w in (('straight', 0.0), ('arc', 0.0559)):
            results[current] = drive_replay.replay([{'duration_s': 40, 'linear_x': 0.0559, 'angular_z': w}])
        # the same arc on the contact as it was (no scrub: condim 3 throughout)
        Simulation._turning_scrub = lambda self, loads, sinkage, rigid: None
        results['arc_unscrubbed'] = drive_replay.replay([{'duration_s': 40, 'linear_x': 0.0559, 'angular_z': 0.0559}])
    finally:
        Simulation._turning_scrub = original
    return results, seen


def test_rolling_straight_keeps_the_plain_contact(drives):
    _, seen = drives
    for scrub, _loads, _sinkage, _torsion, condim in seen['straight']:
        assert not scrub.any() and (condim == 3).all()


def test_on_an_arc_each_tread_resists_its_yaw_with_its_patch_scrub(drives):
    results, seen = drives
    samples = seen['arc'][len(seen['arc']) // 2:]  # steady arc
    for scrub, loads, _sinkage, torsion, condim in samples:
        assert (condim == 4).all()
        assert np.allclose(torsion, scrub / loads)  # MuJoCo's cap mu_t N is the scrub moment
    scrub = np.mean([s[0] for s in samples], axis=0)
    left, right = scrub[:3], scrub[3:]  # WHEEL_NAMES: fl ml rl fr mr rr
    assert (left > 1.5 * right).all(), f'inner (left) wheels on the tighter arcs scrub more: {scrub}'
    # magnitude: the scrub at a wheel's own arc radius, from the closed form's regime (0.05-0.2 N m)
    assert scrub.min() > 0.03 and scrub.max() < 0.3
    # without it an arc slipped as much as a straight line; with it the arc slips more and turns less
    plain, scrubbed = results['arc_unscrubbed'], results['arc']
    assert plain.mean_slip == pytest.approx(results['straight'].mean_slip, abs=1e-3)
    # (measured: 7.576 % against 7.563 % slip, 102.16 against 102.48 deg: small, as the moments are;
    # the simulator is deterministic, so the difference is the model's, not noise)
    assert scrubbed.mean_slip > plain.mean_slip
    assert scrubbed.final_yaw_deg < plain.final_yaw_deg - 0.1
