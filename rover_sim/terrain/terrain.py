"""Turn a validated world into one height grid: the single source of the Gazebo mesh, the MuJoCo field and the metadata.

`build_terrain(world)` is deterministic: the same world and seed give bit-identical heights
(independent random streams per feature kind, from `numpy.random.SeedSequence(seed)`). Order:
fractal roughness -> craters -> procedural rocks -> explicit ramps -> lander -> explicit rocks.
Procedural craters and rocks keep out of the spawn circle, the ramps, the explicit rocks and the
lander's deck, ramp and egress corridor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np

from rover_sim.materials import METAL, REGOLITH, ROCK, ROCK_MIN_EXPOSED_M

from .config import LanderSpec, RampSpec, WorldConfig
from .grid import Grid
from .relief import (
    CRATER_EJECTA_RADII,
    fractal_field,
    ramp_surface,
    rectangle_mask,
    sample_crater_diameters,
    sample_rock_diameters,
    stamp_crater,
    stamp_rock,
)

KEEP_OUT_MARGIN_M = 0.5  # procedural features stay this far from ramps, the lander and explicit rocks
RAMP_APRON_M = 1.0  # in front of a ramp's foot the ground blends to the foot height over this distance
SMOOTHING_FADE_M = 1.0  # the lander's smoothed zone fades back to full roughness over this width


@dataclass(frozen=True)
class Spawn:
    """The rover's start: x, y (m, world), yaw (rad); z = terrain height there (base_link is a wheel radius above)."""

    x: float
    y: float
    z: float
    yaw: float


@dataclass(frozen=True)
class Rock:
    """A rock on the map: centre, diameter, height above `ground` (m); explicit = from the world file."""

    x: float
    y: float
    diameter_m: float
    height_m: float
    ground_m: float
    explicit: bool


@dataclass(frozen=True)
class Rect:
    """An oriented rectangle: from (x, y) along heading_deg over [along_lo, along_hi], |across| <= half_width (m)."""

    x: float
    y: float
    heading_deg: float
    along_lo: float
    along_hi: float
    half_width: float

    def contains(self, px: np.ndarray | float, py: np.ndarray | float) -> np.ndarray:
        """True where world points (px, py) lie inside."""
        h = math.radians(self.heading_deg)
        dx = np.asarray(px, dtype=float) - self.x
        dy = np.asarray(py, dtype=float) - self.y
        along = dx * math.cos(h) + dy * math.sin(h)
        across = -dx * math.sin(h) + dy * math.cos(h)
        return (along >= self.along_lo) & (along <= self.along_hi) & (np.abs(across) <= self.half_width)


@dataclass
class Terrain:
    """A height grid in the world frame plus what was placed on it.

    heights: (ny, nx) float64 metres, quantised to 65536 levels over the height range (see
    `quantize`), so a saved and re-loaded terrain is bit-identical; heights[i, j] is at
    x = origin_xy[0] + j * resolution, y = origin_xy[1] + i * resolution. craters: (n, 3) array of x, y, diameter (m).
    corridors: the egress path the rover drives on (ramp surface, then the clear ground strip).
    """

    name: str
    heights: np.ndarray
    resolution: float
    origin_xy: tuple[float, float]
    gravity: float
    spawn: Spawn
    seed: int = 0
    rocks: tuple[Rock, ...] = ()
    craters: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    corridors: tuple[Rect, ...] = ()
    soil: str = 'change4'  # the world's soil (rover_sim/soils.py)
    # (ny, nx) uint8 material per node (rover_sim.materials: regolith 0, rock 1, metal 2); None = all regolith
    materials: np.ndarray | None = field(default=None, repr=False, compare=False)
    _slope: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def grid(self) -> Grid:
        ny, nx = self.heights.shape
        return Grid(self.origin_xy[0], self.origin_xy[1], self.resolution, nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        return self.heights.shape

    @property
    def size_m(self) -> tuple[float, float]:
        """(x, y) extent of the grid (m)."""
        ny, nx = self.heights.shape
        return ((nx - 1) * self.resolution, (ny - 1) * self.resolution)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) (m, world)."""
        return self.grid.extent

    @property
    def height_range(self) -> tuple[float, float]:
        return float(self.heights.min()), float(self.heights.max())

    def height_at(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Ground height (m) at world points, bilinear; off-map points take the nearest edge value."""
        return self.grid.bilinear(self.heights, x, y)

    def slope_map(self) -> np.ndarray:
        """Slope (deg) at every node from central differences (one-sided at the edges), shape (ny, nx)."""
        if self._slope is None:
            gy, gx = np.gradient(self.heights, self.resolution)
            self._slope = np.degrees(np.arctan(np.hypot(gx, gy)))
        return self._slope

    def slope_deg_at(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Slope (deg) at world points, bilinear in the slope map."""
        return self.grid.bilinear(self.slope_map(), x, y)


HEIGHT_LEVELS = 65535  # heights are stored as uint16 steps between the map's min and max


def quantize(heights: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(q, offset, step): heights ~ offset + q * step with q uint16; step = range / 65535 (26 um for 1.7 m)."""
    offset = float(heights.min())
    step = max(float(heights.max()) - offset, 1e-3) / HEIGHT_LEVELS
    q = np.clip(np.rint((heights - offset) / step), 0, HEIGHT_LEVELS).astype(np.uint16)
    return q, offset, step


def dequantize(q: np.ndarray, offset: float, step: float) -> np.ndarray:
    """Heights (m, float64) from quantize's output; bit-identical wherever it is computed."""
    return offset + q.astype(np.float64) * step


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per feature kind, so adding rocks never moves the craters."""
    children = np.random.SeedSequence(seed).spawn(3)
    names = ('roughness', 'craters', 'rocks')
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def lander_rects(lander: LanderSpec) -> dict[str, Rect]:
    """The lander's parts as rectangles in a frame at the deck centre along the egress heading."""
    deck_half = lander.deck_length_m / 2
    foot = deck_half + lander.ramp_length_m
    return {
        'deck': Rect(lander.x, lander.y, lander.heading_deg, -deck_half, deck_half, lander.deck_width_m / 2),
        'ramp': Rect(lander.x, lander.y, lander.heading_deg, deck_half, foot, lander.ramp_width_m / 2),
        'corridor': Rect(lander.x, lander.y, lander.heading_deg, foot, foot + lander.corridor_length_m,
                         lander.corridor_width_m / 2),
    }


def lander_surfaces(world: WorldConfig) -> tuple[Rect, ...]:
    """The lander's own metal surfaces, deck then egress ramp, as rectangles; () for a world without a lander.

    Read-only view for the simulator: wheels on these are on rigid metal, not on regolith.
    """
    if world.lander is None:
        return ()
    parts = lander_rects(world.lander)
    return parts['deck'], parts['ramp']


def lander_ramp(lander: LanderSpec) -> RampSpec:
    """The egress ramp as a RampSpec: foot on the ground, rising back toward the deck."""
    h = math.radians(lander.heading_deg)
    foot = lander.deck_length_m / 2 + lander.ramp_length_m
    return RampSpec(x=lander.x + foot * math.cos(h), y=lander.y + foot * math.sin(h),
                    heading_deg=lander.heading_deg + 180.0, slope_deg=lander.ramp_slope_deg,
                    length_m=lander.ramp_length_m, width_m=lander.ramp_width_m, plateau_m=0.0)


def _rect_mask(grid: Grid, rect: Rect, margin: float) -> np.ndarray:
    mask, _ = rectangle_mask(grid, rect.x, rect.y, rect.heading_deg, rect.along_lo - margin,
                             rect.along_hi + margin, rect.half_width + margin)
    return mask


def keep_out_mask(world: WorldConfig, grid: Grid) -> np.ndarray:
    """Nodes no procedural crater or rock may touch: spawn circle, ramps, lander, explicit rocks."""
    mask = np.zeros(grid.shape, dtype=bool)
    m = KEEP_OUT_MARGIN_M

    def circle(x: float, y: float, radius: float) -> None:
        rows, cols, dx, dy = grid.window(x, y, radius)
        mask[rows, cols] |= dx * dx + dy * dy <= radius * radius

    if world.clear_radius_m > 0:
        circle(world.spawn.x, world.spawn.y, world.clear_radius_m)
    for rock in world.rocks:
        circle(rock.x, rock.y, rock.diameter_m / 2 + m)
    for ramp in world.ramps:
        mask |= _rect_mask(grid, Rect(ramp.x, ramp.y, ramp.heading_deg, -RAMP_APRON_M,
                                      ramp.length_m + ramp.plateau_m, ramp.width_m / 2), m)
    if world.lander is not None:
        for rect in lander_rects(world.lander).values():
            mask |= _rect_mask(grid, rect, m)
    return mask


def _touches(mask: np.ndarray, grid: Grid, x: float, y: float, radius: float) -> bool:
    rows, cols, dx, dy = grid.window(x, y, radius)
    return bool(np.any(mask[rows, cols] & (dx * dx + dy * dy <= radius * radius)))


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _place_ramp(heights: np.ndarray, grid: Grid, ramp: RampSpec) -> None:
    """Replace the terrain under the ramp's footprint by its surface (a clean plane, then the plateau).

    In front of the foot an apron blends the ground to the foot height (weight 1 at the foot
    line, 0 at RAMP_APRON_M from it), so there is no step where the rover drives onto the ramp.
    """
    foot_z = float(grid.bilinear(heights, ramp.x, ramp.y))
    along, across = grid.local_frame(ramp.x, ramp.y, ramp.heading_deg)
    half = ramp.width_m / 2
    eps = 1e-9
    mask = (along >= -eps) & (along <= ramp.length_m + ramp.plateau_m + eps) & (np.abs(across) <= half + eps)
    front = along < -eps
    dist = np.hypot(np.where(front, along, 0.0), np.maximum(np.abs(across) - half, 0.0))
    weight = np.where(front, 1.0 - _smoothstep(dist / RAMP_APRON_M), 0.0)
    heights += weight * (foot_z - heights)
    heights[mask] = ramp_surface(along[mask], foot_z, ramp.slope_deg, ramp.length_m)


def _box_blur(field: np.ndarray, cells: int) -> np.ndarray:
    """Separable moving average over (2 cells + 1)^2 nodes, edges padded with the edge value."""
    out = field.astype(float)
    for axis in (0, 1):
        padded = np.pad(out, [(cells + 1, cells) if a == axis else (0, 0) for a in (0, 1)], mode='edge')
        c = np.cumsum(padded, axis=axis)
        hi = np.take(c, np.arange(2 * cells + 1, c.shape[axis]), axis=axis)
        lo = np.take(c, np.arange(0, c.shape[axis] - 2 * cells - 1), axis=axis)
        out = (hi - lo) / (2 * cells + 1)
    return out


def lander_smoothing(world: WorldConfig, grid: Grid) -> np.ndarray:
    """Factor (ny, nx) on the fractal roughness: lander.roughness_scale on the lander zone, 1 away from it."""
    if world.lander is None or world.lander.roughness_scale >= 1.0:
        return np.ones(grid.shape)
    zone = np.zeros(grid.shape, dtype=bool)
    for rect in lander_rects(world.lander).values():
        zone |= _rect_mask(grid, rect, KEEP_OUT_MARGIN_M)
    blurred = _box_blur(zone.astype(float), max(1, round(SMOOTHING_FADE_M / 2 / grid.resolution)))
    return 1.0 - (1.0 - world.lander.roughness_scale) * np.maximum(blurred, zone)


def _place_lander(heights: np.ndarray, grid: Grid, lander: LanderSpec) -> None:
    """The egress ramp from the ground up, then the deck flush with the ramp top."""
    ramp = lander_ramp(lander)
    foot_z = float(grid.bilinear(heights, ramp.x, ramp.y))
    _place_ramp(heights, grid, ramp)
    deck = lander_rects(lander)['deck']
    heights[_rect_mask(grid, deck, 0.0)] = foot_z + ramp.rise_m


def build_terrain(world: WorldConfig) -> Terrain:
    """Generate the height grid of `world` (deterministic in world.terrain.seed)."""
    ny, nx = world.shape
    grid = Grid(-world.size_m[0] / 2, -world.size_m[1] / 2, world.resolution_m, nx, ny)
    relief = world.terrain
    rng = _streams(relief.seed)
    area = world.size_m[0] * world.size_m[1]
    x_lo, x_hi, y_lo, y_hi = grid.extent

    heights = fractal_field(grid, relief.roughness_m, relief.corner_m, relief.hurst, rng['roughness'],
                            relief.min_wavelength_m) * lander_smoothing(world, grid)
    keep_out = keep_out_mask(world, grid)

    craters: list[tuple[float, float, float]] = []
    if relief.craters is not None:
        cfg = relief.craters
        diameters = sample_crater_diameters(cfg, area, rng['craters'])
        xs = rng['craters'].uniform(x_lo, x_hi, diameters.size)
        ys = rng['craters'].uniform(y_lo, y_hi, diameters.size)
        for x, y, d in zip(xs, ys, diameters, strict=True):
            if _touches(keep_out, grid, x, y, d / 2 * CRATER_EJECTA_RADII):
                continue
            stamp_crater(heights, grid, x, y, d, cfg.depth_ratio, cfg.rim_ratio)
            craters.append((float(x), float(y), float(d)))

    rock_cells = np.zeros(grid.shape, dtype=bool)
    rocks: list[Rock] = []
    if relief.rocks is not None:
        cfg_r = relief.rocks
        diameters = sample_rock_diameters(cfg_r, area, rng['rocks'])
        xs = rng['rocks'].uniform(x_lo, x_hi, diameters.size)
        ys = rng['rocks'].uniform(y_lo, y_hi, diameters.size)
        for x, y, d in zip(xs, ys, diameters, strict=True):
            if _touches(keep_out, grid, x, y, d / 2):
                continue
            h = cfg_r.height_ratio * d
            ground = stamp_rock(heights, grid, x, y, d, h, rock_cells, ROCK_MIN_EXPOSED_M)
            rocks.append(Rock(float(x), float(y), float(d), float(h), ground, explicit=False))

    for ramp in world.ramps:
        _place_ramp(heights, grid, ramp)
    corridors: tuple[Rect, ...] = ()
    metal = np.zeros(grid.shape, dtype=bool)
    if world.lander is not None:
        _place_lander(heights, grid, world.lander)
        parts = lander_rects(world.lander)
        corridors = (parts['ramp'], parts['corridor'])
        for rect in lander_surfaces(world):
            metal |= _rect_mask(grid, rect, 0.0)
    for rock in world.rocks:
        ground = stamp_rock(heights, grid, rock.x, rock.y, rock.diameter_m, rock.height_m, rock_cells,
                            ROCK_MIN_EXPOSED_M)
        rocks.append(Rock(rock.x, rock.y, rock.diameter_m, rock.height_m, ground, explicit=True))

    heights = dequantize(*quantize(heights))  # what the saved file holds, so save/load is exact
    spawn_z = float(grid.bilinear(heights, world.spawn.x, world.spawn.y))
    spawn = Spawn(world.spawn.x, world.spawn.y, spawn_z, math.radians(world.spawn.yaw_deg))
    return Terrain(name=world.name, heights=heights, resolution=world.resolution_m,
                   origin_xy=(grid.origin_x, grid.origin_y), gravity=world.gravity, spawn=spawn,
                   seed=relief.seed, rocks=tuple(rocks), craters=np.array(craters).reshape(-1, 3),
                   corridors=corridors, soil=world.soil,
                   materials=np.where(metal, METAL, np.where(rock_cells, ROCK, REGOLITH)).astype(np.uint8))
