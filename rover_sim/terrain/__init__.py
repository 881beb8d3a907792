"""Lunar worlds: world YAML -> one seeded height grid -> Gazebo SDF + mesh, embedded terrain, metadata.

Public API (used by the simulator, the runner and the `rover world` command):
`load_world(name_or_path) -> WorldConfig`, `build_terrain(world) -> Terrain`,
`save_terrain(terrain, path)` / `load_terrain(path)`, `WorldConfigError` (a ConfigError/ValueError).
"""

from .config import (
    CraterField,
    LanderSpec,
    RampSpec,
    RockField,
    RockSpec,
    SpawnSpec,
    TerrainRelief,
    WorldConfig,
    WorldConfigError,
    load_world,
    parse_world,
    resolve_world_path,
)
from .grid import Grid
from .store import load_terrain, save_terrain, terrain_metadata
from .terrain import Rect, Rock, Spawn, Terrain, build_terrain, lander_surfaces

__all__ = [
    'CraterField', 'Grid', 'LanderSpec', 'RampSpec', 'Rect', 'Rock', 'RockField', 'RockSpec', 'Spawn', 'SpawnSpec',
    'Terrain', 'TerrainRelief', 'WorldConfig', 'WorldConfigError', 'build_terrain', 'lander_surfaces', 'load_terrain',
    'load_world', 'parse_world', 'resolve_world_path', 'save_terrain', 'terrain_metadata',
]
