"""Campaign planning, seeds and statistics (pure: no ROS, no drives)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_bringup.campaign.plan import Drive, parse_seeds, plan_drives
from rover_bringup.campaign.stats import campaign_stats, describe, t95, wilson


def test_plan_is_every_combination_world_major():
    drives = plan_drives(['flat', 'rock_test'], ['straight'], [0, 1])
    assert [(d.world, d.scenario, d.seed) for d in drives] == [
        ('flat', 'straight', 0), ('flat', 'straight', 1), ('rock_test', 'straight', 0), ('rock_test', 'straight', 1)]
    assert len({d.key for d in drives}) == 4


def test_two_files_with_one_name_are_refused(tmp_path):
    with pytest.raises(ValueError, match='share a name'):
        plan_drives([str(tmp_path / 'a' / 'w.yaml'), str(tmp_path / 'b' / 'w.yaml')], ['egress'], [0])


def test_seed_is_terrain_and_noise_seed_of_the_drive(tmp_path):
    args = Drive('change4', 'egress', 7).run_args(tmp_path / 'd', 30.0, ('/p.yaml',))
    assert args[:1] == ['run']
    assert args[args.index('--seed') + 1] == '7' and args[args.index('--terrain-seed') + 1] == '7'
    assert args[args.index('--duration') + 1] == '30.0'
    assert args[args.index('--params') + 1] == '/p.yaml'


@pytest.mark.parametrize(('text', 'seeds'), [('3', [0, 1, 2]), ('5-7', [5, 6, 7]), ('1,5,9', [1, 5, 9])])
def test_seed_forms(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize('text', ['0', '7-5', 'x', '1,1', '-3', ''])
def test_bad_seeds_are_refused(text):
    with pytest.raises(ValueError, match='--seeds'):
        parse_seeds(text)


def test_wilson_interval_matches_the_textbook():
    # Wilson score interval for 0/10 and 5/10 at 95 %, e.g. Newcombe (1998), Table I
    w = wilson(0, 10)
    assert w['rate'] == 0.0 and w['ci95'][0] == 0.0 and w['ci95'][1] == pytest.approx(0.2775, abs=1e-4)
    w = wilson(5, 10)
    assert w['ci95'] == pytest.approx([0.2366, 0.7634], abs=1e-4)
    assert wilson(0, 0)['rate'] is None


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_holds_the_rate(successes, trials):
    successes = min(successes, trials)
    w = wilson(successes, trials)
    lo, hi = w['ci95']
    assert 0.0 <= lo <= w['rate'] <= hi <= 1.0


def test_describe_mean_std_and_t_interval():
    d = describe([1.0, 2.0, 3.0, 4.0, None, math.nan])
    assert d['n'] == 4 and d['mean'] == 2.5
    assert d['std'] == pytest.approx(math.sqrt(5 / 3))
    half = t95(3) * d['std'] / 2
    assert d['ci95'] == pytest.approx([2.5 - half, 2.5 + half])
    assert describe([])['mean'] is None and describe([2.0])['std'] is None


def test_group_statistics_count_rates_over_finished_drives():
    ok = {'world': 'a', 'scenario': 's', 'status': 'ok'}
    rows = [
        {**ok, 'distance_m': 1.0, 'stops_obstacle': 1, 'false_obstacle_stops': 1},
        {**ok, 'distance_m': 3.0, 'stops_obstacle': 2, 'false_obstacle_stops': 0},
        {'world': 'b', 'scenario': 's', 'status': 'timeout', 'distance_m': None},
    ]
    stats = campaign_stats(rows)
    totals = stats['totals']
    assert totals['status'] == {'ok': 2, 'failed': 0, 'timeout': 1}
    assert totals['distance_m']['mean'] == 2.0
    assert totals['drives_with_false_obstacle_stop']['count'] == 1
    assert totals['drives_with_false_obstacle_stop']['of'] == 2
    assert totals['false_obstacle_stop_share']['count'] == 1 and totals['false_obstacle_stop_share']['of'] == 3
    assert set(stats['per_world']) == {'a', 'b'} and stats['per_world']['b']['completion']['rate'] == 0.0
