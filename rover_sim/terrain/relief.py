"""Procedural lunar relief on a height grid: fractal roughness, craters, rocks, ramps (pure numpy).

Each function either samples features from an explicit `numpy.random.Generator` (so the caller
controls reproducibility) or stamps one feature into a height array in place, touching only the
window of nodes the feature covers (vectorised per feature; a 40 m map at 5 cm has 641k nodes).
"""

from __future__ import annotations

import math

import numpy as np

from .config import CraterField, RockField
from .grid import Grid

CRATER_EJECTA_RADII = 2.0  # the raised rim / ejecta blanket fades to zero at this many radii
ROCK_SHAPE_POWER = 3.0  # superellipsoid exponent of a rock's profile: 2 = half ellipsoid, larger = blockier


def fractal_field(grid: Grid, roughness_m: float, corner_m: float, hurst: float,
                  rng: np.random.Generator, min_wavelength_m: float = 0.0) -> np.ndarray:
    """Fractal (fBm-like) heights of standard deviation roughness_m, shape (ny, nx), zero mean.

    Spectral synthesis: white noise filtered by amplitude (f^2 + f_c^2)^(-(hurst + 1) / 2), f_c =
    1 / corner_m, so the spectrum is a power law at wavelengths below corner_m (self-affine with
    Hurst exponent `hurst`) and flat above it (no map-wide tilt), times exp(-(f min_wavelength_m)^2)
    so wavelengths below min_wavelength_m fade out. The field is periodic.
    """
    if roughness_m <= 0.0:
        return np.zeros(grid.shape)
    noise = rng.standard_normal(grid.shape)
    fy = np.fft.fftfreq(grid.ny, d=grid.resolution)[:, None]
    fx = np.fft.rfftfreq(grid.nx, d=grid.resolution)[None, :]
    fc = 1.0 / corner_m
    f2 = fx * fx + fy * fy
    amplitude = (f2 + fc * fc) ** (-(hurst + 1.0) / 2.0) * np.exp(-f2 * min_wavelength_m ** 2)
    field = np.fft.irfft2(np.fft.rfft2(noise) * amplitude, s=grid.shape)
    field -= field.mean()
    std = field.std()
    return field * (roughness_m / std) if std > 0 else field


def sample_crater_diameters(cfg: CraterField, area_m2: float, rng: np.random.Generator) -> np.ndarray:
    """Crater diameters (m) for `area_m2`: Poisson count, truncated power law N(>D) ~ D^-exponent.

    Inverse CDF of the Pareto law truncated to [D_min, D_max]:
    D = D_min * (1 - u (1 - (D_min / D_max)^b))^(-1 / b), u uniform in [0, 1).
    """
    count = rng.poisson(cfg.per_100m2 * area_m2 / 100.0)
    u = rng.random(count)
    b = cfg.exponent
    tail = (cfg.min_diameter_m / cfg.max_diameter_m) ** b
    return cfg.min_diameter_m * (1.0 - u * (1.0 - tail)) ** (-1.0 / b)


def crater_profile(r_norm: np.ndarray, depth_ratio: float, rim_ratio: float, diameter: float) -> np.ndarray:
    """Height change (m) of a fresh crater at distance r_norm = r / R from its centre.

    Inside (r < R): a parabolic bowl, floor depth_ratio * D below the rim crest, rim crest
    rim_ratio * D above the old surface. Outside: the raised rim / ejecta falling as r^-3,
    shifted so it reaches exactly zero at CRATER_EJECTA_RADII radii (continuous everywhere).
    """
    rim = rim_ratio * diameter
    depth = depth_ratio * diameter
    inner = rim - depth * (1.0 - r_norm * r_norm)
    tail = CRATER_EJECTA_RADII ** -3
    with np.errstate(divide='ignore'):
        outer = rim * (np.maximum(r_norm, 1.0) ** -3 - tail) / (1.0 - tail)
    out = np.where(r_norm < 1.0, inner, outer)
    return np.where(r_norm < CRATER_EJECTA_RADII, out, 0.0)


def stamp_crater(heights: np.ndarray, grid: Grid, x: float, y: float, diameter: float,
                 depth_ratio: float, rim_ratio: float) -> None:
    """Add one crater centred at (x, y) to `heights` in place (craters superpose)."""
    radius = diameter / 2.0
    rows, cols, dx, dy = grid.window(x, y, radius * CRATER_EJECTA_RADII)
    r_norm = np.sqrt(dx * dx + dy * dy) / radius
    heights[rows, cols] += crater_profile(r_norm, depth_ratio, rim_ratio, diameter)


def golombek_cumulative_area(k: float, diameter: np.ndarray | float) -> np.ndarray:
    """F(D) = k exp(-q D): fraction of the area covered by rocks of diameter >= D (q = 1.79 + 0.152/k)."""
    q = 1.79 + 0.152 / k
    return k * np.exp(-q * np.asarray(diameter, dtype=float))


def _rock_number_cdf(cfg: RockField, samples: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Diameters and the cumulative number of rocks per m^2 between D_min and each diameter.

    Rocks of diameter D cover pi D^2 / 4 each, so the number density is
    n(D) = -dF/dD / (pi D^2 / 4) = 4 k q exp(-q D) / (pi D^2); integrated by the trapezoid rule.
    """
    d = np.linspace(cfg.min_diameter_m, cfg.max_diameter_m, samples)
    density = 4.0 * cfg.k * cfg.q * np.exp(-cfg.q * d) / (math.pi * d * d)
    cumulative = np.concatenate(([0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(d))))
    return d, cumulative


def expected_rock_count(cfg: RockField, area_m2: float) -> float:
    """Expected number of rocks with D_min <= D <= D_max on area_m2 under Golombek's model."""
    if cfg.max_diameter_m <= cfg.min_diameter_m:
        return 0.0
    return float(_rock_number_cdf(cfg)[1][-1] * area_m2)


def sample_rock_diameters(cfg: RockField, area_m2: float, rng: np.random.Generator) -> np.ndarray:
    """Rock diameters (m) for area_m2 after Golombek (Poisson count, inverse-CDF sizes)."""
    if cfg.max_diameter_m <= cfg.min_diameter_m:
        return np.zeros(0)
    d, cumulative = _rock_number_cdf(cfg)
    count = rng.poisson(cumulative[-1] * area_m2)
    return np.interp(rng.random(count) * cumulative[-1], cumulative, d)


def rock_profile(r_norm: np.ndarray, height: float) -> np.ndarray:
    """Rounded rock height (m) at r_norm = r / R: superellipsoid H (1 - r^p)^(1/p), zero outside."""
    inside = np.clip(1.0 - r_norm ** ROCK_SHAPE_POWER, 0.0, None)
    return height * inside ** (1.0 / ROCK_SHAPE_POWER)


def stamp_rock(heights: np.ndarray, grid: Grid, x: float, y: float, diameter: float, height: float,
               exposed: np.ndarray | None = None, min_exposed: float = 0.0) -> float:
    """Place a rounded rock on the terrain in place; returns the local ground height (m) it stands on.

    The local ground is the terrain height at the rock centre before the rock; the rock's top
    is `height` above it and the terrain becomes max(terrain, ground + profile), so a rock on a
    slope is half buried on the uphill side, as real rocks are. `exposed` (a bool grid, edited in
    place) is set where the rock stands at least `min_exposed` (m) out of the terrain before it.
    """
    ground = float(grid.bilinear(heights, x, y))
    rows, cols, dx, dy = grid.window(x, y, diameter / 2.0)
    r_norm = np.sqrt(dx * dx + dy * dy) / (diameter / 2.0)
    block = heights[rows, cols]
    surface = np.where(r_norm < 1.0, ground + rock_profile(r_norm, height), -np.inf)
    if exposed is not None:
        exposed[rows, cols] |= surface - block >= max(min_exposed, 1e-9)
    np.maximum(block, surface, out=block)
    return ground


def ramp_surface(along: np.ndarray, foot_z: float, slope_deg: float, length_m: float) -> np.ndarray:
    """Ramp surface height (m) at distance `along` from the foot: rising slope, then a flat plateau."""
    return foot_z + np.clip(along, 0.0, length_m) * math.tan(math.radians(slope_deg))


def rectangle_mask(grid: Grid, x0: float, y0: float, heading_deg: float, along_lo: float, along_hi: float,
                   half_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes inside an oriented rectangle, and their along-heading coordinate (m).

    The rectangle spans along in [along_lo, along_hi] from (x0, y0) along heading_deg and
    |across| <= half_width. Returns (mask, along), both shaped like the grid.
    """
    along, across = grid.local_frame(x0, y0, heading_deg)
    eps = 1e-9
    mask = (along >= along_lo - eps) & (along <= along_hi + eps) & (np.abs(across) <= half_width + eps)
    return mask, along
