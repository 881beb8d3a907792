"""`rover run --link`: the drives as a user runs them from the ground station, judged on outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from e2e.conftest import rover_run
from geometry_msgs.msg import TwistStamped
import pytest
from rclpy.serialization import deserialize_message
import yaml

from rover_description.paths import data_file
from rover_nav.tracklog.bag import read_bag

# a 225 s drive on a loaded 2-core machine can take longer than the suite's 300 s per test
pytestmark = [pytest.mark.e2e, pytest.mark.ros, pytest.mark.timeout(1500)]

CAP = 0.0559
GUARD_EVENTS = ('obstacle_stop', 'slope_stop', 'slope_slow')
EARTH_DELAY = 1.75
EARTH_JITTER = 0.1
TICK = 0.1


def _spawn() -> dict:
    return yaml.safe_load(data_file('worlds', 'terrain/change4.json').read_text())['spawn']


def _delays(bag: Path, topic: str) -> list[float]:
    """Log time minus header stamp of every message of `topic` in the bag."""
    out = []
    for m in read_bag(bag):
        if m.topic == topic:
            stamp = deserialize_message(m.data, TwistStamped).header.stamp
            out.append(m.log_ns * 1e-9 - (stamp.sec + stamp.nanosec * 1e-9))
    return out


def _assert_link_summary(s: dict) -> None:
    link = s['link']
    assert link['profile'] == 'earth'
    for direction in ('uplink', 'downlink'):
        d = link[direction]
        assert d['delivered'] > 0 and d['lost'] >= 0
        pct = d['one_way_delay_s']
        assert EARTH_DELAY - 1e-6 <= pct['min'] <= pct['p50'] <= pct['p95'] <= EARTH_DELAY + EARTH_JITTER + TICK + 1e-6
    assert link['downlink']['thinned'] > 0, 'the 285 kbit/s downlink should thin the hazcam clouds'


def test_default_egress_under_the_earth_link(run_drive):
    drive = run_drive('--link', 'earth', timeout_s=1200.0)
    assert drive.code == 0, drive.output[-3000:]
    s = drive.summary
    spawn = _spawn()
    assert s['final_pose']['z'] < spawn['z'] - 0.5, 'the rover never came down from the deck'
    assert s['final_pose']['x'] > spawn['x'] + 6.5
    assert s['max_speed_mps'] <= CAP * 1.05
    for kind in (*GUARD_EVENTS, 'missed_step'):
        assert not drive.events(kind), f'unexpected {kind}: {drive.events(kind)}'
    _assert_link_summary(s)
    # the bag shows the operator's commands as the rover got them: ~1.75 s after their stamps
    delays = _delays(drive.out / 'bag', '/uplink/teleop/cmd_vel')
    assert len(delays) > 1000
    assert all(EARTH_DELAY - 1e-6 <= d <= EARTH_DELAY + EARTH_JITTER + TICK + 1e-6 for d in delays)
    # what enters the chain is the onboard executor's, stamped with the tick it answers
    assert max(abs(d) for d in _delays(drive.out / 'bag', '/teleop/cmd_vel')) < 1e-6
    assert 'link earth:' in drive.output


def test_egress_plan_completes_the_drive_off_with_plans(run_drive):
    drive = run_drive('--scenario', 'egress_plan', '--link', 'earth', timeout_s=1200.0)
    assert drive.code == 0, drive.output[-3000:]
    s = drive.summary
    assert len(drive.events('plan_accepted')) == 3
    assert len(drive.events('plan_done')) == 3, s['events']
    for kind in ('plan_refused', 'plan_aborted', 'link_lost', *GUARD_EVENTS, 'missed_step'):
        assert not drive.events(kind), f'unexpected {kind}: {drive.events(kind)}'
    spawn = _spawn()
    assert s['final_pose']['z'] < spawn['z'] - 0.5
    assert s['final_pose']['x'] > spawn['x'] + 7.0
    accepted = drive.events('plan_accepted')[0]['t']
    assert accepted >= 2.0 + EARTH_DELAY  # sent at 2 s from the ground
    _assert_link_summary(s)


def test_bad_link_profiles_exit_2_naming_the_key(run_drive, tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(json.dumps({'name': 'bad', 'uplink': {'delay_s': 1.0, 'lossy': 0.1}}))
    drive = run_drive('--link', str(bad), '--duration', '5')
    assert drive.code == 2 and "unknown key(s) ['lossy']" in drive.output
    drive = run_drive('--link', 'mars', '--duration', '5')
    assert drive.code == 2 and 'named profiles' in drive.output


def test_same_seed_same_drive_and_the_processes_variant_runs(run_drive, tmp_path):
    """Lockstep with a seeded link is deterministic in one process; --processes drives too."""
    args = ('--world', 'flat', '--scenario', 'straight', '--link', 'earth', '--duration', '25', '--seed', '2')
    for sub in ('again', 'procs'):
        (tmp_path / sub).mkdir()
    first = run_drive(*args, timeout_s=600.0)
    assert first.code == 0, first.output[-3000:]
    second = rover_run(tmp_path / 'again', *args, timeout_s=600.0)
    assert second.code == 0, second.output[-3000:]
    for key in ('x', 'y', 'z'):
        assert abs(first.summary['final_pose'][key] - second.summary['final_pose'][key]) < 1e-3
    # the uplink (what drives the rover) loses the same messages; downlink counts may differ by the
    # messages nodes send on wall-clock timers (diagnostics), each topic having its own random stream
    assert first.summary['link']['uplink'] == second.summary['link']['uplink']
    for topic in ('/odom', '/events'):
        a, b = first.summary['link']['downlink'], second.summary['link']['downlink']
        assert a['lost_by_topic'].get(topic, 0) == b['lost_by_topic'].get(topic, 0)
    procs = rover_run(tmp_path / 'procs', *args, '--processes', timeout_s=600.0)
    assert procs.code == 0, procs.output[-3000:]
    assert procs.summary['link']['uplink']['delivered'] > 0 and procs.summary['distance_m'] > 0.5
    assert (procs.out / 'logs' / 'earth_link.log').exists()
    with (procs.out / 'track.csv').open() as track:  # tick 0 waited for the logger's process
        assert [next(track), next(track)][1].startswith('0.000,'), 'the track misses the start of the drive'


def test_a_plan_into_a_rock_is_stopped_by_the_obstacle_guard(run_drive, tmp_path):
    """Plans go through the chain: the guard stops the rover before the 0.3 m rock and the plan is aborted."""
    from rover_description.geometry import load_geometry

    scenario = tmp_path / 'rock_plan.yaml'
    scenario.write_text(yaml.safe_dump({'name': 'rock_plan', 'rate_hz': 10, 'plans': [
        {'at_s': 1.0, 'segments': [{'distance_m': 12.0, 'speed': CAP}]}]}))
    drive = run_drive('--world', 'rock_test', '--scenario', str(scenario), '--link', 'earth', '--duration', '180',
                      timeout_s=1200.0)
    assert drive.code == 0, drive.output[-3000:]
    assert drive.events('obstacle_stop'), 'the obstacle guard never stopped the rover'
    aborted = drive.events('plan_aborted')
    assert aborted and 'obstacle_stop' in aborted[0]['detail']
    assert not drive.events('plan_done')
    front = drive.summary['final_pose']['x'] + load_geometry('yutu2').front_x
    assert front <= -1.0 - 0.25 - 0.1 + 0.05, f'rover front at {front:.2f} m: clearance to the rock lost'
