"""The Gazebo terrain mesh: error-bounded, gap-free, upward-facing, and a valid OBJ."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_sim.terrain import build_terrain, load_world
from rover_sim.terrain.mesh import decimate, mesh_error, obj_text, quadtree_leaves


def _signed_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = (vertices[faces[:, k], :2] for k in range(3))
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _t_junctions_closed(vertices: np.ndarray, faces: np.ndarray, tol: float = 1e-9) -> int:
    """Check every vertex lying inside another triangle edge sits exactly on it; returns how many there are."""
    edges = np.unique(np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1), axis=0)
    p = vertices[edges[:, 0]]
    q = vertices[edges[:, 1]]
    count = 0
    for idx, v in enumerate(vertices):
        d = q[:, :2] - p[:, :2]
        t = ((v[0] - p[:, 0]) * d[:, 0] + (v[1] - p[:, 1]) * d[:, 1]) / (d * d).sum(axis=1)
        cross = (v[0] - p[:, 0]) * d[:, 1] - (v[1] - p[:, 1]) * d[:, 0]
        on = (np.abs(cross) < 1e-9) & (t > 1e-9) & (t < 1 - 1e-9)
        on &= (edges[:, 0] != idx) & (edges[:, 1] != idx)
        if on.any():
            z_edge = p[on, 2] + t[on] * (q[on, 2] - p[on, 2])
            assert np.all(np.abs(z_edge - v[2]) < tol), 'a T-junction vertex is off its edge: the mesh has a crack'
            count += int(on.sum())
    return count


def _check_mesh(heights, origin, res, tol):
    mesh = decimate(heights, origin, res, tol)
    ny, nx = heights.shape
    areas = _signed_areas(mesh.vertices, mesh.faces)
    assert np.all(areas > 0), 'every triangle counter-clockwise seen from above (+z normal)'
    # no overlaps and no holes: the triangles tile the map's rectangle exactly
    assert areas.sum() == pytest.approx((nx - 1) * (ny - 1) * res * res, rel=1e-9)
    assert mesh.max_error_m <= 2 * tol + 1e-9
    assert mesh.max_error_m == pytest.approx(mesh_error(heights, origin, res, mesh.vertices, mesh.faces))
    assert mesh.faces.min() >= 0 and mesh.faces.max() < len(mesh.vertices)
    assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1.0) and np.all(mesh.normals[:, 2] > 0)
    return mesh


@settings(max_examples=25, deadline=None)
@given(ny=st.integers(3, 70), nx=st.integers(3, 70), seed=st.integers(0, 10_000),
       tol=st.sampled_from([0.005, 0.02, 0.1]), bumps=st.integers(0, 6))
def test_random_grids_decimate_within_tolerance_without_cracks(ny, nx, seed, tol, bumps):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ny, 0:nx] * 0.05
    heights = 0.1 * np.sin(x * rng.uniform(0.2, 2)) * np.cos(y * rng.uniform(0.2, 2))
    for _ in range(bumps):  # sharp rocks force fine leaves next to coarse ones
        i, j = rng.integers(0, ny), rng.integers(0, nx)
        heights[i, j] += rng.uniform(0.05, 0.3)
    mesh = _check_mesh(heights, (-1.0, 2.0), 0.05, tol)
    _t_junctions_closed(mesh.vertices, mesh.faces)


def test_flat_ground_is_a_few_big_triangles():
    heights = np.zeros((129, 257))
    mesh = _check_mesh(heights, (0.0, 0.0), 0.05, 0.01)
    assert len(mesh.faces) == 2 * (128 // 32) * (256 // 32)
    assert mesh.max_error_m == 0.0


def test_a_rock_forces_fine_cells_only_around_it():
    heights = np.zeros((65, 65))
    heights[30:33, 40:43] = 0.2
    mesh = _check_mesh(heights, (0.0, 0.0), 0.05, 0.01)
    assert len(mesh.faces) < 300
    assert _t_junctions_closed(mesh.vertices, mesh.faces) > 0
    leaves = quadtree_leaves(heights, 0.01)
    assert {size for size, _ in leaves} >= {1, 32}


def test_named_world_meshes_stay_small_and_accurate():
    for name, max_triangles in (('rock_test', 5_000), ('slope_test', 20_000), ('change4', 150_000)):
        terrain = build_terrain(load_world(name))
        mesh = decimate(terrain.heights, terrain.origin_xy, terrain.resolution, 0.015)
        assert len(mesh.faces) < max_triangles, name
        assert mesh.max_error_m <= 0.03, name
        areas = _signed_areas(mesh.vertices, mesh.faces)
        assert np.all(areas > 0) and areas.sum() == pytest.approx(terrain.size_m[0] * terrain.size_m[1])


def test_obj_text_is_a_valid_wavefront_mesh():
    heights = np.zeros((33, 65))
    heights[10, 10] = 0.1
    mesh = decimate(heights, (-1.6, -0.8), 0.05, 0.01)
    text = obj_text(mesh, 'demo_terrain')
    lines = text.splitlines()
    v = [line for line in lines if line.startswith('v ')]
    vn = [line for line in lines if line.startswith('vn ')]
    f = [line for line in lines if line.startswith('f ')]
    assert len(v) == len(vn) == len(mesh.vertices) and len(f) == len(mesh.faces)
    parsed = np.array([[float(t) for t in line.split()[1:]] for line in v])
    assert np.allclose(parsed, mesh.vertices, atol=5e-4)
    idx = np.array([[int(t.split('//')[0]) for t in line.split()[1:]] for line in f])
    assert idx.min() == 1 and idx.max() == len(v)
    assert 'o demo_terrain' in lines
