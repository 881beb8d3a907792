"""`rover run`: one simulated drive through the whole chain, written to an output folder.

The default is the Chang'e-4 story: the rover drives down the lander's egress ramp onto the
regolith and away, leaving tracks. World and scenario files are validated before anything
starts; a bad key is named and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import time

EXIT_CONFIG = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--world', default='change4', help='world name (worlds/NAME.yaml) or YAML file')
    parser.add_argument('--scenario', default='egress',
                        help='scenario name (egress, straight, square, climb_and_back) or YAML file')
    parser.add_argument('--duration', type=float, default=None,
                        help='simulated seconds to run (default: the scenario length + 10 s)')
    parser.add_argument('--out', default=None, help='output folder (default: runs/WORLD-SCENARIO-TIME)')
    parser.add_argument('--seed', type=int, default=None,
                        help="seed of the simulator's sensor noise (default 0); the terrain is the world file's")
    parser.add_argument('--terrain-seed', type=int, default=None,
                        help="replace the world's terrain.seed: the same crater and rock statistics, another terrain")
    parser.add_argument('--params', action='append', default=[], metavar='FILE',
                        help='ROS 2 parameters file applied after config/rover.yaml to every node (repeatable); '
                             'a key no node declares, or a bad value, exits 2 naming it')
    parser.add_argument('--realtime', action='store_true',
                        help='free-running simulator at real time instead of lockstep, faster than real time')
    parser.add_argument('--processes', action='store_true',
                        help='run every node in its own process, as a launch file would')
    parser.add_argument('--dds-only', action='store_true',
                        help='one process, but nodes talk over DDS only (no intra-process bus): for comparisons')
    parser.add_argument('--no-operator', action='store_true',
                        help='no scripted operator: drive it yourself on teleop/cmd_vel (give --duration)')
    parser.add_argument('--quiet', action='store_true', help='no progress lines')
    parser.add_argument('--verbose', action='store_true', help="show the nodes' INFO logs (default: warnings)")


def run(args: argparse.Namespace) -> int:
    from rover_bringup import runner
    from rover_nav.runtime.params import ConfigError

    try:
        cfg = runner.prepare(args.world, args.scenario, args.duration, args.out, args.seed, args.realtime,
                             args.processes, args.quiet, operator=not args.no_operator, verbose=args.verbose,
                             intra_process=not args.dds_only, params=args.params,
                             terrain_seed=args.terrain_seed)
    except (ConfigError, FileNotFoundError) as exc:
        print(f'rover run: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    cfg.out.mkdir(parents=True, exist_ok=True)
    domain = private_domain()
    mode = 'separate processes' if cfg.processes else (
        'one process, intra-process bus' if cfg.intra_process else 'one process, DDS only')
    print(f'rover run: world {args.world}, scenario {cfg.scenario.name}, {cfg.duration_s:.0f} s simulated, '
          f'{"real time" if cfg.realtime else "lockstep"}, {mode}, {domain}\noutput: {cfg.out}', flush=True)
    start = time.monotonic()
    code = runner.run_processes(cfg) if cfg.processes else runner.run_in_process(cfg)
    wall = time.monotonic() - start
    if code != 0:
        return code
    finish(cfg.out, wall)
    return code


def private_domain() -> str:
    """Keep the drive's DDS traffic on this machine and away from other drives (see ros_domain).

    ROS_DOMAIN_ID / ROS_AUTOMATIC_DISCOVERY_RANGE set by the user are respected, so a run can be
    watched from another terminal on purpose.
    """
    import os

    from rover_bringup.ros_domain import claim_domain

    if 'ROS_DOMAIN_ID' in os.environ:
        os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
        return f'ROS domain {os.environ["ROS_DOMAIN_ID"]} (from ROS_DOMAIN_ID)'
    return f'private ROS domain {claim_domain()} (localhost only; set ROS_DOMAIN_ID to choose)'


def finish(out: Path, wall_s: float) -> None:
    """Draw the track map and print the summary table and the output folder."""
    from rover_nav.tracklog.report import draw_track_map, summary_table

    summary_path = out / 'summary.json'
    if not summary_path.is_file():
        print(f'rover run: no summary.json in {out}', file=sys.stderr)
        return
    summary = json.loads(summary_path.read_text())
    try:
        draw_track_map(out)
    except Exception as exc:  # a missing map must not hide the drive's results
        print(f'rover run: could not draw track.png: {exc}', file=sys.stderr)
    print(summary_table(summary))
    print(f'wall time {wall_s:.1f} s; files in {out}:')
    for path in sorted(out.iterdir()):
        print(f'  {path.name}{"/" if path.is_dir() else ""}')
