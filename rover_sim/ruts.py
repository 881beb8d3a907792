"""Wheel tracks in the regolith: lower the height grid where the wheels have passed. Pure numpy.

Each wheel presses a disc as wide as the wheel to the depth it sinks (Bekker sinkage). The disc is
placed half a wheel width plus one cell *behind* the contact point (along the wheel's motion),
so the cell a wheel stands on never drops under it: ruts are what the wheels leave, and the rolling
resistance of sinking is already in the terramechanics (no double counting as a step to climb).
Depth does not accumulate over passes: a node is lowered to at most ``original - sinkage``, so a
rear wheel running in the front wheel's rut deepens it only if it sinks deeper.

Rigid ground (the lander's metal deck and ramp) is never lowered, and next to it the rut fades in
(`depth_scale`): a wheel rolling off a plate onto soil sinks progressively while its contact patch
moves off the plate's edge, it does not drop its full sinkage within one grid cell. Without the
fade the following wheels fall off a sinkage-deep lip at the end of the ramp.
"""

from __future__ import annotations

import math

import numpy as np

from rover_sim.terrain.grid import Grid


class RutPress:
    """Lowers `heights` (ny, nx; edited in place) below `original`; reports the touched window.

    width: rut width (m, the wheel width); max_depth: cap (m) so a bad sinkage value cannot dig
    a hole (and so the physics heightfield keeps its bottom headroom); depth_scale: optional
    (ny, nx) factor in [0, 1] on the depth per node (0 = rigid ground, never pressed; see
    `fade_near`), None = soil everywhere; behind: distance (m) the disc's centre trails the
    given point along the motion (default half a width plus a cell: the rut left behind a wheel;
    negative: the disc leads it, as the simulator presses it under and just ahead of the contact).
    """

    def __init__(self, grid: Grid, heights: np.ndarray, width: float, max_depth: float,
                 depth_scale: np.ndarray | None = None, behind: float | None = None) -> None:
        if heights.shape != grid.shape:
            raise ValueError(f'RutPress: heights shape {heights.shape} does not match the grid {grid.shape}')
        if depth_scale is not None:
            if depth_scale.shape != grid.shape:
                raise ValueError(f'RutPress: depth_scale shape {depth_scale.shape}, grid shape {grid.shape}')
            if not np.all((depth_scale >= 0.0) & (depth_scale <= 1.0)):
                raise ValueError('RutPress: depth_scale must be in [0, 1]')
        if not (width > 0.0 and math.isfinite(width)):
            raise ValueError(f'RutPress: width must be > 0 m, got {width!r}')
        if not (max_depth >= 0.0 and math.isfinite(max_depth)):
            raise ValueError(f'RutPress: max_depth must be >= 0 m, got {max_depth!r}')
        self.grid = grid
        self.heights = heights
        self.original = heights.copy()
        self.radius = width / 2.0
        # how far behind the given point (along the motion) the disc is centred; negative = ahead
        self.offset = width / 2.0 + grid.resolution if behind is None else float(behind)
        self.max_depth = float(max_depth)
        self.scale = None if depth_scale is None or np.all(depth_scale == 1.0) else depth_scale.astype(float)

    def press(self, x: np.ndarray, y: np.ndarray, vx: np.ndarray, vy: np.ndarray, depth: np.ndarray,
              min_speed: float = 1e-4, behind: float | None = None) -> tuple[slice, slice] | None:
        """Press one rut disc per wheel behind contact points (x, y) moving at (vx, vy) m/s.

        depth: sinkage (m) per wheel. Wheels slower than `min_speed` leave nothing (a standing
        wheel has no 'behind'). `behind` overrides the disc's offset for this call (m, negative = ahead).
        Returns the (rows, cols) window that changed, or None.
        """
        offset = self.offset if behind is None else float(behind)
        x, y, vx, vy, depth = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (x, y, vx, vy, depth))
        rows_lo, rows_hi, cols_lo, cols_hi = self.grid.ny, 0, self.grid.nx, 0
        for xi, yi, vxi, vyi, di in zip(x, y, vx, vy, depth, strict=True):
            speed = math.hypot(vxi, vyi)
            if not (math.isfinite(speed) and math.isfinite(di) and math.isfinite(xi) and math.isfinite(yi)):
                continue
            if speed < min_speed or di <= 0.0:
                continue
            cx = xi - vxi / speed * offset
            cy = yi - vyi / speed * offset
            rows, cols, dx, dy = self.grid.window(cx, cy, self.radius)
            if rows.start >= rows.stop or cols.start >= cols.stop:
                continue
            inside = dx * dx + dy * dy <= self.radius * self.radius
            sink = min(di, self.max_depth)
            if self.scale is not None:
                sink = sink * self.scale[rows, cols]
            target = self.original[rows, cols] - sink
            block = self.heights[rows, cols]
            np.copyto(block, np.minimum(block, target), where=inside)
            rows_lo, rows_hi = min(rows_lo, rows.start), max(rows_hi, rows.stop)
            cols_lo, cols_hi = min(cols_lo, cols.start), max(cols_hi, cols.stop)
        if rows_lo >= rows_hi:
            return None
        return slice(rows_lo, rows_hi), slice(cols_lo, cols_hi)

    def imprint(self, x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray, depth: np.ndarray,
                wheel_radius: float) -> tuple[slice, slice] | None:
        """Carve the hole of a wheel (a sphere of `wheel_radius`, the collider) sunk `depth` (m) into the ground.

        (x, y): the wheel centres, (gx, gy) the original ground's gradient under them. The sphere is placed
        over (x, y) resting on the original ground (locally a plane) and lowered vertically until it is
        `depth` into the ground along the normal (a wheel sinks under its weight, straight down: moved along
        the normal on a slope, the hole crept uphill and the wheel with it); the ground is lowered to the
        sphere's underside (never raised, at most `max_depth` below the original). A hole of the collider's
        own shape lets it sink where a narrower disc would hold it up by its rim.
        Returns the (rows, cols) window that changed, or None.
        """
        x, y, gx, gy, depth = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (x, y, gx, gy, depth))
        big_r = float(wheel_radius)
        rows_lo, rows_hi, cols_lo, cols_hi = self.grid.ny, 0, self.grid.nx, 0
        for xi, yi, gxi, gyi, di in zip(x, y, gx, gy, depth, strict=True):
            if not all(math.isfinite(v) for v in (xi, yi, gxi, gyi, di)) or di <= 0.0:
                continue
            d = min(di, self.max_depth, big_r)
            norm = math.sqrt(1.0 + gxi * gxi + gyi * gyi)
            ground = float(self.grid.bilinear(self.original, xi, yi))
            cx, cy, cz = xi, yi, ground + (big_r - d) * norm  # resting on a plane: R / cos(slope) above it
            rows, cols, dx, dy = self.grid.window(cx, cy, big_r)
            if rows.start >= rows.stop or cols.start >= cols.stop:
                continue
            r2 = dx * dx + dy * dy
            inside = r2 < big_r * big_r
            under = cz - np.sqrt(np.maximum(big_r * big_r - r2, 0.0))
            original = self.original[rows, cols]
            sink = np.clip(original - under, 0.0, self.max_depth)
            if self.scale is not None:
                sink = sink * self.scale[rows, cols]
            block = self.heights[rows, cols]
            np.copyto(block, np.minimum(block, original - sink), where=inside & (sink > 0.0))
            rows_lo, rows_hi = min(rows_lo, rows.start), max(rows_hi, rows.stop)
            cols_lo, cols_hi = min(cols_lo, cols.start), max(cols_hi, cols.stop)
        if rows_lo >= rows_hi:
            return None
        return slice(rows_lo, rows_hi), slice(cols_lo, cols_hi)

    def depth_map(self) -> np.ndarray:
        """How far every node was lowered (m, >= 0)."""
        return self.original - self.heights


def fade_near(distance: np.ndarray, length: float) -> np.ndarray:
    """Rut depth factor from the distance (m) to the nearest rigid ground: 0 on it, rising linearly to 1 at `length`."""
    if not (math.isfinite(length) and length >= 0.0):
        raise ValueError(f'fade_near: length must be >= 0 m, got {length!r}')
    distance = np.asarray(distance, dtype=float)
    if length == 0.0:
        return (distance > 0.0).astype(float)
    return np.clip(distance / length, 0.0, 1.0)
