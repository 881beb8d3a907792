"""`rover track show|info|export RUN_DIR`: the map, the summary table, CSV/GeoJSON rebuilt from the bag."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='track_command', metavar='ACTION', required=True)
    show = sub.add_parser('show', help='draw RUN_DIR/track.png: the track over shaded terrain with ruts and events')
    show.add_argument('run_dir', metavar='RUN_DIR', help='a run folder written by `rover run` / track_logger')
    show.add_argument('--out', metavar='FILE', help='where to write the PNG (default RUN_DIR/track.png)')
    info = sub.add_parser('info', help="print RUN_DIR's summary.json as a table")
    info.add_argument('run_dir', metavar='RUN_DIR')
    info.add_argument('--json', action='store_true', help='print the raw JSON instead of the table')
    export = sub.add_parser('export', help='rebuild track.csv and track.geojson from RUN_DIR/bag')
    export.add_argument('run_dir', metavar='RUN_DIR')
    export.add_argument('--out', metavar='DIR', help='output folder (default RUN_DIR: replaces its CSV/GeoJSON)')
    export.add_argument('--summary', action='store_true', help='also write summary.json rebuilt from the bag')
    export.add_argument('--repair', action='store_true',
                        help='first make a killed recording whole: rewrite torn MCAP files, rebuild metadata.yaml')
    export.add_argument('--sample-distance', type=float, default=0.05, metavar='M',
                        help='metres between track points (default 0.05)')
    export.add_argument('--sample-heading', type=float, default=5.0, metavar='DEG',
                        help='heading change that adds a point (default 5 deg)')


def _run_dir(path: str) -> Path | None:
    run_dir = Path(path)
    if not run_dir.is_dir():
        print(f'rover track: {run_dir} is not a folder', file=sys.stderr)
        return None
    return run_dir


def run(args: argparse.Namespace) -> int:
    run_dir = _run_dir(args.run_dir)
    if run_dir is None:
        return 1
    if args.track_command == 'show':
        from rover_bringup.report import draw_track_map

        try:
            path = draw_track_map(run_dir, args.out)
        except FileNotFoundError as exc:
            print(f'rover track show: {exc}', file=sys.stderr)
            return 1
        print(path)
        return 0
    if args.track_command == 'info':
        from rover_bringup.report import summary_table

        path = run_dir / 'summary.json'
        if not path.is_file():
            print(f'rover track info: no summary.json in {run_dir} (try `rover track export --summary`)',
                  file=sys.stderr)
            return 1
        summary = json.loads(path.read_text(encoding='utf-8'))
        print(json.dumps(summary, indent=1) if args.json else summary_table(summary))
        return 0
    from rover_nav.tracklog.replay import export_run

    if not (run_dir / 'bag').is_dir():
        print(f'rover track export: no bag/ folder in {run_dir}', file=sys.stderr)
        return 1
    if args.sample_distance <= 0 or args.sample_heading <= 0:
        print('rover track export: --sample-distance and --sample-heading must be positive', file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else run_dir
    if args.repair:
        from rover_nav.tracklog.bag import repair_bag

        repaired = [r for r in repair_bag(run_dir / 'bag') if not r.complete]
        print(f'repaired {len(repaired)} file(s): ' + (', '.join(f'{r.path.name} ({r.messages} messages kept)'
                                                       for r in repaired) or 'none needed'))
    rebuilt = export_run(run_dir, out_dir, args.summary, args.sample_distance, args.sample_heading)
    torn = [r for r in rebuilt.files if not r.complete]
    print(f'{rebuilt.messages} messages read from {len(rebuilt.files)} file(s)'
          + (f' ({len(torn)} not closed cleanly: recovered up to the last complete chunk)' if torn else ''))
    print(f'{len(rebuilt.points)} track points, {len(rebuilt.events)} events, '
          f'{rebuilt.summary["distance_m"]:.3f} m -> {out_dir / "track.csv"}, {out_dir / "track.geojson"}'
          + (f', {out_dir / "summary.json"}' if args.summary else ''))
    return 0
