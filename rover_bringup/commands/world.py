"""`rover world build|show NAME|FILE`: generate a lunar world's outputs, or inspect one.

build: writes the Gazebo SDF world, the terrain mesh, the embedded terrain (.npz) and its
metadata (.json) for a named world (worlds/<name>.yaml) or a world file, into the package's
worlds folder or --out DIR; `--all` rebuilds the four named worlds.
show: prints the world's figures (grid, height range, slopes, craters, rocks, spawn, corridor)
and writes a shaded-relief + slope-map PNG.
Exit codes: 0 ok, 2 invalid world file (the message names the key), 1 other failures.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

NAMED_WORLDS = ('change4', 'flat', 'rock_test', 'slope_test')
EXIT_CONFIG = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='world_action', metavar='ACTION', required=True)
    build = sub.add_parser('build', help='generate the Gazebo world, mesh, embedded terrain and metadata')
    build.add_argument('world', nargs='?', help='world name (worlds/<name>.yaml) or a world YAML file')
    build.add_argument('--all', action='store_true', help=f'build every named world: {", ".join(NAMED_WORLDS)}')
    build.add_argument('--out', type=Path, default=None, help='output folder (default: the package worlds/ folder)')
    build.add_argument('--seed', type=int, default=None, help='override terrain.seed')
    build.add_argument('--mesh-tolerance', type=float, default=None,
                       help='max height error of the Gazebo mesh before its T-junction snap (m, default 0.015)')
    show = sub.add_parser('show', help="print a world's figures and write a shaded-relief + slope PNG")
    show.add_argument('world', help='world name (worlds/<name>.yaml) or a world YAML file')
    show.add_argument('--png', type=Path, default=None, help='PNG to write (default: world_<name>.png here)')
    show.add_argument('--seed', type=int, default=None, help='override terrain.seed')


def _load(spec: str, seed: int | None):
    from rover_sim.terrain import load_world
    world = load_world(spec)
    return world.with_seed(seed) if seed is not None else world


def _build(args: argparse.Namespace) -> int:
    from rover_description.paths import data_dir
    from rover_sim.terrain.build import DEFAULT_MESH_TOLERANCE_M, build_world_outputs

    if args.all == bool(args.world):
        print('rover world build: give a world name/file or --all (not both)', file=sys.stderr)
        return EXIT_CONFIG
    specs = NAMED_WORLDS if args.all else (args.world,)
    out = args.out if args.out is not None else data_dir('worlds')
    tolerance = DEFAULT_MESH_TOLERANCE_M if args.mesh_tolerance is None else args.mesh_tolerance
    if not 0.0 < tolerance <= 1.0:
        print(f'rover world build: --mesh-tolerance {tolerance} is out of range (0, 1] m', file=sys.stderr)
        return EXIT_CONFIG
    worlds = [_load(spec, args.seed) for spec in specs]  # validate every file before writing anything
    for world in worlds:
        result = build_world_outputs(world, out, tolerance)
        t = result.terrain
        h_min, h_max = t.height_range
        print(f'{world.name}: {t.shape[1]} x {t.shape[0]} nodes at {t.resolution:g} m, heights '
              f'[{h_min:.3f}, {h_max:.3f}] m, {len(t.craters)} craters, {len(t.rocks)} rocks; generated in '
              f'{result.generate_s:.2f} s, mesh {result.triangles} triangles (max error {result.mesh_error_m:.3f} m), '
              f'all outputs in {result.total_s:.2f} s')
        for path in result.files:
            print(f'  wrote {path} ({path.stat().st_size / 1e3:.0f} kB)')
    return 0


def _show(args: argparse.Namespace) -> int:
    import numpy as np

    from rover_sim.terrain import build_terrain
    from rover_sim.terrain.render import render_png

    world = _load(args.world, args.seed)
    t = build_terrain(world)
    slope = t.slope_map()
    h_min, h_max = t.height_range
    x_min, x_max, y_min, y_max = t.extent
    explicit = [r for r in t.rocks if r.explicit]
    tall = sum(r.height_m > 0.2 for r in t.rocks)
    print(f'world {world.name} ({world.source or "in memory"})')
    print(f'  grid {t.shape[1]} x {t.shape[0]} nodes at {t.resolution:g} m: x [{x_min:g}, {x_max:g}] m, '
          f'y [{y_min:g}, {y_max:g}] m; gravity {t.gravity:g} m/s^2; seed {t.seed}')
    print(f'  heights [{h_min:.3f}, {h_max:.3f}] m; slope median {np.median(slope):.1f} deg, 95th percentile '
          f'{np.percentile(slope, 95):.1f} deg, {100 * np.mean(slope > 20):.1f} % of the map above 20 deg')
    print(f'  {len(t.craters)} craters'
          + (f' (D {t.craters[:, 2].min():.2f} .. {t.craters[:, 2].max():.2f} m)' if len(t.craters) else ''))
    print(f'  {len(t.rocks) - len(explicit)} procedural rocks, {len(explicit)} explicit; {tall} taller than 0.2 m')
    for r in explicit:
        print(f'    rock at ({r.x:g}, {r.y:g}): diameter {r.diameter_m:g} m, height {r.height_m:g} m')
    for i, ramp in enumerate(world.ramps):
        print(f'  ramp {i}: foot ({ramp.x:g}, {ramp.y:g}), heading {ramp.heading_deg:g} deg, slope '
              f'{ramp.slope_deg:g} deg, rises {ramp.rise_m:.2f} m over {ramp.length_m:g} m, {ramp.width_m:g} m wide')
    if world.lander is not None:
        lan = world.lander
        print(f'  lander deck at ({lan.x:g}, {lan.y:g}), {lan.deck_height_m:g} m high; egress ramp '
              f'{lan.ramp_slope_deg:g} deg x {lan.ramp_length_m:.2f} m, {lan.ramp_width_m:g} m wide, heading '
              f'{lan.heading_deg:g} deg; clear corridor {lan.corridor_length_m:g} x {lan.corridor_width_m:g} m')
    s = t.spawn
    print(f'  spawn x {s.x:g} y {s.y:g} ground z {s.z:.3f} m, yaw {np.degrees(s.yaw):g} deg')
    png = args.png if args.png is not None else Path(f'world_{world.name}.png')
    render_png(t, png)
    print(f'  wrote {png}')
    return 0


def run(args: argparse.Namespace) -> int:
    from rover_sim.terrain import WorldConfigError

    try:
        return _build(args) if args.world_action == 'build' else _show(args)
    except WorldConfigError as exc:
        print(f'rover world: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    except FileNotFoundError as exc:
        print(f'rover world: {exc}', file=sys.stderr)
        return EXIT_CONFIG
