"""The fast ground fit and cloud paths against the straightforward versions they replaced (pure).

`reference_ground` is the ground fit before the speed-up. The fast one sums the windows with one
matrix product instead of integral images (same sums, rounded differently: heights agree to
1e-9 m) and stops iterating once the trimmed set stops changing (the next fit would be the same).
So every obstacle point, every plane and every look-ahead tilt must come out the same.
"""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from safety import reference_ground as ref
from safety.synthetic import Terrain, rectangle

from rover_description.geometry import load_geometry
from rover_nav.safety import ground
from rover_nav.safety.cloud import FLOAT32, FLOAT64, Field, xyz_from_cloud
from rover_nav.safety.ground import GroundParams, fit_plane, heights_above_ground
from rover_nav.safety.obstacle import _COUNT_CELL, ObstacleConfig, _cell_keys, _runs, obstacle_points
from rover_nav.safety.slope import terrain_tilt_ahead

FOOTPRINT = load_geometry('yutu2').footprint
CONFIG = ObstacleConfig(max_step_height=0.2, clearance=0.1, cloud_timeout=1.0, max_range=4.0)
HEIGHT_TOL = 1e-9  # m


@st.composite
def clouds(draw) -> np.ndarray:
    """Hazcam-like clouds: sloped or kinked ground, rocks and boxes, sparse or dense, with no-returns."""
    terrain = Terrain(slope_deg=draw(st.floats(0.0, 25.0)), heading=draw(st.floats(-math.pi, math.pi)),
                      kink_x=draw(st.one_of(st.none(), st.floats(0.5, 3.0))), kink_deg=draw(st.floats(-15.0, 15.0)),
                      noise=draw(st.floats(0.0, 0.03)), seed=draw(st.integers(0, 2 ** 16)))
    n = draw(st.sampled_from([3, 5, 12, 40, 150, 600, 1500]))
    parts = [terrain.ground(n, x=(0.5, draw(st.floats(0.8, 4.5))), y=(-draw(st.floats(0.2, 3.0)), 2.5))]
    for _ in range(draw(st.integers(0, 3))):
        corners = rectangle(draw(st.floats(0.7, 3.5)), draw(st.floats(-1.5, 1.5)), draw(st.floats(0.1, 0.6)),
                            draw(st.floats(0.1, 0.6)), draw(st.floats(-1.0, 1.0)))
        parts.append(terrain.box(corners, draw(st.floats(0.03, 0.5)), density=draw(st.sampled_from([0.04, 0.08]))))
    cloud = np.vstack(parts)
    bad = terrain.rng.random(len(cloud)) < draw(st.floats(0.0, 0.4))
    cloud[bad, terrain.rng.integers(0, 3, int(bad.sum()))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return cloud


def reference_obstacle_points(points: np.ndarray, config: ObstacleConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid points, heights, points above max_step_height) the way obstacle_points found them before."""
    pts = ref.finite_points(points)
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) <= config.max_range]
    h = ref.heights_above_ground(pts, GroundParams()) if len(pts) else np.zeros(0)
    high = pts[np.nan_to_num(h, nan=-np.inf) > config.max_step_height]
    if len(high) and config.min_obstacle_points > 1:  # the count filter, unchanged
        order, _, counts = _runs(_cell_keys(high[:, :2], _COUNT_CELL))
        per_point = np.empty(len(high), dtype=np.int64)
        per_point[order] = np.repeat(counts, counts)
        high = high[per_point >= config.min_obstacle_points]
    return pts, h, high


def reference_tilt_ahead(points: np.ndarray, up: np.ndarray, distance: float = 1.0) -> float | None:
    pts = points[np.all(np.isfinite(points), axis=1)]
    x0, x1, y0, y1 = FOOTPRINT
    region = pts[(pts[:, 0] >= x1) & (pts[:, 0] <= x1 + distance) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)]
    if len(region) < 30:
        return None
    plane = ref.fit_plane(region)
    return None if plane is None else math.degrees(ground.plane_tilt(plane, up))


@settings(max_examples=300, deadline=None)
@given(clouds())
def test_heights_and_obstacle_points_match_the_reference_fit(cloud):
    valid_ref, h_ref, high_ref = reference_obstacle_points(cloud, CONFIG)
    h = heights_above_ground(valid_ref)
    np.testing.assert_array_equal(np.isnan(h), np.isnan(h_ref))
    np.testing.assert_allclose(h, h_ref, rtol=0.0, atol=HEIGHT_TOL)
    # no point so close to the threshold that rounding could decide it: then the decisions must agree
    assume(not np.any(np.abs(np.nan_to_num(h_ref, nan=1.0) - CONFIG.max_step_height) < HEIGHT_TOL))
    valid, high = obstacle_points(cloud, CONFIG)
    np.testing.assert_array_equal(valid, valid_ref)
    np.testing.assert_array_equal(high, high_ref)


@settings(max_examples=300, deadline=None)
@given(clouds(), st.floats(0.0, 0.3), st.floats(-0.3, 0.3))
def test_fit_plane_and_tilt_ahead_are_identical_to_the_reference(cloud, ux, uy):
    up = np.array([ux, uy, 1.0])
    assert fit_plane(cloud) == ref.fit_plane(cloud)
    assert terrain_tilt_ahead(cloud, FOOTPRINT, up, 1.0) == reference_tilt_ahead(cloud, up)


@settings(max_examples=100, deadline=None)
@given(clouds())
def test_matrix_and_integral_image_window_sums_agree(cloud):
    pts = ref.finite_points(cloud)
    dense = heights_above_ground(pts)
    limit = ground._MAX_DENSE_CELLS
    ground._MAX_DENSE_CELLS = -1
    try:
        sparse = heights_above_ground(pts)
    finally:
        ground._MAX_DENSE_CELLS = limit
    np.testing.assert_allclose(dense, sparse, rtol=0.0, atol=HEIGHT_TOL)


@pytest.mark.parametrize('seed', range(3))
def test_a_wide_cloud_takes_the_integral_image_path_and_matches(seed):
    terrain = Terrain(slope_deg=8.0, heading=0.4, seed=seed)
    cloud = np.vstack([terrain.ground(4000, x=(-12.0, 12.0), y=(-12.0, 12.0)),
                       terrain.box(rectangle(2.0, 0.0, 0.4, 0.4), 0.3)])
    cells = len(np.unique(np.floor(cloud[:, :2] / GroundParams().cell), axis=0))
    assert cells > ground._MAX_DENSE_CELLS
    np.testing.assert_allclose(heights_above_ground(cloud), ref.heights_above_ground(cloud), rtol=0.0, atol=HEIGHT_TOL)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([FLOAT32, FLOAT64]), st.integers(0, 3), st.integers(0, 12), st.integers(0, 8),
       st.booleans(), st.integers(1, 5), st.integers(1, 4), st.booleans())
def test_any_xyz_layout_reads_like_the_record_view(datatype, lead, tail, row_pad, big, width, height, adjacent):
    """Adjacent x, y, z (the one-view fast path) or scattered ones: the same points come out."""
    kind = ('>' if big else '<') + ('f4' if datatype == FLOAT32 else 'f8')
    size = np.dtype(kind).itemsize
    gap = 0 if adjacent else 2
    offsets = [lead + i * (size + gap) for i in range(3)]
    step = offsets[2] + size + tail
    values = np.random.default_rng(lead * 100 + tail).normal(size=(height, width, 3))
    values[0, 0, 1] = math.nan
    data = bytearray(b'\xab' * (height * (width * step + row_pad)))
    for r in range(height):
        for c in range(width):
            for axis in range(3):
                at = r * (width * step + row_pad) + c * step + offsets[axis]
                data[at:at + size] = np.array(values[r, c, axis], dtype=kind).tobytes()
    fields = [Field(n, o, datatype) for n, o in zip('xyz', offsets, strict=True)]
    out = xyz_from_cloud(fields, bytes(data), width, height, step, width * step + row_pad, big)
    expected = values.reshape(-1, 3).astype(kind).astype(np.float64)
    np.testing.assert_array_equal(out, expected)
