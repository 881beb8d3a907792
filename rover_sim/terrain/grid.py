"""The regular height grid every terrain uses: node (i, j) sits at (x0 + j * res, y0 + i * res).

Rows are y (north), columns are x (east): `heights[i, j]` is the ground height (m, world z up) at
`x = origin_x + j * resolution`, `y = origin_y + i * resolution`. Both map edges are nodes, so an
`sx` x `sy` m map at `res` has `(sy / res + 1, sx / res + 1)` nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np


@dataclass(frozen=True)
class Grid:
    """Placement of a (ny, nx) node grid in the world frame."""

    origin_x: float
    origin_y: float
    resolution: float
    nx: int
    ny: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.ny, self.nx

    @property
    def x(self) -> np.ndarray:
        """Node x coordinates (m), shape (nx,)."""
        return self.origin_x + self.resolution * np.arange(self.nx)

    @property
    def y(self) -> np.ndarray:
        """Node y coordinates (m), shape (ny,)."""
        return self.origin_y + self.resolution * np.arange(self.ny)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the nodes (m)."""
        return (self.origin_x, self.origin_x + (self.nx - 1) * self.resolution,
                self.origin_y, self.origin_y + (self.ny - 1) * self.resolution)

    def window(self, x: float, y: float, radius: float) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Rows/cols of the nodes within `radius` (m) of (x, y), clipped to the map, with their offsets.

        Returns (rows, cols, dx, dy): slices into the height array and the node offsets from
        (x, y) as broadcastable arrays of shape (1, w) and (h, 1). Empty slices when off the map.
        """
        r = self.resolution
        j0 = max(0, math.floor((x - radius - self.origin_x) / r))
        j1 = min(self.nx, math.ceil((x + radius - self.origin_x) / r) + 1)
        i0 = max(0, math.floor((y - radius - self.origin_y) / r))
        i1 = min(self.ny, math.ceil((y + radius - self.origin_y) / r) + 1)
        j1, i1 = max(j0, j1), max(i0, i1)
        dx = (self.origin_x + r * np.arange(j0, j1) - x)[None, :]
        dy = (self.origin_y + r * np.arange(i0, i1) - y)[:, None]
        return slice(i0, i1), slice(j0, j1), dx, dy

    def bilinear(self, heights: np.ndarray, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Bilinear interpolation of `heights` at world points (any broadcastable shape).

        Points off the map take the nearest edge value (the terrain continues flat outward).
        """
        fx = np.clip((np.asarray(x, dtype=float) - self.origin_x) / self.resolution, 0.0, self.nx - 1)
        fy = np.clip((np.asarray(y, dtype=float) - self.origin_y) / self.resolution, 0.0, self.ny - 1)
        j = np.minimum(np.floor(fx).astype(np.intp), self.nx - 2)
        i = np.minimum(np.floor(fy).astype(np.intp), self.ny - 2)
        u = fx - j
        v = fy - i
        h00 = heights[i, j]
        h01 = heights[i, j + 1]
        h10 = heights[i + 1, j]
        h11 = heights[i + 1, j + 1]
        return (h00 * (1 - u) + h01 * u) * (1 - v) + (h10 * (1 - u) + h11 * u) * v

    def local_frame(self, x0: float, y0: float, heading_deg: float) -> tuple[np.ndarray, np.ndarray]:
        """Every node's (along, across) coordinates (m) in a frame at (x0, y0) rotated by heading_deg.

        along: distance along the heading; across: to the left of it. Shapes (ny, nx).
        """
        h = math.radians(heading_deg)
        c, s = math.cos(h), math.sin(h)
        dx = self.x[None, :] - x0
        dy = self.y[:, None] - y0
        return dx * c + dy * s, -dx * s + dy * c
