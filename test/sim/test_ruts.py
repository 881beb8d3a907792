"""Ruts: the wheels lower the grid behind them, never under themselves, never deeper than they sink."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_sim.ruts import RutPress, fade_near
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


def test_rigid_nodes_are_never_pressed_and_ruts_fade_in_next_to_them():
    grid = Grid(-2.0, -2.0, 0.05, 81, 81)
    rigid_until = 0.0  # metal for x <= 0, soil beyond
    distance = np.broadcast_to(np.maximum(grid.x - rigid_until, 0.0)[None, :], grid.shape)
    scale = fade_near(distance, 0.15)
    p = RutPress(grid, np.zeros(grid.shape), width=0.15, max_depth=0.05, depth_scale=scale)
    for x in np.arange(-1.5, 1.5, 0.02):
        p.press(np.array([x]), np.array([0.0]), np.array([0.05]), np.zeros(1), np.array([0.012]))
    row = p.depth_map()[np.searchsorted(grid.y, 0.0)]
    assert np.all(row[grid.x <= rigid_until] == 0.0)
    assert row[np.searchsorted(grid.x, 0.05)] == pytest.approx(0.012 / 3)  # a third of the way in
    assert np.all(row[(grid.x >= 0.15) & (grid.x <= 1.0)] == pytest.approx(0.012))
    assert np.all(np.diff(row[(grid.x >= 0.0) & (grid.x <= 0.15)]) > 0.0)  # no step: a ramp down


@settings(max_examples=50, deadline=None)
@given(d=st.lists(st.floats(-1.0, 10.0), min_size=1, max_size=20), length=st.floats(0.0, 1.0))
def test_fade_is_zero_on_rigid_ground_and_one_far_from_it(d, length):
    dist = np.array(d)
    f = fade_near(dist, length)
    assert np.all((f >= 0.0) & (f <= 1.0))
    assert np.all(f[dist <= 0.0] == 0.0)
    assert np.all(f[(dist > 0.0) & (dist >= length)] == 1.0)


def test_bad_depth_scale_is_rejected():
    grid = Grid(-2.0, -2.0, 0.05, 81, 81)
    with pytest.raises(ValueError, match='depth_scale'):
        RutPress(grid, np.zeros(grid.shape), 0.15, 0.05, depth_scale=np.ones((3, 3)))
    with pytest.raises(ValueError, match='depth_scale'):
        RutPress(grid, np.zeros(grid.shape), 0.15, 0.05, depth_scale=np.full(grid.shape, 1.5))
    with pytest.raises(ValueError, match='length'):
        fade_near(np.zeros(3), -1.0)


def test_imprint_carves_the_collider_sunk_straight_down():
    """A spinning wheel's hole (slip sinkage) has the sphere's shape, `depth` deep on flat ground; on a slope
    it lies under the wheel (lowered vertically), not uphill of it; rigid nodes stay untouched."""
    p = _press()
    assert p.imprint(0.0, 0.0, 0.0, 0.0, 0.04, 0.15) is not None
    d = p.depth_map()
    assert d.max() == pytest.approx(0.04, abs=1e-9)
    grid = p.grid
    assert float(grid.bilinear(d, 0.10, 0.0)) == pytest.approx(0.04 - (0.15 - (0.15 ** 2 - 0.10 ** 2) ** 0.5),
                                                                 abs=2e-3)
    assert float(grid.bilinear(d, 0.0, 0.10)) > 0.001  # as wide as the sphere, beyond the 0.15 m tread
    assert p.imprint(0.0, 0.0, 0.0, 0.0, 0.02, 0.15) is None or d.max() == p.depth_map().max()  # never raises
    # a 20 degree slope rising along +x: the hole's deepest point is at the contact (R sin 20 deg = 5 cm uphill of
    # the centre), as deep as asked along the normal; a hole moved along the normal crept further uphill
    g = math.tan(math.radians(20.0))
    heights = np.tile(g * np.arange(-1.0, 1.0001, 0.05), (41, 1))
    slope = RutPress(Grid(-1.0, -1.0, 0.05, 41, 41), heights, width=0.15, max_depth=0.1)
    slope.imprint(0.0, 0.0, g, 0.0, 0.04, 0.15)
    row = slope.depth_map()[20]
    contact = 0.15 * math.sin(math.radians(20.0))
    assert abs(slope.grid.x[int(np.argmax(row))] - contact) < 0.026
    assert row.max() == pytest.approx(0.04 / math.cos(math.radians(20.0)), abs=3e-3)
    rigid = RutPress(Grid(-1.0, -1.0, 0.05, 41, 41), np.zeros((41, 41)), width=0.15, max_depth=0.1,
                     depth_scale=np.zeros((41, 41)))
    assert rigid.imprint(0.0, 0.0, 0.0, 0.0, 0.04, 0.15) is None or rigid.depth_map().max() == 0.0
