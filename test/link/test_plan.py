"""Drive plans: parsing, whole-and-in-order assembly, and the onboard sequencer's stop rules."""

from __future__ import annotations

import json
import math

import pytest

from rover_nav.link.plan import (
    ABORTED,
    ACCEPTED,
    DONE,
    LINK_LOST,
    LINK_RESTORED,
    REFUSED,
    UPLINK_STALE,
    Limits,
    PlanAssembler,
    Sequencer,
    plan_message,
)

STRAIGHT = [{'distance_m': 1.0, 'speed': 0.05}]


def kinds(events):
    return [k for k, _ in events]


def test_whole_plan_in_order_is_accepted_and_older_ones_refused():
    asm = PlanAssembler(Limits())
    plan, events = asm.offer(plan_message(2, STRAIGHT))
    assert plan is not None and plan.seq == 2 and not events
    plan, events = asm.offer(plan_message(1, STRAIGHT))
    assert plan is None and kinds(events) == [REFUSED] and 'out of order' in events[0][1]
    plan, events = asm.offer(plan_message(2, STRAIGHT))  # the same plan again: not newer
    assert plan is None and 'out of order' in events[0][1]


def test_parts_must_all_arrive_in_order():
    asm = PlanAssembler(Limits())
    assert asm.offer(plan_message(5, STRAIGHT, 0, 3)) == (None, [])
    plan, events = asm.offer(plan_message(5, STRAIGHT, 2, 3))  # part 1 lost on the link
    assert plan is None and 'incomplete: part 1 missing' in events[0][1]
    plan, events = asm.offer(plan_message(6, STRAIGHT, 1, 2))  # part 0 lost
    assert plan is None and 'part 0 missing' in events[0][1]
    asm.offer(plan_message(7, STRAIGHT, 0, 2))
    plan, events = asm.offer(plan_message(7, [{'angle_deg': 10, 'speed': 2}], 1, 2))
    assert plan is not None and len(plan.segments) == 2 and not events


def test_a_newer_plan_refuses_an_unfinished_one():
    asm = PlanAssembler(Limits())
    asm.offer(plan_message(1, STRAIGHT, 0, 2))
    plan, events = asm.offer(plan_message(2, STRAIGHT))
    assert plan is not None and plan.seq == 2
    assert kinds(events) == [REFUSED] and 'plan 1' in events[0][1] and 'incomplete' in events[0][1]


@pytest.mark.parametrize('text, why', [
    ('{"seq": 1, "segments": [{"distance_m": 1', 'not a whole JSON plan'),
    (json.dumps({'seq': 1, 'segments': [{'distance_m': 1, 'speed': 0.5}]}), 'speed'),
    (json.dumps({'seq': 1, 'segments': [{'distance_m': 100, 'speed': 0.05}]}), 'exceeds'),
    (json.dumps({'seq': 1, 'segments': [{'angle_deg': 10, 'speed': 30}]}), 'deg/s'),
    (json.dumps({'seq': 1, 'segments': [{'distance_m': 1, 'angle_deg': 3, 'speed': 0.01}]}), 'exactly one'),
    (json.dumps({'seq': 1, 'segments': []}), 'non-empty'),
    (json.dumps({'seq': -1, 'segments': STRAIGHT}), 'seq'),
])
def test_bad_plans_are_refused_with_the_reason(text, why):
    plan, events = PlanAssembler(Limits()).offer(text)
    assert plan is None and kinds(events) == [REFUSED] and why in events[0][1]


def drive(seq: Sequencer, t0: float, t1: float, heard: bool = False, dt: float = 0.1):
    """Tick from t0 to t1, moving the odometry pose as commanded (and hearing the uplink every tick
    if `heard`); returns (commands, events)."""
    out, events, x, yaw = [], [], 0.0, 0.0
    t = t0
    while t < t1 - 1e-9:
        if heard:
            seq.uplink_heard(t)
        v, w, ev = seq.tick(t)
        out.append((t, v, w))
        events += ev
        x += v * dt
        yaw += w * dt
        seq.pose(x, 0.0, yaw)
        t = round(t + dt, 6)
    return out, events


def test_plan_runs_to_its_end_then_stops():
    seq = Sequencer(Limits(), link_timeout=5.0)
    seq.pose(0.0, 0.0, 0.0)
    events = seq.plan_text(plan_message(1, [{'distance_m': 0.5, 'speed': 0.05}, {'angle_deg': 20, 'speed': 5}]), 0.0)
    assert kinds(events) == [ACCEPTED]
    cmds, events = drive(seq, 0.0, 20.0, heard=True)
    assert kinds(events) == [DONE]
    moving = [c for c in cmds if c[1] or c[2]]
    assert moving[0][1] == pytest.approx(0.05) and moving[-1][2] == pytest.approx(math.radians(5))
    assert cmds[-1][1:] == (0.0, 0.0)
    assert 10.0 + 4.0 - 0.3 <= moving[-1][0] <= 10.0 + 4.0 + 0.3  # 0.5 m at 0.05 + 20 deg at 5 deg/s


def test_link_lost_stops_within_timeout_and_one_period_and_needs_a_fresh_command():
    seq = Sequencer(Limits(), link_timeout=5.0)
    seq.pose(0.0, 0.0, 0.0)
    seq.plan_text(plan_message(1, [{'distance_m': 10.0, 'speed': 0.05}]), 0.0)
    cmds, events = drive(seq, 0.0, 8.0)  # nothing heard after t = 0
    stopped = [t for t, v, _ in cmds if v == 0.0]
    assert stopped and 5.0 < stopped[0] <= 5.0 + 0.1 + 1e-9
    assert kinds(events) == [LINK_LOST, ABORTED]
    assert all(v == 0.0 for t, v, _ in cmds if t >= stopped[0])
    assert kinds(seq.uplink_heard(8.0)) == [LINK_RESTORED]
    assert seq.tick(8.1)[:2] == (0.0, 0.0)  # the link is back, but nobody said drive
    seq.teleop(0.03, 0.0, 8.1)
    assert seq.tick(8.2)[:2] == (0.03, 0.0)


def test_guard_trip_and_estop_abort_the_plan():
    seq = Sequencer(Limits())
    seq.plan_text(plan_message(1, STRAIGHT), 0.0)
    assert kinds(seq.guard_event('slope_slow', '')) == []
    assert kinds(seq.guard_event('obstacle_stop', 'rock')) == [ABORTED]
    assert seq.tick(0.1)[:2] == (0.0, 0.0)
    seq.plan_text(plan_message(2, STRAIGHT), 0.2)
    assert kinds(seq.estop(True)) == [ABORTED]
    assert seq.tick(0.3)[:2] == (0.0, 0.0)
    assert 'e-stop latched' in seq.plan_text(plan_message(3, STRAIGHT), 0.4)[-1][1]
    seq.teleop(0.05, 0.0, 0.5)
    assert seq.tick(0.5)[:2] == (0.0, 0.0)  # teleop ignored while latched


def test_teleop_is_held_only_while_fresh_and_overrides_a_plan():
    seq = Sequencer(Limits(), command_timeout=0.5)
    seq.teleop(0.04, 0.01, 1.0)
    assert seq.tick(1.4)[:2] == (0.04, 0.01)
    v, w, events = seq.tick(1.6)
    assert (v, w) == (0.0, 0.0) and kinds(events) == [UPLINK_STALE]  # stale: never drive on an old command
    seq.plan_text(plan_message(1, STRAIGHT), 2.0)
    assert kinds(seq.teleop(0.0, 0.0, 2.1)) == []  # a zero command does not stop the plan
    assert seq.tick(2.1)[0] == pytest.approx(0.05)
    assert kinds(seq.teleop(-0.02, 0.0, 2.2)) == [ABORTED]
    assert seq.tick(2.3)[:2] == (-0.02, 0.0)


def test_stuck_segment_is_aborted():
    seq = Sequencer(Limits(), stall_factor=2.0, stall_margin_s=5.0)
    seq.pose(0.0, 0.0, 0.0)
    seq.plan_text(plan_message(1, [{'distance_m': 0.5, 'speed': 0.05}]), 0.0)  # 10 s expected
    events = []
    for i in range(300):
        seq.uplink_heard(i * 0.1)
        events += seq.tick(i * 0.1)[2]  # the pose never moves
    assert kinds(events) == [ABORTED] and 'progress' in events[0][1]


def test_scenario_files_hold_plans_and_name_bad_keys():
    from rover_bringup.scenario import load_scenario, parse_scenario
    from rover_nav.runtime.params import ConfigError

    scen = load_scenario('egress_plan')
    assert [p.seq for p in scen.plans] == [1, 2, 3] and not scen.segments
    assert json.loads(scen.plans[0].text) == {'seq': 1, 'segments': [{'distance_m': 2.5, 'speed': 0.0559}]}
    assert scen.duration_s >= scen.plans[-1].at_s + scen.plans[-1].expected_s
    with pytest.raises(ConfigError, match=r'plans\[0\]: unknown key\(s\) \[\'when\'\]'):
        parse_scenario({'plans': [{'when': 3, 'segments': STRAIGHT}]}, 's.yaml')
    with pytest.raises(ConfigError, match=r'plans\[0\].segments\[0\] needs exactly one'):
        parse_scenario({'plans': [{'at_s': 3, 'segments': [{'speed': 0.1}]}]}, 's.yaml')
    with pytest.raises(ConfigError, match='commands must be a non-empty list'):
        parse_scenario({'name': 'x'}, 's.yaml')


def test_rover_plan_segment_syntax():
    from rover_bringup.commands.plan import parse_segments

    assert parse_segments(['2.5m@0.05', '-90deg@5', '.5m@.04']) == [
        {'distance_m': 2.5, 'speed': 0.05}, {'angle_deg': -90.0, 'speed': 5.0}, {'distance_m': 0.5, 'speed': 0.04}]
    with pytest.raises(ValueError, match="bad segment '2m'"):
        parse_segments(['2m'])
