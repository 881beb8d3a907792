"""Campaign throughput for `rover bench`: drives per hour, as a ratio to one drive alone.

Drives are independent processes, so on J free cores a campaign of N drives should take about
N x (one drive) / J. The baseline is one drive timed alone in the same run; the figure is the
same drive repeated 2J times as a campaign of J at a time. The ratio is the parallel speed-up
(ideal: J; below it where drives share memory bandwidth or the machine is busy).
"""

from __future__ import annotations

import os
from pathlib import Path
import tempfile

from rover_bringup.campaign.execute import run_drive
from rover_bringup.campaign.plan import Drive, plan_drives
from rover_bringup.campaign.run import CampaignConfig, run_campaign
from rover_nav.runtime.benchmarking import BenchResult

WORLD, SCENARIO, DURATION_S = 'flat', 'straight', 30.0


def run_benchmarks() -> list[BenchResult]:
    jobs = max(1, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix='rover-bench-campaign-') as tmp:
        alone = Drive(WORLD, SCENARIO, 0)
        result = run_drive(alone.run_args(Path(tmp) / 'alone', DURATION_S, ()), Path(tmp) / 'alone', 600.0)
        if result.status != 'ok':
            raise RuntimeError(f'benchmark drive failed: {result.message}')
        one_per_hour = 3600.0 / result.wall_s
        cfg = CampaignConfig(out=Path(tmp) / 'campaign', drives=plan_drives([WORLD], [SCENARIO], list(range(2 * jobs))),
                             duration_s=DURATION_S, jobs=jobs, quiet=True)
        report = run_campaign(cfg)
    speed = report['throughput']
    return [BenchResult(f'campaign of {2 * jobs} drives ({WORLD}/{SCENARIO}, {DURATION_S:g} s each), {jobs} at a time',
                        speed['drives_per_hour'], one_per_hour, 'drives/h', 'one drive alone',
                        note=f"max drive RSS {speed['max_drive_rss_mb']:.0f} MB")]
