"""Obstacle guard core on synthetic clouds: ground fit, swept path, memory, no-returns (pure)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from safety.synthetic import Terrain, rectangle

from rover_description.geometry import load_geometry
from rover_nav.safety.command import ZERO
from rover_nav.safety.ground import GroundParams, fit_plane, heights_above_ground
from rover_nav.safety.obstacle import BLOCKED, OK, STALE_CLOUD, STALE_ODOM, ObstacleConfig, ObstacleGuard
from rover_nav.safety.sweep import corner_radius

FOOTPRINT = load_geometry('yutu2').footprint
X_FRONT, Y_LEFT = FOOTPRINT[1], FOOTPRINT[3]
NO_MEMORY = ObstacleConfig(max_step_height=0.2, clearance=0.1, cloud_timeout=1.0, lookahead=0.1, use_memory=False)
WITH_MEMORY = ObstacleConfig(max_step_height=0.2, clearance=0.1, cloud_timeout=1.0, lookahead=0.1, use_memory=True)

terrains = st.builds(Terrain, slope_deg=st.floats(0.0, 20.0), heading=st.floats(-math.pi, math.pi),
                     seed=st.integers(0, 2 ** 16))
# forward commands with curvature |w / v| <= 1 1/m (min_turning_radius): every front-edge point advances
forward = st.tuples(st.floats(0.005, 0.06), st.floats(-1.0, 1.0)).map(lambda vk: (vk[0], vk[0] * vk[1]))
boxes = st.tuples(st.floats(0.0, 0.05), st.floats(-0.35, 0.35), st.floats(0.15, 0.45), st.floats(0.15, 0.45),
                  st.floats(-0.5, 0.5))


def guard_with(cloud: np.ndarray, config: ObstacleConfig = NO_MEMORY, t: float = 10.0) -> ObstacleGuard:
    guard = ObstacleGuard(config, FOOTPRINT)
    guard.update_odom(0.0, 0.0, 0.0, t)
    assert guard.update_cloud(cloud, t).accepted
    return guard


def box_ahead(terrain: Terrain, v: float, w: float, box, height: float) -> np.ndarray:
    """A box whose near face lies gap m in front of the footprint after the rover has followed (v, w)
    for 0.05 m of corner travel (inside the swept path by construction)."""
    gap, lateral, length, width, yaw = box
    rate = abs(v) + abs(w) * corner_radius(FOOTPRINT)
    tau = 0.05 / rate
    th = w * tau
    px, py = (v * tau, 0.0) if abs(w) < 1e-9 else (v / w * math.sin(th), v / w * (1 - math.cos(th)))
    # box centre in the future frame: in front of the front edge, laterally within the footprint
    cx = X_FRONT + gap + length / 2
    cy = lateral
    corners_future = rectangle(cx, cy, length, width, yaw * 0.2)
    c, s = math.cos(th), math.sin(th)
    corners = corners_future @ np.array([[c, s], [-s, c]]) + np.array([px, py])
    return terrain.box(corners, height)


def near_ground(terrain: Terrain) -> np.ndarray:
    return terrain.ground(450, x=(0.66, 2.4), y=(-1.3, 1.3))


def with_no_returns(cloud: np.ndarray, terrain: Terrain, fraction: float, bad: float) -> np.ndarray:
    """The cloud with `fraction` of its rows given a NaN/inf coordinate, plus 200 all-NaN rows."""
    mixed = np.vstack([cloud, np.full((200, 3), np.nan)])
    rows = terrain.rng.random(len(mixed)) < fraction
    mixed[rows, terrain.rng.integers(0, 3, int(rows.sum()))] = bad
    return mixed


@settings(max_examples=1000, deadline=None)  # x3 pipeline checks per example
@given(terrains, forward, boxes, st.floats(0.0, 0.5), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_025_m_box_in_the_path_always_stops_and_a_01_m_rock_never(terrain, vw, box, fraction, bad):
    """Inside the swept path (by construction, any ground slope up to 20 deg): 0.25 m stops, 0.10 m is
    driven over; no-returns (NaN/inf rows) mixed into the cloud do not hide the tall box."""
    v, w = vw
    ground = near_ground(terrain)
    tall = np.vstack([ground, box_ahead(terrain, v, w, box, 0.25)])
    low = np.vstack([ground, box_ahead(terrain, v, w, box, 0.10)])
    for cloud in (tall, with_no_returns(tall, terrain, fraction, bad)):
        decision = guard_with(cloud).check(v, w, 10.0)
        assert decision.blocked and decision.command == ZERO and decision.state == BLOCKED
    decision = guard_with(low).check(v, w, 10.0)
    assert not decision.blocked and decision.command.v == v and decision.command.w == w


outside = st.one_of(
    # anywhere beyond what any footprint point can reach over the horizon, any command
    st.tuples(st.just('far'), st.tuples(st.floats(-0.06, 0.06), st.floats(-0.1, 0.1)), st.floats(0.0, 2 * math.pi),
              st.floats(0.0, 1.0), st.floats(0.15, 0.5)),
    # beside a straight path, out of the clearance
    st.tuples(st.just('beside'), st.tuples(st.floats(-0.06, 0.06), st.just(0.0)), st.sampled_from([-1.0, 1.0]),
              st.floats(0.0, 0.3), st.floats(0.15, 0.5)),
)


@settings(max_examples=2000, deadline=None)
@given(terrains, outside)
def test_a_box_outside_the_swept_path_never_stops(terrain, case):
    """A 0.5 m tall box wholly outside the swept path (plus clearance) never stops the rover."""
    kind, (v, w), where, extra, size = case
    if kind == 'far':
        reach = corner_radius(FOOTPRINT) + NO_MEMORY.lookahead + NO_MEMORY.clearance + 0.03
        r = reach + size * math.sqrt(0.5) + extra
        centre = (r * math.cos(where), r * math.sin(where))
    else:
        centre = (X_FRONT + 0.3, where * (Y_LEFT + NO_MEMORY.clearance + 0.02 + extra + size / 2))
    box = terrain.box(rectangle(centre[0], centre[1], size, size), 0.5)
    cloud = np.vstack([terrain.ground(700, x=(0.66, 3.0), y=(-2.0, 2.0)), box])
    assert not guard_with(cloud).check(v, w, 10.0).blocked


@settings(max_examples=2000, deadline=None)
@given(st.floats(0.0, 25.0), st.floats(-0.3, 0.3), st.floats(0.9, 2.5), st.floats(-25.0, 25.0),
       st.integers(0, 2 ** 16), st.tuples(st.floats(-0.06, 0.06), st.floats(-0.1, 0.1)))
def test_slopes_and_ramps_are_not_obstacles(slope_deg, heading, kink_x, kink_deg, seed, vw):
    terrain = Terrain(slope_deg, heading, kink_x=kink_x, kink_deg=kink_deg, noise=0.01, seed=seed)
    assert not guard_with(terrain.ground(900)).check(*vw, 10.0).blocked


_SHARED: list[ObstacleGuard] = []


def shared_guard() -> ObstacleGuard:
    """One flat-ground guard (memory on, pose at the origin at t = 10 s) for the cheap checks."""
    if not _SHARED:
        _SHARED.append(guard_with(Terrain().ground(300), WITH_MEMORY))
    return _SHARED[0]


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(['v', 'w', 'now']), st.sampled_from([math.nan, math.inf, -math.inf]), forward)
def test_nan_command_or_pose_never_yields_motion(where, bad, vw):
    guard = shared_guard()
    args = {'v': vw[0], 'w': vw[1], 'now': 10.0}
    args[where] = bad
    with pytest.raises(ValueError, match=where):
        guard.check(**args)
    with pytest.raises(ValueError):
        guard.update_odom(bad, 0.0, 0.0, 10.5)
    with pytest.raises(ValueError):
        guard.update_odom(0.0, 0.0, bad, 10.5)
    # only bad odometry from now on: the memory cannot follow the rover, so it blocks
    assert guard.check(*vw, 11.2).command == ZERO
    assert guard.check(*vw, 10.0).command.v == vw[0]  # the rejected input changed nothing


def test_stale_cloud_and_stale_odom_block():
    guard = ObstacleGuard(WITH_MEMORY, FOOTPRINT)
    assert guard.check(0.05, 0.0, 1.0).state == STALE_CLOUD
    guard.update_odom(0.0, 0.0, 0.0, 1.0)
    guard.update_cloud(Terrain().ground(300), 1.0)
    assert guard.check(0.05, 0.0, 1.5).state == OK
    assert guard.check(0.05, 0.0, 2.1).state == STALE_CLOUD
    guard.update_cloud(Terrain().ground(300), 2.2)
    assert guard.check(0.05, 0.0, 2.2).state == STALE_ODOM
    assert guard.check(0.0, 0.0, 2.2).blocked is False  # zero is never "blocked"
    blind = np.full((500, 3), np.nan)
    assert not guard.update_cloud(blind, 2.3).accepted  # a blinded sensor does not refresh the cloud


def test_memory_keeps_a_rock_that_left_the_view_and_allows_backing_away():
    terrain = Terrain(seed=3)
    rock = terrain.box(rectangle(1.2, 0.0, 0.4, 0.4), 0.3)
    guard = ObstacleGuard(WITH_MEMORY, FOOTPRINT)
    t = 0.0
    x = 0.0
    while True:  # drive forward; the sensor only sees ground beyond 0.64 m ahead of base_link
        t += 0.2
        guard.update_odom(x, 0.0, 0.0, t)
        world = np.vstack([terrain.ground(1500, x=(0.0, 4.0)), rock])
        visible = world[world[:, 0] - x > 0.64]
        guard.update_cloud(visible - np.array([x, 0.0, 0.0]), t)
        decision = guard.check(0.05, 0.0, t)
        if decision.blocked:
            break
        x += 0.01
        assert x < 1.0, 'drove into the rock'
    gap = (1.2 - 0.2) - (x + X_FRONT)
    assert WITH_MEMORY.clearance - 0.01 <= gap <= WITH_MEMORY.clearance + WITH_MEMORY.lookahead + 0.02
    assert guard.memory_size > 0
    assert not guard.check(-0.05, 0.0, t).blocked
    # the rock is now out of view (closer than the sensor's near edge) and still blocks
    hidden = terrain.ground(1500, x=(x + 0.64 + 0.4, x + 4.0)) - np.array([x, 0.0, 0.0])
    guard.update_cloud(hidden, t + 0.2)
    guard.update_odom(x, 0.0, 0.0, t + 0.2)
    assert guard.check(0.05, 0.0, t + 0.2).blocked


def test_memory_forgets_a_cell_seen_free_again():
    terrain = Terrain(seed=4)
    guard = ObstacleGuard(WITH_MEMORY, FOOTPRINT)
    guard.update_odom(0.0, 0.0, 0.0, 1.0)
    guard.update_cloud(np.vstack([terrain.ground(1500), terrain.box(rectangle(0.9, 0.0, 0.3, 0.3), 0.3)]), 1.0)
    assert guard.check(0.05, 0.0, 1.0).blocked
    guard.update_cloud(terrain.ground(6000), 1.2)  # the "rock" was a dust cloud: free now
    assert not guard.check(0.05, 0.0, 1.2).blocked


def test_turning_in_place_next_to_a_remembered_rock():
    terrain = Terrain(seed=5)
    guard = ObstacleGuard(WITH_MEMORY, FOOTPRINT)
    guard.update_odom(0.0, 0.0, 0.0, 1.0)
    # a rock just ahead of the front-right corner
    guard.update_cloud(np.vstack([terrain.ground(1500), terrain.box(rectangle(X_FRONT + 0.1, -0.45, 0.1, 0.2),
                                                                    0.3)]), 1.0)
    # turning left (CCW) swings the right half of the front edge forward, into the rock
    assert guard.check(0.0, 0.1, 1.0).blocked
    assert not guard.check(0.0, -0.1, 1.0).blocked  # turning right swings it back, away


def test_heights_of_rocks_on_flat_ground():
    terrain = Terrain(noise=0.0)
    pts = np.vstack([terrain.ground(3000), terrain.box(rectangle(2.0, 0.0, 0.3, 0.3), 0.25)])
    h = heights_above_ground(pts, GroundParams())
    assert np.nanmax(h[:3000]) < 0.05
    assert np.nanmax(h[3000:]) == pytest.approx(0.25, abs=0.03)


def test_fit_plane_trims_rocks_and_handles_degenerate_input():
    terrain = Terrain(slope_deg=10.0, noise=0.0)
    pts = np.vstack([terrain.ground(500), terrain.box(rectangle(2.0, 0.0, 0.3, 0.3), 0.3)])
    a, b, c = fit_plane(pts)
    assert (a, b, c) == pytest.approx((terrain.a, terrain.b, -0.15), abs=0.01)
    assert fit_plane(np.zeros((2, 3))) is None
    line = np.c_[np.linspace(0, 1, 10), np.zeros(10), np.zeros(10)]
    assert fit_plane(line, ridge=0.0) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=60),
       st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=60))
def test_run_helpers_agree_with_numpy_unique_and_isin(keys, others):
    from rover_nav.safety.obstacle import _is_in_sorted, _runs

    keys_a = np.array(keys, dtype=np.int64)
    others_a = np.array(others + keys[:3], dtype=np.int64)
    order, starts, counts = _runs(keys_a)
    if len(keys_a):
        unique, first, inverse, ucounts = np.unique(keys_a, return_index=True, return_inverse=True,
                                                    return_counts=True)
        np.testing.assert_array_equal(keys_a[order[starts]], unique)
        np.testing.assert_array_equal(order[starts], first)
        np.testing.assert_array_equal(counts, ucounts)
    np.testing.assert_array_equal(_is_in_sorted(others_a, np.sort(keys_a)), np.isin(others_a, keys_a))
