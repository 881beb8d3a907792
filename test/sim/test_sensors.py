"""Sensor models: IMU (REP-145 conventions) and the height-grid depth scanner."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_sim.sensors import (
    HeightfieldScanner,
    ImuModel,
    quat_from_matrix,
    ray_directions,
    roll_pitch_yaw,
    tilt_deg,
)
from rover_sim.terrain.grid import Grid


def rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


@settings(max_examples=60)
@given(axis=st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)), angle=st.floats(-3.1, 3.1))
def test_quaternion_round_trip(axis, angle):
    v = np.array(axis)
    if np.linalg.norm(v) < 1e-3:
        v = np.array([0.0, 0.0, 1.0])
    v = v / np.linalg.norm(v)
    kx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    rot = np.eye(3) + math.sin(angle) * kx + (1 - math.cos(angle)) * kx @ kx
    q = quat_from_matrix(rot)
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert q[3] >= 0.0
    np.testing.assert_allclose(quat_to_matrix(q), rot, atol=1e-9)


def test_nose_up_is_negative_pitch():
    rot = rot_y(math.radians(-15.0))  # rotating about +y (left) by -15 deg lifts the nose
    assert (rot @ np.array([1.0, 0, 0]))[2] > 0
    roll, pitch, _ = roll_pitch_yaw(rot)
    assert math.degrees(pitch) == pytest.approx(-15.0)
    assert roll == pytest.approx(0.0)
    assert tilt_deg(rot) == pytest.approx(15.0)


def test_imu_at_rest_reads_gravity_reaction_and_orientation():
    imu = ImuModel(1.62, 0.0, 0.0, 0.0, np.random.default_rng(0))
    rot = rot_z(0.7) @ rot_y(math.radians(-15.0))
    for k in range(3):
        s = imu.sample(0.02 * k, rot, np.zeros(3), np.zeros(3))
    world_f = rot @ s.linear_acceleration
    np.testing.assert_allclose(world_f, [0, 0, 1.62], atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(s.orientation), rot, atol=1e-9)


def test_imu_differentiates_velocity():
    imu = ImuModel(1.62, 0.0, 0.0, 0.0, np.random.default_rng(0))
    imu.sample(0.0, np.eye(3), np.zeros(3), np.zeros(3))
    s = imu.sample(0.1, np.eye(3), np.array([0, 0, 0.2]), np.array([0.05, 0, 0]))
    np.testing.assert_allclose(s.linear_acceleration, [0.5, 0, 1.62])
    np.testing.assert_allclose(s.angular_velocity, [0, 0, 0.2])


def test_imu_noise_is_seeded_and_scaled():
    a = ImuModel(1.62, 0.05, 0.01, 0.0, np.random.default_rng(3))
    b = ImuModel(1.62, 0.05, 0.01, 0.0, np.random.default_rng(3))
    xs = [a.sample(0.02 * k, np.eye(3), np.zeros(3), np.zeros(3)).linear_acceleration for k in range(400)]
    ys = [b.sample(0.02 * k, np.eye(3), np.zeros(3), np.zeros(3)).linear_acceleration for k in range(400)]
    np.testing.assert_array_equal(xs, ys)
    assert np.std(np.array(xs)[:, 0]) == pytest.approx(0.05, rel=0.2)


def test_imu_rejects_negative_noise():
    with pytest.raises(ValueError, match='accel_noise'):
        ImuModel(1.62, -1.0, 0.0, 0.0, np.random.default_rng(0))


def test_ray_directions_are_a_lidar_fan():
    d = ray_directions(math.radians(90), math.radians(60), 5, 3)
    assert d.shape == (3, 5, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0)
    assert d[0, 0, 1] < 0 and d[0, 0, 2] < 0  # first ray: right-most, lowest
    np.testing.assert_allclose(d[1, 2], [1, 0, 0])
    assert math.degrees(math.atan2(d[1, 4, 1], d[1, 4, 0])) == pytest.approx(45.0)
    assert math.degrees(math.asin(d[2, 2, 2])) == pytest.approx(30.0)


def _flat(h: float = 0.0) -> tuple[Grid, np.ndarray]:
    grid = Grid(-5.0, -5.0, 0.05, 201, 201)
    return grid, np.full(grid.shape, h)


def _scanner(noise: float = 0.0, seed: int = 0) -> HeightfieldScanner:
    return HeightfieldScanner(ray_directions(math.radians(100), math.radians(80), 32, 24), 0.1, 4.0, 48,
                              noise, np.random.default_rng(seed))


def test_scan_of_a_flat_floor_lies_on_the_floor():
    grid, heights = _flat(0.0)
    rot = rot_y(math.radians(37.5))  # pitched down
    pts = _scanner().scan(grid, heights, np.array([0.0, 0.0, 0.55]), rot)
    world = pts.reshape(-1, 3) @ rot.T + np.array([0, 0, 0.55])
    ok = np.isfinite(world[:, 2])
    assert ok.sum() > 300
    assert np.max(np.abs(world[ok, 2])) < 0.005
    assert np.all(~np.isfinite(pts[-1, :, 0]))  # the top row looks over the horizon: no returns


def test_scan_sees_a_rock_and_hides_what_is_behind_it():
    grid, heights = _flat(0.0)
    xx, yy = np.meshgrid(grid.x, grid.y)
    rock = (xx - 1.5) ** 2 + yy ** 2 <= 0.25 ** 2
    heights[rock] = 0.3
    rot = rot_y(math.radians(37.5))
    pos = np.array([0.0, 0.0, 0.55])
    world = _scanner().scan(grid, heights, pos, rot).reshape(-1, 3) @ rot.T + pos
    ok = np.isfinite(world[:, 0])
    tall = ok & (world[:, 2] > 0.15)
    assert tall.sum() >= 3
    assert np.all(np.abs(world[tall, 0] - 1.5) < 0.3)
    # the shadow: straight behind the rock, close to the floor, nothing is seen
    shadow = ok & (np.abs(world[:, 1]) < 0.05) & (world[:, 0] > 1.8) & (world[:, 0] < 2.2)
    assert shadow.sum() == 0


def test_scan_noise_is_seeded():
    grid, heights = _flat(0.0)
    rot = rot_y(math.radians(37.5))
    pos = np.array([0.0, 0.0, 0.55])
    a = _scanner(0.01, 5).scan(grid, heights, pos, rot)
    b = _scanner(0.01, 5).scan(grid, heights, pos, rot)
    c = _scanner(0.0).scan(grid, heights, pos, rot)
    np.testing.assert_array_equal(a, b)
    diff = np.linalg.norm(a - c, axis=-1)
    assert np.nanmax(diff) > 0.0 and np.nanmedian(diff) < 0.03


def test_scanner_rejects_bad_ranges():
    with pytest.raises(ValueError, match='min_range'):
        HeightfieldScanner(ray_directions(1.0, 1.0, 2, 2), 5.0, 4.0, 32, 0.0, np.random.default_rng(0))


def _dense_scan(scanner: HeightfieldScanner, grid: Grid, heights: np.ndarray, position: np.ndarray,
                rot: np.ndarray) -> np.ndarray:
    """The scan with the ground looked up at every sample of every ray (no pruning; noise-free)."""
    dirs = scanner.directions @ rot.T
    rows, cols, _, _ = grid.window(position[0], position[1], scanner.max_range)
    local = np.ascontiguousarray(heights[rows, cols])
    ny, nx = local.shape
    z_lo, z_hi = local.min(), local.max()
    dz = dirs[:, 2]
    t0 = scanner.min_range
    with np.errstate(divide='ignore', invalid='ignore'):
        t_floor = np.where(dz < -1e-9, (z_lo - 0.01 - position[2]) / dz, np.inf)
    t = (np.clip(t_floor, t0, scanner.max_range) - t0)[:, None] * scanner._u + t0
    maybe = (dz < 0.0) | (position[2] + dz * t0 <= z_hi)
    inv = 1.0 / grid.resolution
    fx = np.clip(dirs[:, 0:1] * inv * t + ((position[0] - grid.origin_x) * inv - cols.start), 0.0, nx - 1.000001)
    fy = np.clip(dirs[:, 1:2] * inv * t + ((position[1] - grid.origin_y) * inv - rows.start), 0.0, ny - 1.000001)
    j, i = fx.astype(np.intp), fy.astype(np.intp)
    u, v = fx - j, fy - i
    h00, h01, h10, h11 = local[i, j], local[i, j + 1], local[i + 1, j], local[i + 1, j + 1]
    hgt = ((h11 - h10 - h01 + h00) * u + (h10 - h00)) * v + (h01 - h00) * u + h00
    above = (dz[:, None] * t + position[2]) - hgt
    below = above <= 0.0
    first = np.argmax(below, axis=1)
    idx = np.arange(len(first))
    prev = np.maximum(first - 1, 0)
    a0, a1 = above[idx, prev], above[idx, first]
    frac = np.where(first > 0, np.clip(a0 / np.where(a0 - a1 > 1e-12, a0 - a1, 1.0), 0.0, 1.0), 0.0)
    t_hit = t[idx, prev] + frac * (t[idx, first] - t[idx, prev])
    valid = below.any(axis=1) & maybe & (t_hit >= scanner.min_range) & (t_hit <= scanner.max_range)
    return (scanner.directions * np.where(valid, t_hit, np.nan)[:, None]).reshape(*scanner.shape, 3)


def test_scan_looks_up_only_samples_that_can_be_below_the_ground_with_the_same_points():
    # rough ground with rocks and a pit, poses all over it (also off the map, looking up, rolled)
    rng = np.random.default_rng(7)
    grid = Grid(-3.0, -3.0, 0.05, 121, 121)
    heights = rng.normal(0.0, 0.02, grid.shape)
    xx, yy = np.meshgrid(grid.x, grid.y)
    heights[(xx - 1.0) ** 2 + yy ** 2 <= 0.2 ** 2] = 0.35
    heights[(xx + 1.0) ** 2 + (yy - 1.0) ** 2 <= 0.4 ** 2] -= 0.3
    scanner = _scanner()
    hits = 0
    for _ in range(60):
        pos = np.array([rng.uniform(-4.0, 4.0), rng.uniform(-4.0, 4.0), rng.uniform(-0.2, 1.5)])
        rot = rot_z(rng.uniform(-math.pi, math.pi)) @ rot_y(rng.uniform(-0.9, 1.2)) @ rot_x(rng.uniform(-0.5, 0.5))
        fast = scanner.scan(grid, heights, pos, rot)
        np.testing.assert_array_equal(fast, _dense_scan(scanner, grid, heights, pos, rot))
        hits += int(np.isfinite(fast[..., 0]).sum())
    assert hits > 5000
