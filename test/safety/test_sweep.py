"""Swept-path geometry against an independent oracle (fine Euler integration), pure numpy."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.geometry import load_geometry
from rover_nav.safety.sweep import check_sweep, corner_radius, rectangle_distance, sample_poses

FOOTPRINT = load_geometry('yutu2').footprint
CLEARANCE, LOOKAHEAD = 0.1, 0.1
MARGIN = 0.015  # discretisation of the code under test (1 cm steps) plus the oracle's


def oracle_gaps(px: float, py: float, v: float, w: float, n: int = 200) -> np.ndarray:
    """Gap from (px, py) to the footprint along the command, by small Euler steps (independent code)."""
    x0, x1, y0, y1 = FOOTPRINT
    r = max(math.hypot(x, y) for x in (x0, x1) for y in (y0, y1))
    rate = abs(v) + abs(w) * r
    if rate == 0.0:
        return np.array([0.0])
    v, w = v / rate, w / rate  # unit rate: time = distance travelled by the farthest point
    dt = LOOKAHEAD / n
    x = y = th = 0.0
    gaps = []
    for _ in range(n + 1):
        dx, dy = px - x, py - y
        fx = math.cos(th) * dx + math.sin(th) * dy
        fy = -math.sin(th) * dx + math.cos(th) * dy
        ox = max(x0 - fx, 0.0, fx - x1)
        oy = max(y0 - fy, 0.0, fy - y1)
        if ox > 0.0 or oy > 0.0:
            gaps.append(math.hypot(ox, oy))
        else:
            gaps.append(-min(fx - x0, x1 - fx, fy - y0, y1 - fy))
        # exact pose update of a constant twist over dt (midpoint heading)
        x += v * dt * math.cos(th + w * dt / 2)
        y += v * dt * math.sin(th + w * dt / 2)
        th += w * dt
    return np.array(gaps)


motions = st.one_of(
    st.tuples(st.floats(-0.06, 0.06), st.just(0.0)),  # straight
    st.tuples(st.just(0.0), st.floats(-0.1, 0.1)),  # point turn
    st.tuples(st.floats(-0.06, 0.06), st.floats(-0.1, 0.1)),  # arcs, any curvature
).filter(lambda vw: vw[0] != 0.0 or vw[1] != 0.0)
points = st.tuples(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0))


@settings(max_examples=2000, deadline=None)
@given(motions, points)
def test_sweep_agrees_with_the_oracle(vw, p):
    v, w = vw
    gaps = oracle_gaps(p[0], p[1], v, w)
    blocked = check_sweep(np.array([p]), v, w, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked
    if gaps.min() >= CLEARANCE + MARGIN or gaps[1:].min() >= gaps[0] - 0.0005 or gaps[0] < -CLEARANCE:
        assert not blocked, f'point outside the swept path (or not approached) stopped the rover: {gaps.min()}'
    if gaps.min() < CLEARANCE - MARGIN and gaps.min() < gaps[0] - MARGIN and gaps[0] >= -CLEARANCE + MARGIN:
        assert blocked, f'point approached to {gaps.min():.3f} m did not stop the rover'


@settings(max_examples=2000, deadline=None)
@given(motions, st.floats(0.0, 2 * math.pi), st.floats(0.0, 5.0))
def test_points_beyond_reach_never_block(vw, bearing, extra):
    r = corner_radius(FOOTPRINT) + LOOKAHEAD + CLEARANCE + 0.02 + extra
    p = np.array([[r * math.cos(bearing), r * math.sin(bearing)]])
    assert not check_sweep(p, vw[0], vw[1], FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked


def test_zero_command_never_blocks_even_inside():
    assert not check_sweep(np.array([[0.0, 0.0], [0.7, 0.0]]), 0.0, 0.0, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked


def test_straight_ahead_blocks_and_backing_away_passes():
    x1 = FOOTPRINT[1]
    rock = np.array([[x1 + 0.15, 0.0]])
    result = check_sweep(rock, 0.05, 0.0, FOOTPRINT, CLEARANCE, LOOKAHEAD)
    assert result.blocked and result.distance == pytest.approx(0.05, abs=0.011)
    assert not check_sweep(rock, -0.05, 0.0, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked
    assert not check_sweep(np.array([[x1 + 0.25, 0.0]]), 0.05, 0.0, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked
    close = np.array([[x1 + 0.05, 0.0]])  # already inside the clearance: forward blocked, reverse allowed
    assert check_sweep(close, 0.05, 0.0, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked
    assert not check_sweep(close, -0.05, 0.1, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked


def test_turning_away_from_a_side_obstacle_passes():
    # a rock just right of the front-right corner: turning left (CCW) moves the front away from it
    x1, y0 = FOOTPRINT[1], FOOTPRINT[2]
    rock = np.array([[x1 - 0.05, y0 - 0.05]])
    assert check_sweep(rock, 0.0, -0.1, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked
    assert not check_sweep(rock, 0.0, 0.1, FOOTPRINT, CLEARANCE, LOOKAHEAD).blocked


def test_rectangle_distance_signs():
    x0, x1, y0, y1 = FOOTPRINT
    d = rectangle_distance(np.array([0.0, x1 + 0.3, x1 + 0.3]), np.array([0.0, 0.0, y1 + 0.4]), FOOTPRINT)
    assert d[0] == pytest.approx(-min(x1, y1)) and d[1] == pytest.approx(0.3) and d[2] == pytest.approx(0.5)


def test_sample_poses_moves_the_farthest_corner_by_lookahead():
    poses = sample_poses(0.0, 0.1, FOOTPRINT, 0.1)
    assert poses[-1, 2] * corner_radius(FOOTPRINT) == pytest.approx(0.1)
    poses = sample_poses(0.05, 0.0, FOOTPRINT, 0.1)
    assert poses[-1, 0] == pytest.approx(0.1) and np.all(np.diff(poses[:, 0]) <= 0.0101)
    with pytest.raises(ValueError, match='v'):
        sample_poses(math.nan, 0.0, FOOTPRINT, 0.1)
