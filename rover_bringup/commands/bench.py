"""`rover bench` (`make bench`): speed and latency figures as ratios to a same-run baseline.

Each area's `bench.py` measures its own figures together with a baseline measured in the same
run on the same machine (bare MuJoCo stepping, one bare DDS hop, a plain numpy field), so the
ratios mean something on any machine. Nothing here is asserted by the tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

# area -> module with run_benchmarks() -> list[BenchResult]
SUITES = {
    'terrain': 'rover_sim.terrain.bench',
    'simulator': 'rover_sim.bench',
    'chain': 'rover_nav.safety.bench',
    'full run': 'rover_bringup.run_bench',
    'campaign': 'rover_bringup.campaign.bench',
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--only', choices=sorted(SUITES), action='append',
                        help='run only these suites (repeatable)')
    parser.add_argument('--json', dest='json_out', default=None, help='also write the results to this JSON file')


def run(args: argparse.Namespace) -> int:
    chosen = args.only or list(SUITES)
    rows = []
    for area in chosen:
        module = importlib.import_module(SUITES[area])
        print(f'== {area} ({SUITES[area]})', flush=True)
        for result in module.run_benchmarks():
            rows.append({'area': area, 'name': result.name, 'value': result.value, 'unit': result.unit,
                         'baseline': result.baseline, 'baseline_name': result.baseline_name,
                         'ratio': result.ratio, 'note': result.note})
            print(f'  {result.name}: {result.value:.4g} {result.unit}  = {result.ratio:.3g} x '
                  f'{result.baseline_name} ({result.baseline:.4g} {result.unit})'
                  + (f'  [{result.note}]' if result.note else ''), flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))
    return 0
