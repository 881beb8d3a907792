"""Write every output of one world from one height grid: Gazebo SDF + mesh, embedded terrain, metadata.

Layout under the output folder (the package's `worlds/` by default):
    <name>.sdf                  Gazebo Harmonic world
    meshes/<name>_terrain.obj   terrain mesh (collision and visual), referenced relatively by the SDF
    terrain/<name>.npz          heights for the embedded simulator (see store.py)
    terrain/<name>.json         metadata: cell size, extents, height range, spawn, rocks, corridor...
Everything is computed in memory first, then each file is written atomically (temp + rename), so
an invalid world or a failure writes nothing half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import time

from .atomic import write_bytes
from .config import WorldConfig
from .gazebo import SURFACE_MODEL, sdf_text
from .mesh import decimate, obj_text
from .store import heights_npz_bytes, terrain_metadata
from .terrain import Terrain, build_terrain

DEFAULT_MESH_TOLERANCE_M = 0.015


@dataclass(frozen=True)
class WorldOutputs:
    """What build_world_outputs wrote, with the figures worth printing."""

    terrain: Terrain
    sdf: Path
    mesh: Path
    heights: Path
    metadata: Path
    triangles: int
    mesh_error_m: float
    generate_s: float
    total_s: float

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.sdf, self.mesh, self.heights, self.metadata)


def output_paths(name: str, out_dir: Path) -> dict[str, Path]:
    """Where the outputs of world `name` go under out_dir."""
    return {
        'sdf': out_dir / f'{name}.sdf',
        'mesh': out_dir / 'meshes' / f'{name}_terrain.obj',
        'heights': out_dir / 'terrain' / f'{name}.npz',
        'metadata': out_dir / 'terrain' / f'{name}.json',
    }


def build_world_outputs(world: WorldConfig, out_dir: Path | str,
                        mesh_tolerance_m: float = DEFAULT_MESH_TOLERANCE_M) -> WorldOutputs:
    """Generate the terrain of `world` and write its four output files under out_dir."""
    out = Path(out_dir)
    start = time.perf_counter()
    terrain = build_terrain(world)
    generate_s = time.perf_counter() - start
    mesh = decimate(terrain.heights, terrain.origin_xy, terrain.resolution, mesh_tolerance_m)
    paths = output_paths(world.name, out)
    mesh_rel = paths['mesh'].relative_to(out).as_posix()
    extra = {
        'source': world.source.name if world.source else None,
        'heights_file': paths['heights'].name,
        'gazebo_world': paths['sdf'].name,
        'gazebo_mesh': mesh_rel,
        'mesh_triangles': int(len(mesh.faces)),
        'mesh_max_error_m': round(mesh.max_error_m, 5),
        'surface_model': SURFACE_MODEL,
    }
    # everything rendered in memory before the first write
    texts = {
        'sdf': sdf_text(terrain, mesh_rel).encode(),
        'mesh': obj_text(mesh, f'{world.name}_terrain').encode(),
        'heights': heights_npz_bytes(terrain.heights),
        'metadata': (json.dumps(terrain_metadata(terrain, extra), indent=1, sort_keys=True) + '\n').encode(),
    }
    for key in ('heights', 'metadata', 'mesh', 'sdf'):  # the SDF last: it references the mesh
        write_bytes(paths[key], texts[key])
    return WorldOutputs(terrain=terrain, sdf=paths['sdf'], mesh=paths['mesh'], heights=paths['heights'],
                        metadata=paths['metadata'], triangles=int(len(mesh.faces)), mesh_error_m=mesh.max_error_m,
                        generate_s=generate_s, total_s=time.perf_counter() - start)


__all__ = ['DEFAULT_MESH_TOLERANCE_M', 'WorldOutputs', 'build_world_outputs', 'output_paths']
