"""World definition files (ROVER_SPEC section 5): load, validate, and hold them as frozen dataclasses.

A world YAML says how big the map is, how fine the height grid is, which procedural relief to
generate from which seed, and which explicit rocks, ramps and (optionally) lander to place.
Every value is checked here, once: a bad file raises `WorldConfigError` (a `ConfigError`, so a
`ValueError`) whose message names the key path (`terrain.craters.min_diameter_m`) and the allowed
range, so nothing downstream ever sees a half-valid world.

Conventions: world frame ENU, x east/forward, y north/left, z up, metres; the map is centred on
the origin; headings and yaws are degrees counter-clockwise from +x.

Additions to the spec's format (all optional, documented in the README):
- `terrain.corner_m`, `terrain.hurst`, `terrain.min_wavelength_m`: shape of the fractal roughness spectrum;
- `terrain.craters.exponent` (b in N(>D) ~ D^-b), `depth_ratio`, `rim_ratio`;
- `ramps[i].plateau_m`: length of the flat top behind the slope;
- `lander`: a deck (the rover's spawn platform) with an egress ramp and a clear corridor;
- `clear_radius_m`: procedural craters and rocks keep this far from the spawn point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import math
from pathlib import Path
from typing import Any

import yaml

from rover_nav.runtime.bounded_yaml import YamlLimitError, load_bounded, short_repr
from rover_nav.runtime.params import ConfigError

MAX_CELLS = 2_001 * 2_001  # beyond this a world no longer fits a fast embedded sim (1 km at 0.5 m)
#: Expected craters (terrain.craters.per_100m2 x area) and rocks (terrain.rocks by Golombek's model,
#: plus the explicit rocks list) a world may ask for: each is stamped into the grid one by one.
MAX_CRATERS = 20_000
MAX_ROCKS = 20_000


class WorldConfigError(ConfigError):
    """A world file the generator cannot use; the message names the key and the allowed range."""


@dataclass(frozen=True)
class CraterField:
    """Craters with a power-law size-frequency distribution N(>D) = n0 (D / D_min)^-exponent.

    per_100m2: craters with D >= min_diameter_m per 100 m^2 (before keep-out rejection).
    depth_ratio: rim crest to floor depth / D (fresh lunar craters ~0.2).
    rim_ratio: rim height above the surrounding surface / D (~0.04).
    """

    per_100m2: float
    min_diameter_m: float
    max_diameter_m: float
    exponent: float = 2.4
    depth_ratio: float = 0.2
    rim_ratio: float = 0.04


@dataclass(frozen=True)
class RockField:
    """Rocks after Golombek: cumulative fractional area F(D) = k exp(-q D), q = 1.79 + 0.152 / k.

    height_ratio: rock height above the ground / diameter.
    """

    k: float
    min_diameter_m: float
    max_diameter_m: float
    height_ratio: float = 0.5

    @property
    def q(self) -> float:
        """Golombek's decay constant (1/m)."""
        return 1.79 + 0.152 / self.k


@dataclass(frozen=True)
class TerrainRelief:
    """Procedural relief, reproducible from `seed`.

    roughness_m: standard deviation of the fractal height field (m).
    corner_m: wavelength above which the roughness spectrum is flat, so the map has bumps up to
    about this size instead of one map-wide tilt. hurst: spectral slope (0.5 rough .. 1 smooth).
    min_wavelength_m: shorter wavelengths are smoothed away (Gaussian roll-off): bumps much smaller
    than a wheel only cost mesh triangles, the wheel bridges them.
    """

    seed: int = 0
    roughness_m: float = 0.0
    corner_m: float = 5.0
    hurst: float = 0.8
    min_wavelength_m: float = 0.25
    craters: CraterField | None = None
    rocks: RockField | None = None


@dataclass(frozen=True)
class RockSpec:
    """One explicit rock: centre (x, y), diameter and height above the local ground (m)."""

    x: float
    y: float
    diameter_m: float
    height_m: float


@dataclass(frozen=True)
class RampSpec:
    """A ramp: foot centre (x, y) on the ground, rising along heading_deg at slope_deg.

    length_m is the horizontal run of the slope (rise = length_m * tan(slope_deg)); a flat plateau
    of plateau_m follows at the top, then the block ends with a vertical drop. width_m is across.
    """

    x: float
    y: float
    heading_deg: float
    slope_deg: float
    length_m: float
    width_m: float
    plateau_m: float = 2.0

    @property
    def rise_m(self) -> float:
        return self.length_m * math.tan(math.radians(self.slope_deg))


@dataclass(frozen=True)
class LanderSpec:
    """The lander: a flat deck the rover starts on, an egress ramp down to the surface, a clear corridor.

    (x, y): deck centre; heading_deg: the egress direction (deck -> ramp -> corridor).
    The ramp's horizontal run is deck_height_m / tan(ramp_slope_deg). The corridor (no procedural
    craters or rocks) starts at the ramp foot and runs corridor_length_m further along the heading,
    corridor_width_m wide. roughness_scale: the fractal roughness under the lander, ramp and corridor is
    scaled by this (the descent engine's plume swept the regolith smooth), fading back over ~1 m.
    """

    x: float
    y: float
    heading_deg: float = 0.0
    deck_height_m: float = 0.8
    deck_length_m: float = 2.4
    deck_width_m: float = 2.2
    ramp_slope_deg: float = 11.0
    ramp_width_m: float = 1.8
    corridor_width_m: float = 4.0
    corridor_length_m: float = 10.0
    roughness_scale: float = 0.3

    @property
    def ramp_length_m(self) -> float:
        return self.deck_height_m / math.tan(math.radians(self.ramp_slope_deg))


@dataclass(frozen=True)
class SpawnSpec:
    """Where the rover starts: x, y (m, world) and yaw (deg); z comes from the terrain."""

    x: float = 0.0
    y: float = 0.0
    yaw_deg: float = 0.0


@dataclass(frozen=True)
class WorldConfig:
    """A validated world definition. `source` is the file it came from (None when built in code)."""

    name: str
    size_m: tuple[float, float]
    resolution_m: float
    gravity: float = 1.62
    terrain: TerrainRelief = field(default_factory=TerrainRelief)
    rocks: tuple[RockSpec, ...] = ()
    ramps: tuple[RampSpec, ...] = ()
    lander: LanderSpec | None = None
    spawn: SpawnSpec = field(default_factory=SpawnSpec)
    clear_radius_m: float = 2.0
    source: Path | None = None
    soil: str = 'change4'  # a name in the soil catalogue (rover_sim/soils.py); change4 when the file names none

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx): grid nodes, including both map edges."""
        return grid_shape(self.size_m, self.resolution_m)

    def with_seed(self, seed: int) -> WorldConfig:
        """The same world with another terrain seed (`rover run --seed N`)."""
        _check_number('terrain.seed', seed, 0, 2**32 - 1, integer=True, where=self.name)
        return replace(self, terrain=replace(self.terrain, seed=int(seed)))


def grid_shape(size_m: tuple[float, float], resolution_m: float) -> tuple[int, int]:
    """Grid nodes (ny, nx) covering size_m (x, y) at resolution_m, edges included."""
    nx = int(round(size_m[0] / resolution_m)) + 1
    ny = int(round(size_m[1] / resolution_m)) + 1
    return ny, nx


# ----------------------------------------------------------------------------------------------
# validation helpers


def _check_number(key: str, value: Any, lo: float, hi: float, *, integer: bool = False, where: str = '') -> float:
    prefix = f'world {where!r}: ' if where else ''
    kind = 'an integer' if integer else 'a number'
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WorldConfigError(f"{prefix}key '{key}' must be {kind} in [{lo:g}, {hi:g}], got {short_repr(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range
        raise WorldConfigError(f"{prefix}key '{key}' = {short_repr(value)} is out of range [{lo:g}, {hi:g}]") from None
    if integer and not number.is_integer():
        raise WorldConfigError(f"{prefix}key '{key}' must be {kind} in [{lo:g}, {hi:g}], got {short_repr(value)}")
    if not math.isfinite(number) or not lo <= number <= hi:
        raise WorldConfigError(f"{prefix}key '{key}' = {short_repr(value)} is out of range [{lo:g}, {hi:g}]")
    return int(value) if integer else float(value)


# key -> (lo, hi, default or REQUIRED, integer)
REQUIRED = object()
_Field = tuple[float, float, Any, bool]

_CRATER_FIELDS: dict[str, _Field] = {
    'per_100m2': (0.0, 1000.0, REQUIRED, False),
    'min_diameter_m': (0.05, 1000.0, REQUIRED, False),
    'max_diameter_m': (0.05, 1000.0, REQUIRED, False),
    'exponent': (1.5, 3.5, 2.4, False),
    'depth_ratio': (0.01, 0.5, 0.2, False),
    'rim_ratio': (0.0, 0.2, 0.04, False),
}
_ROCKFIELD_FIELDS: dict[str, _Field] = {
    'k': (0.001, 0.5, REQUIRED, False),
    'min_diameter_m': (0.02, 10.0, REQUIRED, False),
    'max_diameter_m': (0.02, 10.0, REQUIRED, False),
    'height_ratio': (0.05, 1.5, 0.5, False),
}
_TERRAIN_FIELDS: dict[str, _Field] = {
    'seed': (0, 2**32 - 1, 0, True),
    'roughness_m': (0.0, 2.0, 0.0, False),
    'corner_m': (0.1, 1000.0, 5.0, False),
    'hurst': (0.1, 1.0, 0.8, False),
    'min_wavelength_m': (0.0, 100.0, 0.25, False),
}
_ROCK_FIELDS: dict[str, _Field] = {
    'x': (-1e4, 1e4, REQUIRED, False),
    'y': (-1e4, 1e4, REQUIRED, False),
    'diameter_m': (0.02, 20.0, REQUIRED, False),
    'height_m': (0.01, 10.0, REQUIRED, False),
}
_RAMP_FIELDS: dict[str, _Field] = {
    'x': (-1e4, 1e4, REQUIRED, False),
    'y': (-1e4, 1e4, REQUIRED, False),
    'heading_deg': (-360.0, 360.0, 0.0, False),
    'slope_deg': (0.5, 60.0, REQUIRED, False),
    'length_m': (0.2, 1000.0, REQUIRED, False),
    'width_m': (0.2, 1000.0, REQUIRED, False),
    'plateau_m': (0.0, 1000.0, 2.0, False),
}
_LANDER_FIELDS: dict[str, _Field] = {
    'x': (-1e4, 1e4, REQUIRED, False),
    'y': (-1e4, 1e4, REQUIRED, False),
    'heading_deg': (-360.0, 360.0, 0.0, False),
    'deck_height_m': (0.1, 5.0, 0.8, False),
    'deck_length_m': (0.5, 20.0, 2.4, False),
    'deck_width_m': (0.5, 20.0, 2.2, False),
    'ramp_slope_deg': (1.0, 12.0, 11.0, False),
    'ramp_width_m': (1.4, 10.0, 1.8, False),
    'corridor_width_m': (0.0, 100.0, 4.0, False),
    'corridor_length_m': (0.0, 1000.0, 10.0, False),
    'roughness_scale': (0.0, 1.0, 0.3, False),
}
_SPAWN_FIELDS: dict[str, _Field] = {
    'x': (-1e4, 1e4, 0.0, False),
    'y': (-1e4, 1e4, 0.0, False),
    'yaw_deg': (-360.0, 360.0, 0.0, False),
}
_TOP_KEYS = ('name', 'size_m', 'resolution_m', 'gravity', 'soil', 'terrain', 'rocks', 'ramps', 'lander', 'spawn',
             'clear_radius_m')


def _mapping(key: str, value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WorldConfigError(f"world {where!r}: key '{key}' must be a mapping, got {type(value).__name__}")
    return value


def _fields(key: str, raw: Any, spec: dict[str, _Field], where: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check one mapping against a field table: unknown keys, missing keys, types and ranges."""
    raw = _mapping(key, raw, where)
    unknown = sorted(str(k) for k in raw if k not in spec and k not in extra)
    if unknown:
        allowed = ', '.join(list(spec) + list(extra))
        raise WorldConfigError(f"world {where!r}: unknown key '{key}.{unknown[0]}' (allowed: {allowed})")
    out: dict[str, Any] = {}
    for name, (lo, hi, default, integer) in spec.items():
        path = f'{key}.{name}'
        if name not in raw or raw[name] is None:
            if default is REQUIRED:
                raise WorldConfigError(f"world {where!r}: key '{path}' is required (range [{lo:g}, {hi:g}])")
            out[name] = default
            continue
        out[name] = _check_number(path, raw[name], lo, hi, integer=integer, where=where)
    return out


def _diameters(key: str, values: dict[str, Any], where: str) -> None:
    if values['max_diameter_m'] < values['min_diameter_m']:
        raise WorldConfigError(
            f"world {where!r}: key '{key}.max_diameter_m' = {values['max_diameter_m']:g} must be >= "
            f"'{key}.min_diameter_m' = {values['min_diameter_m']:g}")


def _list(key: str, raw: Any, spec: dict[str, _Field], cls: type, where: str) -> tuple[Any, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise WorldConfigError(f"world {where!r}: key '{key}' must be a list, got {type(raw).__name__}")
    return tuple(cls(**_fields(f'{key}[{i}]', item, spec, where)) for i, item in enumerate(raw))


def _check_soil(value: Any, where: str) -> str:
    """The world's soil name (`soil:`), one of the catalogue's; absent or null -> the default (change4)."""
    from rover_sim.soils import DEFAULT_SOIL, soil_names

    if value is None:
        return DEFAULT_SOIL
    names = soil_names()
    if not isinstance(value, str) or value not in names:
        raise WorldConfigError(f"world {where!r}: key 'soil' must be one of {', '.join(names)}, got {value!r}")
    return value


def parse_world(data: Any, where: str = '<memory>', source: Path | None = None) -> WorldConfig:
    """Validate a parsed world YAML (a mapping) and return the WorldConfig; raises WorldConfigError."""
    if not isinstance(data, Mapping):
        raise WorldConfigError(f'world {where!r}: the file must hold a mapping with keys {", ".join(_TOP_KEYS)}')
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        raise WorldConfigError(f"world {where!r}: unknown key '{unknown[0]}' (allowed: {', '.join(_TOP_KEYS)})")

    name = data.get('name')
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in '_-' for c in name):
        raise WorldConfigError(f"world {where!r}: key 'name' must be a non-empty string of letters, digits, _ or -, "
                               f'got {short_repr(name)}')
    where = name if where == '<memory>' else where

    size = data.get('size_m')
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise WorldConfigError(f"world {where!r}: key 'size_m' must be a list [x, y] of two numbers in [1, 2000] m, "
                               f'got {short_repr(size)}')
    size_m = (_check_number('size_m[0]', size[0], 1.0, 2000.0, where=where),
              _check_number('size_m[1]', size[1], 1.0, 2000.0, where=where))
    if 'resolution_m' not in data:
        raise WorldConfigError(f"world {where!r}: key 'resolution_m' is required (range [0.005, 5])")
    resolution = _check_number('resolution_m', data['resolution_m'], 0.005, 5.0, where=where)
    ny, nx = grid_shape(size_m, resolution)
    if nx < 3 or ny < 3 or nx * ny > MAX_CELLS:
        raise WorldConfigError(
            f"world {where!r}: key 'resolution_m' = {resolution:g} gives a {nx} x {ny} grid for size_m "
            f'{list(size_m)}; allowed: 3 .. {int(math.sqrt(MAX_CELLS))} nodes a side')
    gravity = _check_number('gravity', data.get('gravity', 1.62), 0.01, 30.0, where=where)
    soil = _check_soil(data.get('soil'), where)

    terrain_raw = data.get('terrain') or {}
    t = _fields('terrain', terrain_raw, _TERRAIN_FIELDS, where, extra=('craters', 'rocks'))
    craters = None
    if _mapping('terrain', terrain_raw, where).get('craters') is not None:
        c = _fields('terrain.craters', terrain_raw['craters'], _CRATER_FIELDS, where)
        _diameters('terrain.craters', c, where)
        craters = CraterField(**c)
    rockfield = None
    if terrain_raw.get('rocks') is not None:
        r = _fields('terrain.rocks', terrain_raw['rocks'], _ROCKFIELD_FIELDS, where)
        _diameters('terrain.rocks', r, where)
        rockfield = RockField(**r)
    relief = TerrainRelief(craters=craters, rocks=rockfield, **t)
    area_m2 = size_m[0] * size_m[1]
    if craters is not None and craters.per_100m2 * area_m2 / 100.0 > MAX_CRATERS:
        raise WorldConfigError(
            f"world {where!r}: key 'terrain.craters.per_100m2' = {craters.per_100m2:g} asks for "
            f'{craters.per_100m2 * area_m2 / 100.0:.0f} craters on {area_m2:g} m2; at most {MAX_CRATERS}')
    raw_rocks = data.get('rocks')
    if isinstance(raw_rocks, list) and len(raw_rocks) > MAX_ROCKS:
        raise WorldConfigError(f"world {where!r}: key 'rocks' lists {len(raw_rocks)} rocks; at most {MAX_ROCKS}")
    if rockfield is not None:
        from rover_sim.terrain.relief import expected_rock_count

        expected = expected_rock_count(rockfield, area_m2)
        if expected > MAX_ROCKS:
            raise WorldConfigError(
                f"world {where!r}: key 'terrain.rocks.k' = {rockfield.k:g} asks for about {expected:.0f} rocks "
                f'on {area_m2:g} m2; at most {MAX_ROCKS} (lower k or raise min_diameter_m)')

    rocks = _list('rocks', raw_rocks, _ROCK_FIELDS, RockSpec, where)
    ramps = _list('ramps', data.get('ramps'), _RAMP_FIELDS, RampSpec, where)
    lander = None
    if data.get('lander') is not None:
        lander = LanderSpec(**_fields('lander', data['lander'], _LANDER_FIELDS, where))
    spawn = SpawnSpec(**_fields('spawn', data.get('spawn') or {}, _SPAWN_FIELDS, where))
    clear_radius = _check_number('clear_radius_m', data.get('clear_radius_m', 2.0), 0.0, 100.0, where=where)

    world = WorldConfig(name=name, size_m=size_m, resolution_m=resolution, gravity=gravity, terrain=relief,
                        rocks=rocks, ramps=ramps, lander=lander, spawn=spawn, clear_radius_m=clear_radius,
                        source=source, soil=soil)
    _check_inside(world, where)
    return world


def _check_inside(world: WorldConfig, where: str) -> None:
    """Everything explicit must lie on the map (with one cell of margin)."""
    hx = world.size_m[0] / 2 - world.resolution_m
    hy = world.size_m[1] / 2 - world.resolution_m

    def inside(key: str, x: float, y: float) -> None:
        if not (-hx <= x <= hx and -hy <= y <= hy):
            raise WorldConfigError(
                f"world {where!r}: key '{key}' puts ({x:.2f}, {y:.2f}) off the map; allowed x in "
                f'[{-hx:g}, {hx:g}], y in [{-hy:g}, {hy:g}] (size_m {list(world.size_m)})')

    inside('spawn', world.spawn.x, world.spawn.y)
    for i, rock in enumerate(world.rocks):
        inside(f'rocks[{i}]', rock.x, rock.y)
    for i, ramp in enumerate(world.ramps):
        h = math.radians(ramp.heading_deg)
        c, s = math.cos(h), math.sin(h)
        run = ramp.length_m + ramp.plateau_m
        for along, across in ((0, -1), (0, 1), (run, -1), (run, 1)):
            inside(f'ramps[{i}]', ramp.x + along * c - across * ramp.width_m / 2 * s,
                   ramp.y + along * s + across * ramp.width_m / 2 * c)
    if world.lander is not None:
        lan = world.lander
        h = math.radians(lan.heading_deg)
        c, s = math.cos(h), math.sin(h)
        back = -lan.deck_length_m / 2
        front = lan.deck_length_m / 2 + lan.ramp_length_m
        half = max(lan.deck_width_m, lan.ramp_width_m) / 2
        for along, across in ((back, -half), (back, half), (front, -half), (front, half)):
            inside('lander', lan.x + along * c - across * s, lan.y + along * s + across * c)


def resolve_world_path(name_or_path: str | Path) -> Path:
    """A world name (`change4`) resolves to `worlds/<name>.yaml`; anything with a suffix or a slash is a path."""
    text = str(name_or_path)
    if text.endswith(('.yaml', '.yml')) or '/' in text or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise FileNotFoundError(f'world file {text!r} not found')
        return path
    from rover_description.paths import named_file
    return named_file('worlds', text, 'world')


def load_world(name_or_path: str | Path) -> WorldConfig:
    """Load and validate a world by name or path; raises WorldConfigError naming the bad key."""
    path = resolve_world_path(name_or_path)
    try:
        data = load_bounded(path.read_bytes())
    except YamlLimitError as exc:
        raise WorldConfigError(f'world {str(path)!r}: {exc}') from exc
    except yaml.YAMLError as exc:
        raise WorldConfigError(f'world {str(path)!r}: not valid YAML: {exc}') from exc
    return parse_world(data, where=str(path), source=path)
