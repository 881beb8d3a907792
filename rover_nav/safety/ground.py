"""Local ground from a point cloud, robust to rocks, so a slope is ground and a rock on it is not.

Method (all vectorised numpy, points (N, 3) in base_link metres):
1. Bin the points into square cells of `cell` m on the xy plane; each cell contributes one
   ground sample, its low-percentile point in z (a rock face cannot outvote the ground under
   it by having many pixels).
2. For every cell, fit a plane z = a x + b y + c to the samples of the (2k+1)^2 cells around it
   (least squares on centred moments). The window sums of all cells are one product of the
   samples' moments with the cells' 0/1 window matrix, built once per cloud (integral images
   over the cell grid for clouds with very many cells).
3. Drop samples lying more than `trim` m above their plane (rocks sit ON the ground, so only
   the upper side is trimmed) and refit, `iterations` times. A slope or a gentle kink stays
   planar within a window and keeps its samples, a rock's samples are trimmed. The planes
   depend on the kept samples alone, so the refits stop early once that set stops changing.
4. A point's height is its distance along the plane normal above its own cell's plane.
Windows with fewer than `min_cells` samples fall back to one robust plane over the whole cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

Plane = tuple[float, float, float]  # z = a x + b y + c


@dataclass(frozen=True)
class GroundParams:
    """Ground-fit tuning: cell size (m), window half-width (cells), trim (m), iterations."""

    cell: float = 0.25
    window: int = 2
    trim: float = 0.08
    iterations: int = 3
    min_cells: int = 6
    percentile: float = 0.2
    ridge: float = 1e-3  # m^2: pulls the slope of an ill-conditioned (collinear) window to level

    def __post_init__(self) -> None:
        if not (self.cell > 0 and self.window >= 1 and self.trim > 0 and self.iterations >= 1
                and self.min_cells >= 3 and 0.0 <= self.percentile <= 1.0 and self.ridge >= 0.0):
            raise ValueError(f'invalid ground parameters {self}')


def finite_points(points: np.ndarray) -> np.ndarray:
    """The rows of an (N, 3) array whose x, y and z are all finite (no-returns dropped)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f'points must have shape (N, 3), got {pts.shape}')
    return pts[_finite_rows(pts)]


def _finite_rows(pts: np.ndarray) -> np.ndarray:
    """Mask of the rows of an (N, 3) array with all three coordinates finite."""
    fin = np.isfinite(pts)
    return fin[:, 0] & fin[:, 1] & fin[:, 2]


def _solve_planes(s1, sx, sy, sz, sxx, sxy, syy, sxz, syz, ridge: float):
    """Vectorised least-squares planes from moment sums; returns a, b, c, valid (arrays)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        n = np.where(s1 > 0, s1, 1.0)
        mx, my, mz = sx / n, sy / n, sz / n
        cxx = sxx - sx * mx + ridge * s1
        cyy = syy - sy * my + ridge * s1
        cxy = sxy - sx * my
        cxz = sxz - sx * mz
        cyz = syz - sy * mz
        det = cxx * cyy - cxy * cxy
        ok = (s1 > 0) & (det > 1e-12)
        det = np.where(ok, det, 1.0)
        a = (cxz * cyy - cyz * cxy) / det
        b = (cyz * cxx - cxz * cxy) / det
        c = mz - a * mx - b * my
    return a, b, c, ok


def fit_plane(points: np.ndarray, trim: float = 0.08, iterations: int = 3, ridge: float = 1e-3) -> Plane | None:
    """One robust plane z = a x + b y + c through (N, 3) points, upper outliers trimmed.

    Returns None with fewer than 3 usable points or a degenerate (collinear) set.
    """
    return fit_plane_finite(finite_points(points), trim, iterations, ridge)


def fit_plane_finite(pts: np.ndarray, trim: float = 0.08, iterations: int = 3, ridge: float = 1e-3) -> Plane | None:
    """`fit_plane` of an (N, 3) float array whose rows are all finite (not checked)."""
    # rows (1, x, y, z): all nine moment sums of a subset are one small matrix product
    ext = np.empty((len(pts), 4))
    ext[:, 0] = 1.0
    ext[:, 1:] = pts
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    keep: np.ndarray | None = None
    plane: Plane | None = None
    for _ in range(iterations + 1):
        p = ext if keep is None else ext[keep]
        if len(p) < 3:
            return plane
        m = (p.T @ p).tolist()
        solved = _solve_plane(m[0][0], m[0][1], m[0][2], m[0][3], m[1][1], m[1][2], m[2][2], m[1][3], m[2][3], ridge)
        if solved is None:
            return plane
        plane = solved
        new_keep = z - (plane[0] * x + plane[1] * y + plane[2]) <= trim
        # the next fit is a function of the kept set alone: an unchanged set gives this plane again
        if (new_keep.all() if keep is None else np.array_equal(new_keep, keep)):
            return plane
        keep = new_keep
    return plane


def _solve_plane(s1: float, sx: float, sy: float, sz: float, sxx: float, sxy: float, syy: float, sxz: float,
                 syz: float, ridge: float) -> Plane | None:
    """`_solve_planes` for one plane, in plain floats (None where it reports not ok)."""
    if not s1 > 0:
        return None
    mx, my, mz = sx / s1, sy / s1, sz / s1
    cxx = sxx - sx * mx + ridge * s1
    cyy = syy - sy * my + ridge * s1
    cxy = sxy - sx * my
    cxz = sxz - sx * mz
    cyz = syz - sy * mz
    det = cxx * cyy - cxy * cxy
    if not det > 1e-12:
        return None
    a = (cxz * cyy - cyz * cxy) / det
    b = (cyz * cxx - cxz * cxy) / det
    return a, b, mz - a * mx - b * my


def plane_tilt(plane: Plane, up: np.ndarray) -> float:
    """Angle (rad) between the plane's normal and the unit vector `up` (both in the same frame)."""
    a, b, _ = plane
    normal = np.array([-a, -b, 1.0]) / math.sqrt(1.0 + a * a + b * b)
    up = np.asarray(up, dtype=float) / float(np.linalg.norm(up))
    return math.acos(max(-1.0, min(1.0, float(normal @ up))))


def _box_sums(px: np.ndarray, py: np.ndarray, values: np.ndarray, qx: np.ndarray, qy: np.ndarray,
              shape: tuple[int, int], k: int) -> np.ndarray:
    """Window sums of cell values, for all moments at once.

    `values` (m, P) are placed at grid cells (px, py) of a grid of `shape`; returns (m, Q): for
    each query cell (qx, qy), the sum over the (2k+1) x (2k+1) cells around it (outside = 0).
    """
    nx, ny = shape
    integral = np.zeros((values.shape[0], nx + 2 * k + 2, ny + 2 * k + 2))
    integral[:, px + k + 1, py + k + 1] = values
    integral.cumsum(axis=1, out=integral)
    integral.cumsum(axis=2, out=integral)
    w = 2 * k + 1
    x_hi, y_hi = qx + w, qy + w
    return integral[:, x_hi, y_hi] - integral[:, qx, y_hi] - integral[:, x_hi, qy] + integral[:, qx, qy]


_MAX_DENSE_CELLS = 600  # above this many cells the window sums use integral images (memory ~ cells^2)


def _window_matrix(cx: np.ndarray, cy: np.ndarray, k: int) -> np.ndarray:
    """(C, C) 0/1 matrix: entry (i, j) is 1 when cell j lies in the (2k+1) x (2k+1) window of cell i."""
    # |i - j| <= k as one unsigned comparison of i - j + k <= 2k, on int32 for speed
    ix, iy = cx.astype(np.int32), cy.astype(np.int32)
    near = (ix[:, None] - (ix - k)[None, :]).view(np.uint32) <= 2 * k
    near &= (iy[:, None] - (iy - k)[None, :]).view(np.uint32) <= 2 * k
    return near.astype(float)


def heights_above_ground(points: np.ndarray, params: GroundParams = GroundParams()) -> np.ndarray:
    """Height (m, along the local ground normal) of each row of a finite (N, 3) cloud.

    NaN where no ground could be estimated (too few samples anywhere). Input rows must be
    finite: call `finite_points` first.
    """
    pts = np.asarray(points, dtype=float)
    n_pts = len(pts)
    if n_pts < 3:
        return np.full(n_pts, np.nan)
    ix = np.floor(pts[:, 0] / params.cell).astype(np.int64)
    iy = np.floor(pts[:, 1] / params.cell).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    flat = ix * ny + iy
    order = np.lexsort((pts[:, 2], flat))
    sorted_flat = flat[order]  # already sorted: the runs of equal cells are found without sorting again
    first = np.empty(n_pts, dtype=bool)
    first[0] = True
    np.not_equal(sorted_flat[1:], sorted_flat[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    cells = sorted_flat[starts]
    counts = np.diff(np.append(starts, n_pts))
    sample = pts[order[starts + np.floor(params.percentile * (counts - 1)).astype(np.int64)]]
    cx, cy = cells // ny, cells % ny
    x, y, z = sample[:, 0], sample[:, 1], sample[:, 2]
    n_cells = len(cells)
    k = params.window
    dense = n_cells <= _MAX_DENSE_CELLS
    if dense:
        # window sums as one product with the cells' window matrix, built once per cloud
        window = _window_matrix(cx, cy, k)
        moments = np.stack([np.ones_like(x), x, y, z, x * x, x * y, y * y, x * z, y * z], axis=1)
    else:
        moments = np.stack([np.ones_like(x), x, y, z, x * x, x * y, y * y, x * z, y * z])
    keep = np.ones(n_cells, dtype=bool)
    global_plane = fit_plane_finite(sample, params.trim, params.iterations, params.ridge)
    a = b = c = None
    ok: np.ndarray | None = None
    for it in range(params.iterations + 1):
        if dense:
            sums = (moments * keep[:, None]).T @ window if it else moments.T @ window
        else:
            sums = _box_sums(cx[keep], cy[keep], moments[:, keep], cx, cy, (nx, ny), k)
        a, b, c, ok = _solve_planes(*sums, ridge=params.ridge)
        ok &= sums[0] >= params.min_cells
        if global_plane is not None:  # every cell has a plane: its window's, or the global one
            ga, gb, gc = global_plane
            a, b, c = np.where(ok, a, ga), np.where(ok, b, gb), np.where(ok, c, gc)
            ok = None
        if it == params.iterations:
            break
        new_keep = z - (a * x + b * y + c) <= params.trim
        if ok is not None:
            new_keep |= ~ok
        # the planes are a function of the kept samples alone: an unchanged set gives the same planes again
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    # map every point to its cell's plane (its run number in the sorted order)
    cell_of_point = np.empty(n_pts, dtype=np.int64)
    cell_of_point[order] = np.cumsum(first) - 1
    pa, pb, pc = a[cell_of_point], b[cell_of_point], c[cell_of_point]
    h = (pts[:, 2] - (pa * pts[:, 0] + pb * pts[:, 1] + pc)) / np.sqrt(1.0 + pa * pa + pb * pb)
    if ok is None:
        return h
    return np.where(ok[cell_of_point], h, np.nan)  # no plane anywhere: no height
