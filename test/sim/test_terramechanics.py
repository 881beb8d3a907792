"""The terramechanics core: Bekker/Janosi/grouser physics and the slip-hinge coupling."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.geometry import load_geometry
from rover_sim.soils import load_soil
from rover_sim.terramechanics import (
    Soil,
    TractionTable,
    WheelSoilParams,
    couple,
    slip_ratio,
    wong_reece,
)

SOIL = load_soil('change4')
LSS = load_soil('lss')
WHEEL = WheelSoilParams.from_wheel(load_geometry('yutu2').wheels[0])  # the description's wheel
W_WHEEL = 135.0 * 1.62 / 6.0  # N, one wheel's share of the rover's lunar weight


@pytest.fixture(scope='module')
def table() -> TractionTable:
    return TractionTable(SOIL, WHEEL, max_load=135.0 * 1.62)


def test_bekker_sinkage_supports_the_load_of_a_static_wheel():
    forces = wong_reece(np.array([W_WHEEL]), np.array([0.0]), LSS, WHEEL)
    z = float(forces.sinkage[0])
    # closed form for n = 1 (lss) with a linear pressure profile: W = (2/3) b k z sqrt(2 r z)
    k = LSS.k_c / WHEEL.width + LSS.k_phi
    z_closed = (W_WHEEL / ((2.0 / 3.0) * WHEEL.width * k * math.sqrt(2 * WHEEL.radius))) ** (2.0 / 3.0)
    assert z == pytest.approx(z_closed, rel=0.35)  # same order: the Wong-Reece profile is not linear
    assert 0.005 < z < 0.02


def best_slope_deg(soil: Soil, wheel: WheelSoilParams) -> float:
    """The steepest slope one wheel carrying its share holds at 100 % slip (equal loads)."""
    lo, hi = 0.0, 60.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        a = math.radians(mid)
        dp = wong_reece(np.array([W_WHEEL * math.cos(a)]), np.array([1.0]), soil, wheel).drawbar_pull[0]
        lo, hi = (mid, hi) if dp >= W_WHEEL * math.sin(a) else (lo, mid)
    return lo


def test_the_grousers_count_once_as_shear_at_their_tips():
    """ROVER_SPEC section 1 with `lss`: smooth ~14 deg, 1 cm grousers ~16 deg (the 3 cm + Rankine wheel gave > 20)."""
    smooth = WheelSoilParams(radius=0.15, width=0.15)
    assert WHEEL.grouser_height == pytest.approx(0.01) and WHEEL.grouser_count == 16
    assert 13.0 < best_slope_deg(LSS, smooth) < 15.0
    assert 15.0 < best_slope_deg(LSS, WHEEL) < 17.5
    # one mechanism: the thrust is the shear integral on the tip radius alone, so the grouser count
    # (which only the passive-plate mechanism would use) changes nothing
    more = WheelSoilParams(radius=0.15, width=0.15, grouser_height=0.01, grouser_count=48)
    a = wong_reece(np.array([W_WHEEL]), np.array([0.4]), LSS, WHEEL)
    b = wong_reece(np.array([W_WHEEL]), np.array([0.4]), LSS, more)
    assert a.drawbar_pull[0] == b.drawbar_pull[0]


def test_the_rated_envelope_of_one_wheel_on_each_soil():
    """change4 (default): 20 deg within reach, 30 deg not; lss: 25 deg not."""
    assert 20.0 < best_slope_deg(SOIL, WHEEL) < 30.0
    assert best_slope_deg(LSS, WHEEL) < 25.0


@pytest.mark.parametrize(('slope_deg', 'max_slip'), [(0.0, 0.15), (10.0, 0.5), (20.0, 0.8)])
def test_steady_slip_targets(table, slope_deg, max_slip):
    a = math.radians(slope_deg)
    slip = table.steady_slip(W_WHEEL * math.cos(a), W_WHEEL * math.sin(a))
    assert slip <= max_slip


def test_thirty_degrees_gives_no_progress(table):
    a = math.radians(30.0)
    assert table.steady_slip(W_WHEEL * math.cos(a), W_WHEEL * math.sin(a)) == 1.0


def test_table_matches_the_direct_solution(table):
    loads = np.array([5.0, 20.0, W_WHEEL, 60.0, 150.0])
    slips = np.array([0.03, -0.2, 0.5, 0.77, 1.0])
    direct = wong_reece(loads, slips, SOIL, WHEEL)
    looked = table.lookup(loads, slips)
    np.testing.assert_allclose(looked.thrust, direct.thrust, rtol=0.03, atol=0.05)
    np.testing.assert_allclose(looked.resistance, direct.resistance, rtol=0.03, atol=0.05)
    np.testing.assert_allclose(looked.sinkage, direct.sinkage, rtol=0.03, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(load=st.floats(0.0, 200.0), s1=st.floats(0.0, 1.0), s2=st.floats(0.0, 1.0))
def test_thrust_grows_with_slip_and_skid_mirrors_it(table, load, s1, s2):
    lo, hi = sorted((s1, s2))
    f = table.lookup(np.array([load, load, load]), np.array([lo, hi, -hi]))
    assert f.thrust[0] <= f.thrust[1] + 1e-9
    assert f.thrust[2] == pytest.approx(-f.thrust[1])
    assert np.all(f.resistance >= 0.0)
    assert np.all(f.sinkage >= 0.0)


@settings(max_examples=40, deadline=None)
@given(l1=st.floats(0.0, 200.0), l2=st.floats(0.0, 200.0), s=st.floats(0.0, 1.0))
def test_sinkage_grows_with_load(table, l1, l2, s):
    lo, hi = sorted((l1, l2))
    f = table.lookup(np.array([lo, hi]), np.array([s, s]))
    assert f.sinkage[0] <= f.sinkage[1] + 1e-9


def test_zero_load_means_no_force(table):
    f = table.lookup(np.zeros(2), np.array([0.5, -0.5]))
    assert np.all(f.thrust == 0.0) and np.all(f.resistance == 0.0) and np.all(f.sinkage == 0.0)


@pytest.mark.parametrize('bad', [(np.array([-1.0]), np.array([0.1])), (np.array([1.0]), np.array([1.5])),
                                 (np.array([np.nan]), np.array([0.1])), (np.array([1.0]), np.array([np.inf]))])
def test_wong_reece_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        wong_reece(bad[0], bad[1], SOIL, WHEEL)


def test_parameter_objects_reject_bad_values():
    with pytest.raises(ValueError, match='shear_k'):
        Soil(shear_k=0.0)
    with pytest.raises(ValueError, match='friction_deg'):
        Soil(friction_deg=90.0)
    with pytest.raises(ValueError, match='grouser_height'):
        WheelSoilParams(radius=0.15, width=0.15, grouser_height=0.2)
    with pytest.raises(ValueError, match='max_load'):
        TractionTable(SOIL, WHEEL, max_load=0.0)


@given(hub=st.floats(-5, 5), tread=st.floats(-5, 5))
def test_slip_ratio_is_bounded_and_signed(hub, tread):
    s = float(slip_ratio(np.array([hub]), np.array([tread]))[0])
    assert -1.0 <= s <= 1.0
    if abs(hub) > 1e-6 and abs(hub - tread) > 1e-9:
        assert math.copysign(1.0, s) == math.copysign(1.0, hub - tread)


def test_slip_ratio_zero_when_both_stopped():
    assert slip_ratio(np.zeros(3), np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_coupling_secant_converges_to_the_steady_slip(table):
    """Iterate the damper update against a constant demanded pull: the fixed point is the curve's slip."""
    omega_hub = 0.0559 / 0.15
    pull = 5.0  # N the wheel must pass to the ground (gross thrust)
    tread = omega_hub
    for _ in range(60):
        c = couple(table, np.array([W_WHEEL]), np.array([omega_hub]), np.array([tread]))
        # damper equilibrium: r * pull = damping * (omega_hub - omega_tread)
        tread = omega_hub - WHEEL.radius * pull / c.slip_damping[0]
    s = 1.0 - tread / omega_hub
    thrust = table.lookup(np.array([W_WHEEL]), np.array([s])).thrust[0]
    assert thrust == pytest.approx(pull, rel=0.02)


def test_coupling_holds_a_stopped_wheel_and_frees_an_unloaded_one(table):
    c = couple(table, np.array([W_WHEEL, 0.0]), np.array([0.0, 0.3]), np.array([0.0, 0.3]))
    assert c.slip_damping[0] >= 100.0  # a braked hub drags its tread along
    # a braked hub whose tread is dragged at 0.3 rad/s passes at most the soil's strength
    dragged = couple(table, np.array([W_WHEEL]), np.array([0.0]), np.array([-0.3]))
    strength = table.lookup(np.array([W_WHEEL]), np.array([1.0])).thrust[0]
    assert dragged.slip_damping[0] * 0.3 <= WHEEL.radius * strength * 1.001
    assert c.slip_damping[1] <= 1e-3 + 1e-12
    assert c.rolling_damping[0] > 0.0 and c.rolling_damping[1] == 0.0


def test_rolling_damping_delivers_the_compaction_resistance(table):
    omega = np.array([0.05, 0.3, -0.3])
    c = couple(table, np.full(3, W_WHEEL), omega * 1.1, omega)
    resistance = table.lookup(np.full(3, W_WHEEL), c.slip).resistance
    np.testing.assert_allclose(c.rolling_damping * np.abs(omega), WHEEL.radius * resistance, rtol=1e-9)


def test_coupling_rejects_non_finite(table):
    with pytest.raises(ValueError):
        couple(table, np.array([np.nan]), np.array([0.0]), np.array([0.0]))
