"""The ground fit as it was before the speed-up (commit 44ff1ab), kept as a test oracle.

`test_ground_equivalence` checks that the faster `rover_nav.safety.ground` (window sums as one
matrix product, early exit once the trimmed set stops changing) gives the same heights, planes
and decisions as this straightforward version. Not used by the nodes.
"""

from __future__ import annotations

import numpy as np

from rover_nav.safety.ground import GroundParams, Plane


def finite_points(points: np.ndarray) -> np.ndarray:
    """The rows of an (N, 3) array whose x, y and z are all finite (no-returns dropped)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f'points must have shape (N, 3), got {pts.shape}')
    return pts[np.all(np.isfinite(pts), axis=1)]


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
    pts = finite_points(points)
    # rows (1, x, y, z): all nine moment sums of a subset are one small matrix product
    ext = np.empty((len(pts), 4))
    ext[:, 0] = 1.0
    ext[:, 1:] = pts
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
        residual = pts[:, 2] - (plane[0] * pts[:, 0] + plane[1] * pts[:, 1] + plane[2])
        keep = residual <= trim
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


def heights_above_ground(points: np.ndarray, params: GroundParams = GroundParams()) -> np.ndarray:
    """Height (m, along the local ground normal) of each row of a finite (N, 3) cloud.

    NaN where no ground could be estimated (too few samples anywhere). Input rows must be
    finite: call `finite_points` first.
    """
    pts = np.asarray(points, dtype=float)
    n_pts = len(pts)
    out = np.full(n_pts, np.nan)
    if n_pts < 3:
        return out
    ij = np.floor(pts[:, :2] / params.cell).astype(np.int64)
    ij -= ij.min(axis=0)
    nx, ny = (int(v) + 1 for v in ij.max(axis=0))
    flat = ij[:, 0] * ny + ij[:, 1]
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
    moments = np.stack([np.ones_like(x), x, y, z, x * x, x * y, y * y, x * z, y * z])
    keep = np.ones(len(cells), dtype=bool)
    global_plane = fit_plane(sample, params.trim, params.iterations, params.ridge)
    a = b = c = ok = None
    for _ in range(params.iterations + 1):
        sums = _box_sums(cx[keep], cy[keep], moments[:, keep], cx, cy, (nx, ny), params.window)
        a, b, c, ok = _solve_planes(*sums, ridge=params.ridge)
        ok &= sums[0] >= params.min_cells
        if global_plane is not None:
            ga, gb, gc = global_plane
            a, b, c = np.where(ok, a, ga), np.where(ok, b, gb), np.where(ok, c, gc)
            ok = np.ones_like(ok)
        keep = ~ok | (z - (a * x + b * y + c) <= params.trim)
    # map every point to its cell's plane (its run number in the sorted order)
    cell_of_point = np.empty(n_pts, dtype=np.int64)
    cell_of_point[order] = np.cumsum(first) - 1
    pa, pb, pc, pok = a[cell_of_point], b[cell_of_point], c[cell_of_point], ok[cell_of_point]
    h = (pts[:, 2] - (pa * pts[:, 0] + pb * pts[:, 1] + pc)) / np.sqrt(1.0 + pa * pa + pb * pb)
    out[pok] = h[pok]
    return out
