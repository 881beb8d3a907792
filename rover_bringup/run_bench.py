"""Full-chain benchmark (`rover bench --only 'full run'`): how fast a whole `rover run` drive goes.

A real drive (default world and scenario, first 60 simulated seconds) through the simulator and
every node: in one process on the intra-process bus (what `rover run` does), in one process over
DDS only (`--dds-only`), and with one process per node (`--processes`, DDS). Baseline, measured in the
same run: bare MuJoCo stepping of the same world's model (`rover_sim.bench`), the ceiling no
chain can beat. Figures are real-time factors; ratio = chain / bare stepping. The headline (one process on the
bus) and the baseline are the best of three runs, the least disturbed by other work on the machine;
the note lists all three.
"""

from __future__ import annotations

from pathlib import Path
import tempfile

from rover_nav.runtime.benchmarking import BenchResult

WORLD = 'change4'
SCENARIO = 'egress'
SIM_SECONDS = 60.0


def _drive_rtf(processes: bool, intra_process: bool = True) -> float:
    """Real-time factor of one quiet drive: simulated seconds per wall second of the drive loop."""
    import json

    from rover_bringup import runner
    from rover_nav.runtime.ros_domain import claim_domain

    claim_domain()
    with tempfile.TemporaryDirectory(prefix='rover_bench_') as tmp:
        out = Path(tmp) / 'run'
        cfg = runner.prepare(WORLD, SCENARIO, SIM_SECONDS, str(out), None, realtime=False, processes=processes,
                             quiet=True, intra_process=intra_process)
        code = runner.run_processes(cfg) if processes else runner.run_in_process(cfg)
        if code != 0:
            raise RuntimeError(f'benchmark drive failed with exit code {code}')
        return float(json.loads((out / 'summary.json').read_text())['real_time_factor'])


REPEAT = 3  # drives of the headline figure; the best is the least disturbed (as `best_time`)


def run_benchmarks() -> list[BenchResult]:
    from rover_sim.bench import bare_stepping_rtf

    bare = bare_stepping_rtf(WORLD, 20.0, repeat=REPEAT)
    note = f'{WORLD}, scenario {SCENARIO}, {SIM_SECONDS:.0f} s simulated, lockstep'
    runs = sorted(_drive_rtf(False) for _ in range(REPEAT))
    spread = ', '.join(f'{r:.1f}' for r in runs)
    return [
        BenchResult(f'full chain, one process (intra-process bus), best of {REPEAT}', runs[-1], bare,
                    'x real time', f'bare MuJoCo stepping, best of {REPEAT} (x real time)',
                    f'{note}; all runs: {spread}'),
        BenchResult('full chain, one process, DDS only', _drive_rtf(False, intra_process=False), bare,
                    'x real time', 'bare MuJoCo stepping (x real time)', note),
        BenchResult('full chain, one process per node', _drive_rtf(True), bare, 'x real time',
                    'bare MuJoCo stepping (x real time)', note),
    ]
