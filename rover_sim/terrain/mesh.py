"""Terrain mesh for Gazebo: an error-bounded, crack-free decimation of the height grid, written as OBJ.

Gazebo's bullet-featherstone engine (the one that enforces the rocker's mimic joint) has no
heightmap collision, so the terrain collides as a triangle mesh. A full 0.05 m grid is over a
million triangles; instead an error-bounded quadtree covers the grid: a square block of cells
becomes two triangles on its corners when every grid node in it lies within `tolerance_m` of
them, otherwise it splits in four (flat ground: 32 x 32 cell blocks; rocks, crater rims and ramp
edges: single cells). Where a small block meets a larger one, the small block's corners on the
large block's edge are moved onto that edge (a linear interpolation between its corners, within
the same tolerance), so the surface has no gaps at the T-junctions.

All triangles are counter-clockwise seen from above (+z normals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TerrainMesh:
    """vertices (n, 3) metres in the world frame, faces (m, 3) 0-based vertex indices, normals (n, 3)."""

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    max_error_m: float


def _tri_interp(coarse: np.ndarray, stride: int, shape: tuple[int, int]) -> np.ndarray:
    """Heights at every fine node of the triangulated coarse grid (diagonal from (i, j) to (i+1, j+1)).

    coarse: the nodes heights[::stride, ::stride] of a region whose node counts minus one are
    multiples of stride; shape: the fine region's node shape.
    """
    ny, nx = shape
    i = np.arange(ny)
    j = np.arange(nx)
    ci = np.minimum(i // stride, coarse.shape[0] - 2)
    cj = np.minimum(j // stride, coarse.shape[1] - 2)
    b = ((i - ci * stride) / stride)[:, None]  # row fraction (y)
    a = ((j - cj * stride) / stride)[None, :]  # column fraction (x)
    c00 = coarse[ci][:, cj]
    c01 = coarse[ci][:, cj + 1]
    c10 = coarse[ci + 1][:, cj]
    c11 = coarse[ci + 1][:, cj + 1]
    lower = c00 + a * (c01 - c00) + b * (c11 - c01)  # triangle (00, 01, 11), a >= b
    upper = c00 + b * (c10 - c00) + a * (c11 - c10)  # triangle (00, 11, 10), a < b
    return np.where(a >= b, lower, upper)


def _level_errors(padded: np.ndarray, size: int) -> np.ndarray:
    """Max |height - 2-triangle fit| over each aligned size x size block of the padded grid."""
    ny, nx = padded.shape
    approx = _tri_interp(padded[::size, ::size], size, padded.shape)
    err = np.abs(padded - approx)
    cell = np.maximum(np.maximum(err[:-1, :-1], err[1:, :-1]), np.maximum(err[:-1, 1:], err[1:, 1:]))
    return cell.reshape((ny - 1) // size, size, (nx - 1) // size, size).max(axis=(1, 3))


def quadtree_leaves(heights: np.ndarray, tolerance_m: float, root: int = 32) -> list[tuple[int, np.ndarray]]:
    """Leaves of an error-bounded quadtree over the grid's cells: [(size, (k, 2) array of (i0, j0))].

    A block of `size` cells becomes a leaf (two triangles on its corners) when every node in it
    is within tolerance_m of those triangles and it lies wholly on the map; otherwise it splits
    into four. The grid is edge-padded to a multiple of `root` cells so blocks stay aligned.
    """
    if root < 1 or root & (root - 1):
        raise ValueError(f'root must be a power of two, got {root}')
    ncy, ncx = heights.shape[0] - 1, heights.shape[1] - 1
    pad_y, pad_x = -ncy % root, -ncx % root
    padded = np.pad(heights, ((0, pad_y), (0, pad_x)), mode='edge')
    leaves: list[tuple[int, np.ndarray]] = []
    size = root
    active = np.ones(((ncy + pad_y) // root, (ncx + pad_x) // root), dtype=bool)
    while size >= 1:
        bi, bj = np.nonzero(active)
        i0, j0 = bi * size, bj * size
        on_map = (i0 < ncy) & (j0 < ncx)
        inside = (i0 + size <= ncy) & (j0 + size <= ncx)
        # single cells are always exact: their two triangles interpolate their four nodes
        good = _level_errors(padded, size)[bi, bj] <= tolerance_m if size > 1 else np.ones(bi.size, dtype=bool)
        leaf = on_map & inside & good
        if leaf.any():
            leaves.append((size, np.column_stack([i0[leaf], j0[leaf]])))
        split = on_map & ~leaf
        if size == 1 or not split.any():
            break
        child = np.zeros((active.shape[0] * 2, active.shape[1] * 2), dtype=bool)
        for di in (0, 1):
            for dj in (0, 1):
                child[2 * bi[split] + di, 2 * bj[split] + dj] = True
        active = child
        size //= 2
    return leaves


def _snap_leaf_edges(mesh_h: np.ndarray, leaves: list[tuple[int, np.ndarray]]) -> None:
    """Put every node inside a leaf's edges on the straight line between that edge's corners.

    Leaves are processed from the largest down, so a finer leaf's corner sitting on a coarser
    leaf's edge (a T-junction) is first moved onto that edge, and the finer leaf then uses it.
    """
    for size, corners in sorted(leaves, key=lambda item: -item[0]):
        if size < 2:
            continue
        i0 = corners[:, 0][:, None]
        j0 = corners[:, 1][:, None]
        k = np.arange(1, size)[None, :]
        t = k / size
        for fixed_i, fixed_j, along_i in ((i0, None, False), (i0 + size, None, False),
                                          (None, j0, True), (None, j0 + size, True)):
            if along_i:  # vertical edge at column fixed_j
                a = mesh_h[i0, fixed_j]
                b = mesh_h[i0 + size, fixed_j]
                mesh_h[i0 + k, fixed_j] = a + (b - a) * t
            else:  # horizontal edge at row fixed_i
                a = mesh_h[fixed_i, j0]
                b = mesh_h[fixed_i, j0 + size]
                mesh_h[fixed_i, j0 + k] = a + (b - a) * t


def decimate(heights: np.ndarray, origin_xy: tuple[float, float], resolution: float,
             tolerance_m: float = 0.01, root: int = 32, verify: bool = True) -> TerrainMesh:
    """Triangulate a height grid within about tolerance_m (see the module docstring); returns the mesh.

    A T-junction snap can add up to one more tolerance, so max_error_m (measured when `verify`)
    is at most about 2 * tolerance_m.
    """
    ny, nx = heights.shape
    leaves = quadtree_leaves(heights, tolerance_m, root)
    mesh_h = np.array(heights, dtype=float)
    _snap_leaf_edges(mesh_h, leaves)

    quads = []
    for size, c in leaves:
        i0, j0 = c[:, 0], c[:, 1]
        i1, j1 = i0 + size, j0 + size
        quads.append(np.column_stack([i0 * nx + j0, i0 * nx + j1, i1 * nx + j1, i1 * nx + j0]))
    quad_arr = np.concatenate(quads)
    used = np.zeros(ny * nx, dtype=bool)
    used[quad_arr.ravel()] = True
    flat_used = np.flatnonzero(used)
    index = np.full(ny * nx, -1, dtype=np.int64)
    index[flat_used] = np.arange(flat_used.size)
    q = index[quad_arr]
    faces = np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])

    ii, jj = np.divmod(flat_used, nx)
    vertices = np.column_stack([origin_xy[0] + jj * resolution, origin_xy[1] + ii * resolution,
                                mesh_h.ravel()[flat_used]])
    gy, gx = np.gradient(heights, resolution)
    normals = np.column_stack([-gx.ravel()[flat_used], -gy.ravel()[flat_used], np.ones(flat_used.size)])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    max_error = mesh_error(heights, origin_xy, resolution, vertices, faces) if verify else float('nan')
    return TerrainMesh(vertices=vertices, faces=faces, normals=normals, max_error_m=max_error)


def mesh_error(heights: np.ndarray, origin_xy: tuple[float, float], resolution: float,
               vertices: np.ndarray, faces: np.ndarray) -> float:
    """Largest |grid height - mesh height| over all grid nodes (m), by rasterising every triangle.

    Each node is tested against the triangles whose bounding box covers it (barycentric
    coordinates); used to verify the decimation, not on a hot path.
    """
    ny, nx = heights.shape
    tri = vertices[faces]  # (m, 3, 3)
    gx = (tri[:, :, 0] - origin_xy[0]) / resolution
    gy = (tri[:, :, 1] - origin_xy[1]) / resolution
    worst = 0.0
    covered = np.zeros((ny, nx), dtype=bool)
    # triangles of the same stride have the same size: process them grouped by bounding-box size
    span = np.rint(np.maximum(gx.max(1) - gx.min(1), gy.max(1) - gy.min(1))).astype(int)
    chunks = []
    for size in np.unique(span):
        group = np.flatnonzero(span == size)
        step = max(1, 400_000 // (size + 1) ** 2)  # bound the memory of one batch
        chunks.extend((int(size), group[k:k + step]) for k in range(0, group.size, step))
    for size, sel in chunks:
        j0 = np.rint(gx[sel].min(1)).astype(int)
        i0 = np.rint(gy[sel].min(1)).astype(int)
        off = np.arange(size + 1)
        jj = j0[:, None, None] + off[None, None, :]
        ii = i0[:, None, None] + off[None, :, None]
        px = jj.astype(float)
        py = ii.astype(float)
        x0, x1, x2 = (gx[sel, k][:, None, None] for k in range(3))
        y0, y1, y2 = (gy[sel, k][:, None, None] for k in range(3))
        det = (y1 - y2) * (x0 - x2) + (x2 - x1) * (y0 - y2)
        w0 = ((y1 - y2) * (px - x2) + (x2 - x1) * (py - y2)) / det
        w1 = ((y2 - y0) * (px - x2) + (x0 - x2) * (py - y2)) / det
        w2 = 1.0 - w0 - w1
        inside = (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
        z = (w0 * tri[sel, 0, 2][:, None, None] + w1 * tri[sel, 1, 2][:, None, None]
             + w2 * tri[sel, 2, 2][:, None, None])
        ii_c = np.clip(ii, 0, ny - 1)
        jj_c = np.clip(jj, 0, nx - 1)
        ii_b, jj_b = np.broadcast_arrays(ii_c, jj_c)
        err = np.abs(heights[ii_b, jj_b] - z)
        if inside.any():
            worst = max(worst, float(err[inside].max()))
        covered[ii_b[inside], jj_b[inside]] = True
    if not covered.all():
        raise ValueError(f'mesh leaves {int((~covered).sum())} grid nodes uncovered')
    return worst


def _g(value: float) -> str:
    """A number to 3 decimals without trailing zeros (mm for coordinates)."""
    text = f'{value:.3f}'.rstrip('0').rstrip('.')
    return '0' if text in ('', '-0') else text


def obj_text(mesh: TerrainMesh, name: str) -> str:
    """Wavefront OBJ text: v and vn (mm / 0.001 precision), and 1-based `f v//vn` faces (CCW from above)."""
    lines = [f'# {name}: lunar terrain mesh generated by rover_testbed (rover_sim.terrain), metres, z up',
             f'# {len(mesh.vertices)} vertices, {len(mesh.faces)} triangles, max error {mesh.max_error_m:.4f} m',
             f'o {name}']
    v = mesh.vertices
    lines.extend(f'v {_g(x)} {_g(y)} {_g(z)}' for x, y, z in v.tolist())
    lines.extend(f'vn {_g(x)} {_g(y)} {_g(z)}' for x, y, z in mesh.normals.tolist())
    f = mesh.faces + 1
    lines.extend(f'f {a}//{a} {b}//{b} {c}//{c}' for a, b, c in f.tolist())
    return '\n'.join(lines) + '\n'
