"""`rover campaign` as a user runs it: real drives, compared with `rover run` of the same drive."""

from __future__ import annotations

import csv
import json
from pathlib import Path
import shutil
import sys

from helpers.processes import NodeProcess
import pytest

from rover_description.paths import data_file

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group('campaign')]

WORLDS = 'flat,rock_test'
SEEDS = '2'
DURATION = '12'
# Compared between runs of the same drive: what the drive decides, exactly, and where it ended, within
# the 1 mm the simulator's determinism promises (README: same world, scenario and seed, same pose within 1 mm)
SAME_COLUMNS = ('world', 'scenario', 'seed', 'status', 'stops_obstacle', 'stops_slope', 'false_obstacle_stops',
                'rock_misses', 'early_slope_stops')
POSE_COLUMNS = ('distance_m', 'final_x', 'final_y', 'final_z')


def rover(tmp_path: Path, name: str, *args: str, timeout_s: float = 900.0) -> tuple[int, str]:
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', *args], tmp_path / f'{name}.log')
    try:
        code = proc.proc.wait(timeout=timeout_s)
    finally:
        proc.stop()
    return code, proc.output()


def read_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / 'campaign.csv').open(newline='') as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope='module')
def campaign(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp('campaign')
    code, text = rover(tmp, 'campaign', 'campaign', '--worlds', WORLDS, '--scenarios', 'straight', '--seeds', SEEDS,
                       '--duration', DURATION, '--jobs', '2', '--out', str(tmp / 'out'))
    assert code == 0, text
    return tmp / 'out'


def test_four_rows_match_four_rover_runs(campaign, tmp_path):
    rows = read_rows(campaign)
    assert [(r['world'], r['seed']) for r in rows] == [('flat', '0'), ('flat', '1'), ('rock_test', '0'),
                                                        ('rock_test', '1')]
    assert all(r['status'] == 'ok' for r in rows)
    for row in rows:
        out = tmp_path / f"{row['world']}-{row['seed']}"
        code, text = rover(tmp_path, out.name, 'run', '--world', row['world'], '--scenario', 'straight', '--seed',
                           row['seed'], '--terrain-seed', row['seed'], '--duration', DURATION, '--out', str(out),
                           '--quiet')
        assert code == 0, text
        summary = json.loads((out / 'summary.json').read_text())
        assert float(row['distance_m']) == pytest.approx(summary['distance_m'], abs=1e-3)
        for axis in ('x', 'y', 'z'):
            assert float(row[f'final_{axis}']) == pytest.approx(summary['final_pose'][axis], abs=1e-3)
    # different terrain seeds of a procedural world give different drives
    summaries = [json.loads((campaign / 'runs' / d / 'summary.json').read_text())
                 for d in ('rock_test-straight-s0000', 'rock_test-straight-s0001')]
    assert summaries[0]['final_pose'] != summaries[1]['final_pose']


def test_outputs_are_complete(campaign):
    report = json.loads((campaign / 'campaign.json').read_text())
    assert report['totals']['drives'] == 4 and report['totals']['status']['ok'] == 4
    assert set(report['per_world']) == {'flat', 'rock_test'} and set(report['per_scenario']) == {'straight'}
    assert report['throughput']['drives_per_hour'] > 0
    assert (campaign / 'campaign.png').stat().st_size > 10_000
    for run in (campaign / 'runs').iterdir():
        assert {'summary.json', 'track.csv', 'bag', 'campaign_row.json'} <= {p.name for p in run.iterdir()}


def test_resume_reruns_nothing(campaign, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in (campaign / 'runs').glob('*/summary.json')}
    assert len(before) == 4
    code, text = rover(tmp_path, 'resume', 'campaign', '--worlds', WORLDS, '--scenarios', 'straight', '--seeds',
                       SEEDS, '--duration', DURATION, '--jobs', '2', '--resume', '--out', str(campaign))
    assert code == 0, text
    assert '4 drives (4 already done)' in text
    assert {p: p.stat().st_mtime_ns for p in (campaign / 'runs').glob('*/summary.json')} == before
    assert len(read_rows(campaign)) == 4
    speed = json.loads((campaign / 'campaign.json').read_text())['throughput']
    assert speed['drives_run'] == 0 and speed['drives_kept_from_an_earlier_run'] == 4
    assert speed['drives_per_hour'] is None  # no drive ran: no throughput figure to claim


def test_a_second_campaign_into_the_same_folder_needs_resume(campaign, tmp_path):
    code, text = rover(tmp_path, 'again', 'campaign', '--worlds', 'flat', '--scenarios', 'straight', '--seeds', '1',
                       '--out', str(campaign))
    assert code == 2 and '--resume' in text


def test_ray_local_gives_the_same_rows(campaign, tmp_path):
    pytest.importorskip('ray', reason='ray (pip install ray) runs campaigns on a Ray cluster')
    code, text = rover(tmp_path, 'ray', 'campaign', '--worlds', WORLDS, '--scenarios', 'straight', '--seeds', SEEDS,
                       '--duration', DURATION, '--jobs', '2', '--ray', 'local', '--quiet',
                       '--out', str(tmp_path / 'ray'))
    assert code == 0, text
    local, on_ray = read_rows(campaign), read_rows(tmp_path / 'ray')
    assert [{k: r[k] for k in SAME_COLUMNS} for r in on_ray] == [{k: r[k] for k in SAME_COLUMNS} for r in local]
    for a, b in zip(on_ray, local, strict=True):
        for key in POSE_COLUMNS:
            assert float(a[key]) == pytest.approx(float(b[key]), abs=1e-3), (a['world'], a['seed'], key)
    assert (tmp_path / 'ray' / 'runs' / 'flat-straight-s0000' / 'bag' / 'metadata.yaml').is_file()


SHIM = """
import os, sys, time
world = sys.argv[sys.argv.index('--world') + 1]
if world.endswith('crash.yaml'):
    print('simulated failure: the drive fell over', flush=True)
    sys.exit(3)
if world.endswith('hang.yaml'):
    print('hanging', flush=True)
    time.sleep(3600)
os.execv(sys.executable, [sys.executable, '-m', 'rover_bringup.cli', *sys.argv[1:]])
"""


def test_failed_and_hung_drives_are_recorded_and_the_others_complete(tmp_path, monkeypatch):
    from rover_bringup.campaign import execute
    from rover_bringup.campaign.plan import plan_drives
    from rover_bringup.campaign.run import CampaignConfig, run_campaign

    flat = data_file('worlds', 'flat.yaml')
    worlds = []
    for name in ('crash', 'hang'):
        shutil.copy(flat, tmp_path / f'{name}.yaml')
        worlds.append(str(tmp_path / f'{name}.yaml'))
    shim = tmp_path / 'shim.py'
    shim.write_text(SHIM)
    monkeypatch.setattr(execute, 'rover_argv', lambda: [sys.executable, str(shim)])
    cfg = CampaignConfig(out=tmp_path / 'out', drives=plan_drives(['flat', *worlds], ['straight'], [0]),
                         duration_s=5.0, jobs=2, timeout_s=45.0, quiet=True)
    report = run_campaign(cfg)
    rows = {Path(r['world']).stem: r for r in read_rows(cfg.out)}
    assert rows['flat']['status'] == 'ok' and float(rows['flat']['distance_m']) > 0.1
    assert rows['crash']['status'] == 'failed' and rows['crash']['exit_code'] == '3'
    assert 'fell over' in rows['crash']['message']
    assert rows['hang']['status'] == 'timeout' and '45 s timeout' in rows['hang']['message']
    assert report['totals']['status'] == {'ok': 1, 'failed': 1, 'timeout': 1}
