"""Benchmarks of the terrain generator (wired into `rover bench` / `make bench`; never a timed test).

The issue's target: a 40 m x 40 m world at 0.05 m cells (801 x 801 nodes) with roughness,
craters and rocks generates in under 3 s. Baseline, same run: drawing a plain numpy random
field of the same size, so the ratio says how many "random fields" one world costs.
"""

from __future__ import annotations

import numpy as np

from rover_nav.runtime.benchmarking import BenchResult, best_time

from .build import DEFAULT_MESH_TOLERANCE_M
from .config import CraterField, LanderSpec, RockField, SpawnSpec, TerrainRelief, WorldConfig
from .mesh import decimate
from .terrain import build_terrain

TARGET_S = 3.0


def bench_world(size_m: float = 40.0, resolution_m: float = 0.05, seed: int = 7) -> WorldConfig:
    """A change4-like world: rough, cratered, rocky, with a lander, egress ramp and corridor."""
    return WorldConfig(
        name='bench', size_m=(size_m, size_m), resolution_m=resolution_m,
        terrain=TerrainRelief(seed=seed, roughness_m=0.03, corner_m=4.0, min_wavelength_m=0.4,
                              craters=CraterField(per_100m2=3.0, min_diameter_m=0.5, max_diameter_m=10.0),
                              rocks=RockField(k=0.03, min_diameter_m=0.12, max_diameter_m=1.5)),
        lander=LanderSpec(x=-size_m / 3, y=0.0), spawn=SpawnSpec(-size_m / 3, 0.0, 0.0))


def run_benchmarks() -> list[BenchResult]:
    """Terrain generation and mesh decimation of a 40 m x 40 m, 0.05 m world, against a random field."""
    world = bench_world()
    shape = world.shape
    rng = np.random.default_rng(0)
    baseline = best_time(lambda: rng.standard_normal(shape), repeat=5)
    generate = best_time(lambda: build_terrain(world), repeat=3)
    terrain = build_terrain(world)
    mesh_time = best_time(lambda: decimate(terrain.heights, terrain.origin_xy, terrain.resolution,
                                           DEFAULT_MESH_TOLERANCE_M, verify=False), repeat=3)
    verdict = 'meets' if generate < TARGET_S else 'MISSES'
    return [
        BenchResult(name='terrain.generate_40m_0.05m', value=generate, baseline=baseline, unit='s',
                    baseline_name=f'numpy standard_normal field {shape[1]}x{shape[0]}',
                    note=f'{len(terrain.craters)} craters, {len(terrain.rocks)} rocks; {verdict} the < {TARGET_S:g} s '
                         'target'),
        BenchResult(name='terrain.mesh_decimate_40m_0.05m', value=mesh_time, baseline=baseline, unit='s',
                    baseline_name=f'numpy standard_normal field {shape[1]}x{shape[0]}',
                    note=f'quadtree mesh at {DEFAULT_MESH_TOLERANCE_M:g} m tolerance for Gazebo'),
    ]
