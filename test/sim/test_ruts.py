"""Ruts: the wheels lower the grid behind them, never under themselves, never deeper than they sink."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_sim.ruts import RutPress
from rover_sim.terrain.grid import Grid


def _press(h: float = 0.0) -> RutPress:
    grid = Grid(-2.0, -2.0, 0.05, 81, 81)
    return RutPress(grid, np.full(grid.shape, h), width=0.15, max_depth=0.05)


def test_a_driving_wheel_leaves_a_rut_behind_it():
    p = _press()
    window = p.press(np.array([0.5]), np.array([0.0]), np.array([0.05]), np.array([0.0]), np.array([0.012]))
    assert window is not None
    depth = p.depth_map()
    assert depth.max() == pytest.approx(0.012)
    ys, xs = np.nonzero(depth > 0)
    assert np.all(p.grid.x[xs] < 0.5)  # behind the contact point
    assert p.grid.bilinear(p.heights, 0.5, 0.0) == 0.0  # not under the wheel


def test_standing_wheel_leaves_nothing_and_ruts_do_not_accumulate():
    p = _press()
    assert p.press(np.array([0.0]), np.array([0.0]), np.zeros(1), np.zeros(1), np.array([0.01])) is None
    for _ in range(5):
        p.press(np.array([0.0]), np.array([0.0]), np.array([0.05]), np.zeros(1), np.array([0.01]))
    assert p.depth_map().max() == pytest.approx(0.01)
    p.press(np.array([0.0]), np.array([0.0]), np.array([0.05]), np.zeros(1), np.array([1.0]))
    assert p.depth_map().max() == pytest.approx(0.05)  # capped


def test_rut_width_matches_the_wheel():
    p = _press()
    for x in np.arange(-1.0, 1.0, 0.02):
        p.press(np.array([x]), np.array([0.0]), np.array([0.05]), np.zeros(1), np.array([0.01]))
    column = p.depth_map()[:, np.searchsorted(p.grid.x, 0.0)]
    width = (column > 0).sum() * p.grid.resolution
    assert 0.1 <= width <= 0.2


@settings(max_examples=50, deadline=None)
@given(x=st.floats(-3, 3), y=st.floats(-3, 3), vx=st.floats(-1, 1), vy=st.floats(-1, 1), d=st.floats(0, 0.2))
def test_press_only_lowers_and_stays_on_the_map(x, y, vx, vy, d):
    p = _press(0.3)
    p.press(np.array([x]), np.array([y]), np.array([vx]), np.array([vy]), np.array([d]))
    assert np.all(p.heights <= 0.3)
    assert np.all(p.depth_map() <= 0.05 + 1e-12)


def test_non_finite_input_is_ignored():
    p = _press()
    assert p.press(np.array([np.nan]), np.array([0.0]), np.array([0.05]), np.zeros(1), np.array([0.01])) is None
    assert p.depth_map().max() == 0.0
