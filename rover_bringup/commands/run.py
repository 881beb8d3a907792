"""`rover run`: one simulated drive through the whole chain, written to an output folder.

The default is the Chang'e-4 story: the rover drives down the lander's egress ramp onto the
regolith and away, leaving tracks. World and scenario files are validated before anything
starts; a bad key is named and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
import sys
import time

EXIT_CONFIG = 2


def duration_arg(text: str) -> float:
    """--duration: positive simulated seconds, or inf (until Ctrl-C / SIGTERM); nan and <= 0 are refused (exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a number of simulated seconds, got {text!r}') from None
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError(f'must be positive simulated seconds (or inf), got {text!r}')
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--world', default='change4', help='world name (worlds/NAME.yaml) or YAML file')
    parser.add_argument('--scenario', default='egress',
                        help='scenario name (egress, straight, square, climb_and_back) or YAML file')
    parser.add_argument('--duration', type=duration_arg, default=None,
                        help='simulated seconds to run (default: the scenario length + 10 s); '
                             'inf runs until Ctrl-C or SIGTERM')
    parser.add_argument('--out', default=None, help='output folder (default: runs/WORLD-SCENARIO-TIME)')
    parser.add_argument('--seed', type=int, default=None,
                        help="seed of the simulator's sensor noise (default 0); the terrain is the world file's")
    parser.add_argument('--terrain-seed', type=int, default=None,
                        help="replace the world's terrain.seed: the same crater and rock statistics, another terrain")
    parser.add_argument('--params', action='append', default=[], metavar='FILE',
                        help='ROS 2 parameters file applied after config/rover.yaml to every node (repeatable); '
                             'a key no node declares, or a bad value, exits 2 naming it')
    parser.add_argument('--realtime', action='store_true',
                        help='free-running simulator at real time (1 simulated second per wall second) '
                             'instead of lockstep (as fast as the chain answers, faster than real time)')
    parser.add_argument('--processes', action='store_true',
                        help='run every node in its own process, as a launch file would')
    parser.add_argument('--dds-only', action='store_true',
                        help='one process, but nodes talk over DDS only (no intra-process bus): for comparisons')
    parser.add_argument('--no-operator', action='store_true',
                        help='no scripted operator: drive it yourself on teleop/cmd_vel (implies --realtime; '
                             'prints how to drive it; give --duration)')
    parser.add_argument('--link', default=None, metavar='PROFILE',
                        help='drive from the ground station through an emulated Earth-Moon link: earth (Queqiao '
                             'relay, ~1.75 s one way), ideal, or a profile YAML (docs/link.md)')
    parser.add_argument('--quiet', action='store_true', help='no progress lines')
    parser.add_argument('--verbose', action='store_true', help="show the nodes' INFO logs (default: warnings)")


def run(args: argparse.Namespace) -> int:
    from rover_bringup import runner
    from rover_nav.runtime.params import ConfigError

    realtime = args.realtime or args.no_operator  # a person drives at real time, not 20x faster
    try:
        cfg = runner.prepare(args.world, args.scenario, args.duration, args.out, args.seed, realtime,
                             args.processes, args.quiet, operator=not args.no_operator, verbose=args.verbose,
                             intra_process=not args.dds_only, params=args.params,
                             terrain_seed=args.terrain_seed)
        link = _link_profile(args)
        runner.claim_output_dir(cfg.out)  # atomic: a second run with the same --out stops here
    except (ConfigError, FileNotFoundError) as exc:
        print(f'rover run: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    domain = private_domain()
    mode = 'separate processes' if cfg.processes else (
        'one process, intra-process bus' if cfg.intra_process else 'one process, DDS only')
    operator = f'scenario {cfg.scenario.name}' if cfg.operator else 'no operator (you drive)'
    length = f'{cfg.duration_s:.0f} s simulated' if math.isfinite(cfg.duration_s) else 'until Ctrl-C or SIGTERM'
    print(f'rover run: world {args.world}, {operator}, {length}, '
          f'{"real time" if cfg.realtime else "lockstep"}, {mode}, {domain}\noutput: {cfg.out}', flush=True)
    if not cfg.operator:
        print(drive_hint(), flush=True)
    start = time.monotonic()
    if link is not None:
        code = _run_linked(cfg, link)
    else:
        code = runner.run_processes(cfg) if cfg.processes else runner.run_in_process(cfg)
    wall = time.monotonic() - start
    if code != 0:
        return code
    finish(cfg.out, wall)
    return runner.recording_verdict(cfg.out)


def _link_profile(args: argparse.Namespace) -> object:
    """The --link profile, validated (None without --link); ConfigError names the bad key."""
    if args.link is None:
        return None
    from rover_nav.link.profile import load_profile
    from rover_nav.runtime.params import ConfigError

    if args.no_operator:
        raise ConfigError('--link needs the scenario operator on the ground side; drop --no-operator')
    return load_profile(args.link)


def _run_linked(cfg: object, link: object) -> int:
    from rover_bringup.linked_run import run_linked_in_process, run_linked_processes
    from rover_nav.runtime.ros_domain import claim_spare_domain

    ground = claim_spare_domain()
    print(f'link: {link.name} ({link.source}); ground station in private ROS domain {ground}', flush=True)
    return (run_linked_processes if cfg.processes else run_linked_in_process)(cfg, link, ground)


def private_domain() -> str:
    """Keep the drive's DDS traffic on this machine and away from other drives (see ros_domain).

    ROS_DOMAIN_ID / ROS_AUTOMATIC_DISCOVERY_RANGE set by the user are respected, so a run can be
    watched from another terminal on purpose.
    """
    import os

    from rover_nav.runtime.ros_domain import claim_domain

    if 'ROS_DOMAIN_ID' in os.environ:
        os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
        return f'ROS domain {os.environ["ROS_DOMAIN_ID"]} (from ROS_DOMAIN_ID)'
    return f'private ROS domain {claim_domain()} (localhost only; set ROS_DOMAIN_ID to choose)'


def drive_hint() -> str:
    """How to drive a `rover run --no-operator` from another terminal (its domain is in the environment)."""
    import os

    env = f'ROS_DOMAIN_ID={os.environ.get("ROS_DOMAIN_ID", "0")} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST'
    beside = Path(sys.executable).with_name('keyboard_teleop')
    keyboard = str(beside) if beside.is_file() else 'keyboard_teleop'
    return ('no operator: the rover waits for commands on /teleop/cmd_vel (geometry_msgs/TwistStamped).\n'
            'Drive it from another terminal in the same ROS domain:\n'
            f'  {env} {keyboard} --ros-args -p use_sim_time:=true\n'
            f'  {env} ros2 topic pub -r 10 /teleop/cmd_vel geometry_msgs/msg/TwistStamped '
            '"{twist: {linear: {x: 0.05}}}"   (full ROS 2 tier)\n'
            'The drive runs its --duration in simulated seconds whether or not anyone drives; Ctrl-C ends it early.')


def finish(out: Path, wall_s: float) -> None:
    """Draw the track map and print the summary table and the output folder."""
    from rover_bringup.report import draw_track_map, summary_table

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
    if summary.get('link'):
        from rover_bringup.linked_run import link_line
        print(link_line(summary))
    print(f'wall time {wall_s:.1f} s; files in {out}:')
    for path in sorted(out.iterdir()):
        print(f'  {path.name}{"/" if path.is_dir() else ""}')
