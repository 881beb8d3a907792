"""`rover campaign`: every (world, scenario, seed) drive as its own `rover run`, with statistics.

Exit codes: 0 every drive ok; 1 the campaign finished but some drives failed or timed out
(they are in campaign.csv with their status and message); 2 bad arguments or configuration
(nothing was run).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys

EXIT_CONFIG = 2


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f'{text!r}: give distinct names or files separated by commas')
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--worlds', type=_names, default=['change4'],
                        help='worlds, comma-separated: names (change4, flat, rock_test, slope_test) or YAML files')
    parser.add_argument('--scenarios', type=_names, default=['egress'],
                        help='scenarios, comma-separated: names (egress, straight, square, climb_and_back) or files')
    parser.add_argument('--seeds', default='1',
                        help="N (seeds 0..N-1), A-B or a list 1,5,9: each seed is the drive's terrain and noise seed")
    parser.add_argument('--duration', type=float, default=None,
                        help='simulated seconds per drive (default: each scenario length + 10 s)')
    parser.add_argument('--params', action='append', default=[], metavar='FILE',
                        help='ROS 2 parameters file for every drive (repeatable), as `rover run --params`')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                        help='drives at a time on this machine (default: the number of cores)')
    parser.add_argument('--timeout', type=float, default=None,
                        help='wall seconds per drive before it is stopped and recorded as timeout '
                             '(default: its simulated seconds + 60)')
    parser.add_argument('--ray', default=None, metavar='ADDRESS|auto|local',
                        help='run the drives as Ray tasks: local starts a private one-machine cluster, '
                             'auto or ADDRESS joins a running one (every node needs this package installed)')
    parser.add_argument('--resume', action='store_true',
                        help='keep the drives an earlier run of this campaign finished ok; run the rest')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    parser.add_argument('--out', required=True, type=Path, help='campaign folder (runs/, campaign.csv/.json/.png)')


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return '\n'.join(f'{k:<{width}}  {v}' for k, v in rows)


def run(args: argparse.Namespace) -> int:
    from rover_bringup.campaign.plan import parse_seeds, plan_drives
    from rover_bringup.campaign.run import CampaignConfig, run_campaign
    from rover_nav.runtime.params import ConfigError

    try:
        drives = plan_drives(args.worlds, args.scenarios, parse_seeds(args.seeds))
        cfg = CampaignConfig(out=args.out.resolve(), drives=drives, duration_s=args.duration,
                             params=tuple(str(Path(p).resolve()) for p in args.params), jobs=args.jobs,
                             timeout_s=args.timeout, ray=args.ray, resume=args.resume, quiet=args.quiet)
        report = run_campaign(cfg)
    except (ConfigError, ValueError) as exc:
        print(f'rover campaign: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    totals, speed = report['totals'], report['throughput']

    def mean(key: str, unit: str) -> str:
        d = totals[key]
        return '-' if d['mean'] is None else f"{d['mean']:.4g} {unit} (sd {d['std'] or 0:.3g})"

    def rate(key: str) -> str:
        w = totals[key]
        return '-' if w['rate'] is None else f"{100 * w['rate']:.1f} % ({w['count']}/{w['of']})"

    print(_table([
        ('drives', f"{totals['drives']}: {totals['status']['ok']} ok, {totals['status']['failed']} failed, "
                   f"{totals['status']['timeout']} timeout"),
        ('distance', mean('distance_m', 'm')),
        ('mean slip', mean('mean_slip', '')),
        ('odometry drift', mean('odom_drift_m', 'm')),
        ('with obstacle stop', rate('drives_with_obstacle_stop')),
        ('with false stop', rate('drives_with_false_obstacle_stop')),
        ('with rock miss', rate('drives_with_rock_miss')),
        ('wall time', f"{speed['wall_time_s']:.1f} s for {speed['drives_run']} drives run now, "
                      f"{speed['drives_per_hour'] or 0:.0f} drives/h, "
                      f"parallel speed-up {speed['parallel_speedup'] or 0:.2f}x"
                      + (f" ({speed['drives_kept_from_an_earlier_run']} kept)"
                         if speed['drives_kept_from_an_earlier_run'] else '')),
    ]))
    print(f'files in {cfg.out}: campaign.csv, campaign.json, campaign.png, runs/')
    return 0 if totals['status']['ok'] == totals['drives'] else 1
