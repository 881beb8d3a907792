"""The campaign loop: validate everything, run the drives (locally or on Ray), write the outputs.

Outputs in the campaign folder: `runs/<drive>/` (each drive's `rover run` folder plus its
`campaign_row.json` and log), `campaign.csv` (one row per drive, in plan order),
`campaign.json` (settings, totals, per-world and per-scenario statistics, throughput) and
`campaign.png`. Rows are written as drives finish, so an interrupted campaign can `--resume`:
drives whose row says ok (and whose summary.json exists) are kept, every other drive runs again.
Kept drives are judged again from their outputs, so a resumed campaign's rows follow the current
rules of `outcome` (the drives themselves are not rerun).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
import csv
from dataclasses import dataclass, field
import fcntl
import json
import math
import os
from pathlib import Path
import resource
import shutil
import sys
import time
from typing import Any

from rover_bringup.campaign import execute
from rover_bringup.campaign.outcome import COLUMNS, Body, GuardLimits, KnownRock, drive_row
from rover_bringup.campaign.plan import Drive, drive_dir, is_done
from rover_bringup.campaign.stats import campaign_stats
from rover_nav.runtime.params import ConfigError

ROW_FILE = 'campaign_row.json'
STARTUP_ALLOWANCE_S = 60.0  # wall seconds a drive may take on top of its simulated duration


@dataclass
class CampaignConfig:
    out: Path
    drives: list[Drive]
    duration_s: float | None = None
    params: tuple[str, ...] = ()
    jobs: int = 1
    timeout_s: float | None = None  # per drive; None: simulated duration + STARTUP_ALLOWANCE_S
    ray: str | None = None  # None (local processes), 'local', 'auto' or a cluster address
    resume: bool = False
    quiet: bool = False
    sim_seconds: dict[str, float] = field(default_factory=dict)  # scenario -> simulated seconds per drive


def validate(cfg: CampaignConfig) -> None:
    """Check worlds, scenarios and parameter files before any drive starts (ConfigError names it)."""
    from rover_bringup import graph
    from rover_bringup.params_file import check_hard_limits, check_params_files
    from rover_bringup.scenario import load_scenario
    from rover_description.paths import data_file
    from rover_sim.terrain import load_world

    for world in dict.fromkeys(d.world for d in cfg.drives):
        try:
            load_world(world)
        except FileNotFoundError as exc:
            raise ConfigError(f'--worlds: {exc}') from exc
    for scenario in dict.fromkeys(d.scenario for d in cfg.drives):
        try:
            length = load_scenario(scenario).duration_s + 10.0
        except FileNotFoundError as exc:
            raise ConfigError(f'--scenarios: {exc}') from exc
        cfg.sim_seconds[scenario] = cfg.duration_s if cfg.duration_s is not None else length
    check_params_files(cfg.params, graph.simulated_drive())
    check_hard_limits([str(data_file('config', 'rover.yaml')), *cfg.params], graph.simulated_drive(), 'yutu2')
    if cfg.jobs < 1:
        raise ConfigError(f'--jobs must be at least 1, got {cfg.jobs}')
    if cfg.timeout_s is not None and not (math.isfinite(cfg.timeout_s) and cfg.timeout_s > 0):
        raise ConfigError(f'--timeout must be a positive number of seconds, got {cfg.timeout_s}')
    if cfg.duration_s is not None and not (math.isfinite(cfg.duration_s) and cfg.duration_s > 0):
        raise ConfigError(f'--duration must be a positive number of seconds, got {cfg.duration_s}')


def guard_limits(params: tuple[str, ...]) -> GuardLimits:
    """The guard settings every drive runs with: node defaults, rover.yaml, then the --params files."""
    from rover_bringup import graph
    from rover_bringup.params_file import effective_values, node_specs
    from rover_description.paths import data_file

    files = [str(data_file('config', 'rover.yaml')), *params]
    values: dict[str, Any] = {}
    for spec in graph.CHAIN:
        if spec.name in ('obstacle_guard', 'slope_guard'):
            values.update({k: p.default for k, p in node_specs(spec).items()})
            values.update(effective_values(files, spec.name))
    return GuardLimits(float(values['max_step_height']), float(values['clearance']),
                       float(values['obstacle_lookahead']), float(values['stop_tilt_deg']))


def rover_body(profile: str = 'yutu2') -> Body:
    from rover_description.geometry import load_geometry

    geo = load_geometry(profile)
    return Body(geo.footprint, tuple((w.x, w.y, w.radius, w.width) for w in geo.wheels))


def known_rocks(world: str, seed: int) -> list[KnownRock]:
    """The rocks of the world as this seed builds it (the drive never sees this list)."""
    from rover_sim.terrain import build_terrain, load_world
    from rover_sim.terrain.relief import ROCK_SHAPE_POWER

    terrain = build_terrain(load_world(world).with_seed(seed))
    return [KnownRock(r.x, r.y, r.diameter_m, r.height_m, ROCK_SHAPE_POWER) for r in terrain.rocks]


@contextmanager
def campaign_lock(out: Path) -> Iterator[None]:
    """One campaign per folder at a time (a second one would mix rows and runs)."""
    out.mkdir(parents=True, exist_ok=True)
    handle = (out / '.campaign.lock').open('w')
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f'--out {out}: another campaign is running in this folder') from None
        yield
    finally:
        handle.close()


class Progress:
    """`campaign: 12/40 done, 1 failed, ETA 3 min 20 s`, on one line on a terminal."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.done = self.failed = 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()

    def update(self, row: dict[str, Any] | None = None) -> None:
        if row is not None:
            self.done += 1
            self.failed += row['status'] != 'ok'
        if self.quiet:
            return
        elapsed = time.monotonic() - self.start
        eta = '?' if self.done == 0 else _duration(elapsed / self.done * (self.total - self.done))
        bar_width = 24
        filled = round(bar_width * self.done / max(self.total, 1))
        line = (f'campaign [{"#" * filled}{"." * (bar_width - filled)}] {self.done}/{self.total} done, '
                f'{self.failed} failed, elapsed {_duration(elapsed)}, ETA {eta}')
        print(f'\r{line}' if self.tty else line, end='' if self.tty else '\n', file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty and not self.quiet:
            print(file=sys.stderr)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f'{seconds // 60} min {seconds % 60:02d} s' if seconds >= 60 else f'{seconds} s'


def _timeout(cfg: CampaignConfig, drive: Drive) -> float:
    return cfg.timeout_s if cfg.timeout_s is not None else cfg.sim_seconds[drive.scenario] + STARTUP_ALLOWANCE_S


def _saved_row(cfg: CampaignConfig, drive: Drive) -> dict[str, Any] | None:
    """The row of a drive an earlier run of this campaign finished ok (for --resume)."""
    path = drive_dir(cfg.out, drive) / ROW_FILE
    if not (cfg.resume and is_done(cfg.out, drive) and path.is_file()):
        return None
    try:
        row = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) and row.get('status') == 'ok' else None


Runner = Callable[[Drive], execute.DriveResult]


def _local_runner(cfg: CampaignConfig) -> Runner:
    def run(drive: Drive) -> execute.DriveResult:
        run_dir = drive_dir(cfg.out, drive)
        return execute.run_drive(drive.run_args(run_dir, cfg.duration_s, cfg.params), run_dir, _timeout(cfg, drive))
    return run


def _run_local(cfg: CampaignConfig, pending: list[Drive], finish: Callable[[Drive, execute.DriveResult], None]) -> None:
    runner = _local_runner(cfg)
    with ThreadPoolExecutor(max_workers=cfg.jobs) as pool:
        futures: dict[Future[execute.DriveResult], Drive] = {pool.submit(runner, d): d for d in pending}
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                finish(futures.pop(future), future.result())


def _run_ray(cfg: CampaignConfig, pending: list[Drive], finish: Callable[[Drive, execute.DriveResult], None]) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError('--ray needs the ray package: pip install ray') from None
    started_here = not ray.is_initialized()
    if started_here:
        if cfg.ray == 'local':
            ray.init(address='local', num_cpus=cfg.jobs, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=cfg.ray, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(execute.run_drive_packed)
        refs = {task.remote(d.run_args(Path('/'), cfg.duration_s, cfg.params), d.key, _timeout(cfg, d)): d
                for d in pending}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            drive = refs.pop(ready[0])
            try:
                result_dict, packed = ray.get(ready[0])
                result = execute.DriveResult(**result_dict)
                run_dir = drive_dir(cfg.out, drive)
                shutil.rmtree(run_dir, ignore_errors=True)
                execute.unpack_dir(packed, run_dir)
            except Exception as exc:  # a lost worker or node: the drive failed, the campaign goes on
                result = execute.DriveResult('failed', None, 0.0, 0.0, f'ray task failed: {exc}'[:300])
            finish(drive, result)
    finally:
        if started_here:
            ray.shutdown()


def _fresh_start(cfg: CampaignConfig) -> None:
    runs = cfg.out / 'runs'
    if not cfg.resume and runs.is_dir() and any(runs.iterdir()):
        raise ConfigError(f'--out {cfg.out} already holds a campaign; give --resume to continue it or a new folder')


def run_campaign(cfg: CampaignConfig) -> dict[str, Any]:
    """Run every drive and write the outputs; returns campaign.json's content."""
    validate(cfg)
    limits, body = guard_limits(cfg.params), rover_body()
    with campaign_lock(cfg.out):
        _fresh_start(cfg)
        rows: dict[str, dict[str, Any]] = {}
        ran_now: set[str] = set()  # the drives this invocation runs (throughput counts only these)
        pending: list[Drive] = []
        for drive in cfg.drives:
            saved = _saved_row(cfg, drive)
            if saved is not None:  # kept, and judged again from its outputs with this version's rules
                kept = execute.DriveResult('ok', saved.get('exit_code'), float(saved.get('wall_time_s') or 0.0),
                                           float(saved.get('max_rss_mb') or 0.0), str(saved.get('message') or ''))
                rows[drive.key] = drive_row(drive, kept, drive_dir(cfg.out, drive),
                                            known_rocks(drive.world, drive.seed), body, limits)
            else:
                shutil.rmtree(drive_dir(cfg.out, drive), ignore_errors=True)  # an interrupted or failed try
                pending.append(drive)
        progress = Progress(len(pending), cfg.quiet)
        if not cfg.quiet:
            print(f'campaign: {len(cfg.drives)} drives ({len(cfg.drives) - len(pending)} already done), '
                  f'{"Ray " + cfg.ray if cfg.ray else f"{cfg.jobs} at a time"}, output {cfg.out}', file=sys.stderr)
        rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        start = time.monotonic()

        def finish(drive: Drive, result: execute.DriveResult) -> None:
            run_dir = drive_dir(cfg.out, drive)
            row = drive_row(drive, result, run_dir, known_rocks(drive.world, drive.seed), body, limits)
            if run_dir.is_dir():
                (run_dir / ROW_FILE).write_text(json.dumps(row, indent=1) + '\n', encoding='utf-8')
            rows[drive.key] = row
            ran_now.add(drive.key)
            progress.update(row)

        progress.update()
        try:
            (_run_ray if cfg.ray else _run_local)(cfg, pending, finish)
        finally:
            progress.close()
            wall = time.monotonic() - start
            ordered = [rows[d.key] for d in cfg.drives if d.key in rows]
            report = _write_outputs(cfg, ordered, [rows[k] for k in ran_now], wall, limits, rss_start)
    return report


def _write_outputs(cfg: CampaignConfig, rows: list[dict[str, Any]], ran: list[dict[str, Any]], wall_s: float,
                   limits: GuardLimits, rss_start_mb: float) -> dict[str, Any]:
    """campaign.csv/json/png of every row; throughput from the drives run now (`ran`), not those kept."""
    from rover_bringup.campaign.plot import draw_campaign

    tmp = cfg.out / 'campaign.csv.tmp'
    with tmp.open('w', newline='', encoding='utf-8') as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: ('' if v is None else v) for k, v in row.items()} for row in rows)
    os.replace(tmp, cfg.out / 'campaign.csv')
    drive_wall = sum(float(r['wall_time_s']) for r in ran)
    report = {
        'settings': {'drives': len(cfg.drives), 'duration_s': cfg.duration_s, 'params': list(cfg.params),
                     'jobs': cfg.jobs, 'ray': cfg.ray, 'guard_limits': limits.__dict__,
                     'seeds': sorted({d.seed for d in cfg.drives})},
        'throughput': {
            'drives_run': len(ran),
            'drives_kept_from_an_earlier_run': len(rows) - len(ran),
            'wall_time_s': round(wall_s, 2),
            'drives_per_hour': round(3600.0 * len(ran) / wall_s, 1) if wall_s > 0 and ran else None,
            'sum_of_drive_wall_times_s': round(drive_wall, 2),
            'parallel_speedup': round(drive_wall / wall_s, 2) if wall_s > 0 and ran else None,
            'max_drive_rss_mb': max((float(r['max_rss_mb']) for r in ran if r.get('max_rss_mb')), default=None),
            'campaign_process_rss_mb': {'start': round(rss_start_mb, 1),
                                        'end': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)},
        },
        **campaign_stats(rows),
    }
    tmp = cfg.out / 'campaign.json.tmp'
    tmp.write_text(json.dumps(report, indent=1) + '\n', encoding='utf-8')
    os.replace(tmp, cfg.out / 'campaign.json')
    try:
        draw_campaign(rows, cfg.out / 'campaign.png')
    except Exception as exc:  # the CSV and JSON are the results; a missing picture must not hide them
        print(f'rover campaign: could not draw campaign.png: {exc}', file=sys.stderr)
    return report
