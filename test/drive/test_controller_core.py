"""The drive controller's pure cores: watchdog gate, freshness, IMU mount, diagnostics verdict."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.rotations import rpy_matrix
from rover_nav.drive import controller_core as core

TIMEOUT = 0.5

# one event: (kind, dt since the previous one); kinds: cmd_vel, tick, latch, clear
events = st.lists(st.tuples(st.sampled_from(['cmd', 'tick', 'latch', 'clear']),
                            st.floats(0.0, 1.0, allow_nan=False)), max_size=60)


def test_a_fresh_command_drives_and_a_stale_one_holds_once_reported():
    gate = core.CommandGate(TIMEOUT)
    assert gate.tick(0.0) == core.Tick(hold=True, timed_out=False)  # nothing yet: hold, no report
    assert gate.command(0.1) is True  # ends the initial stale period
    assert gate.tick(0.5) == core.Tick(hold=False, timed_out=False)
    assert gate.tick(0.6) == core.Tick(hold=False, timed_out=False)  # exactly the timeout old: still fresh
    assert gate.tick(0.61) == core.Tick(hold=True, timed_out=True)
    assert gate.tick(0.7) == core.Tick(hold=True, timed_out=False)  # reported once
    assert gate.command(0.8) is True and gate.command(0.9) is False


def test_a_clock_that_jumps_back_makes_the_command_stale():
    gate = core.CommandGate(TIMEOUT)
    gate.command(10.0)
    assert gate.tick(9.0) == core.Tick(hold=True, timed_out=True)


def test_the_estop_holds_until_cleared_and_a_clear_needs_no_extra_command():
    gate = core.CommandGate(TIMEOUT)
    gate.command(0.0)
    gate.latch(0.1)
    assert gate.estop and gate.tick(0.2).hold
    gate.command(0.3)  # commands during the latch keep the stream fresh, but are not driven (the node holds)
    assert gate.tick(0.4) == core.Tick(hold=True, timed_out=False)
    gate.clear(0.5)
    assert not gate.estop and gate.tick(0.6) == core.Tick(hold=False, timed_out=False)


def test_a_new_timeout_applies_at_the_next_tick():
    gate = core.CommandGate(TIMEOUT)
    gate.command(0.0)
    gate.set_timeout(2.0)
    assert gate.timeout_s == 2.0 and not gate.tick(1.5).hold


@settings(max_examples=300, deadline=None)
@given(events)
def test_the_gate_matches_the_rule_it_replaced(seq):
    """Reference: the rule the node used to implement inline (age > timeout or < 0, or e-stop)."""
    gate = core.CommandGate(TIMEOUT)
    last, stale, estop, now = None, True, False, 0.0
    for kind, dt in seq:
        now += dt
        if kind == 'cmd':
            assert gate.command(now) is stale
            last, stale = now, False
        elif kind == 'latch':
            gate.latch(now)
            estop = True
        elif kind == 'clear':
            gate.clear(now)
            estop = False
        else:
            age = math.inf if last is None else now - last
            now_stale = age > TIMEOUT or age < 0.0
            assert gate.tick(now) == core.Tick(hold=now_stale or estop, timed_out=now_stale and not stale)
            stale = stale or now_stale
        assert gate.estop is estop and gate.stale is stale


@given(st.one_of(st.none(), st.tuples(st.floats(-1.0, 1.0), st.floats(0.0, 10.0))), st.floats(0.0, 10.0))
def test_a_sample_is_fresh_only_within_the_timeout_and_never_from_the_future(sample, now):
    value = core.fresh(sample, now, TIMEOUT)
    if sample is None:
        assert value is None
    else:
        assert (value is not None) == (0.0 <= now - sample[1] <= TIMEOUT)


def test_suspension_rates_need_both_samples_fresh_and_a_finite_pitch():
    joints = ([0.1, -0.2], 1.0)
    assert core.suspension_rates((0.05, 1.1), joints, 1.2, 0.3) == [0.05, 0.1, -0.2]
    assert core.suspension_rates((0.05, 1.1), joints, 1.35, 0.3) is None  # joint_states too old
    assert core.suspension_rates((0.05, 0.8), joints, 1.2, 0.3) is None  # IMU too old
    assert core.suspension_rates(None, joints, 1.2, 0.3) is None
    assert core.suspension_rates((0.05, 1.1), None, 1.2, 0.3) is None
    assert core.suspension_rates((math.nan, 1.1), joints, 1.2, 0.3) is None


@given(st.floats(-math.pi, math.pi), st.floats(-1.5, 1.5), st.floats(-math.pi, math.pi),
       st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5)))
def test_the_imu_mount_gives_the_body_rates_of_the_rotation(roll, pitch, yaw, gyro):
    rotation = rpy_matrix(roll, pitch, yaw)
    yaw_rate, pitch_rate = core.ImuMount(rotation.tolist()).rates(*gyro)
    body = rotation @ np.array(gyro)
    assert yaw_rate == pytest.approx(body[2], abs=1e-12) and pitch_rate == pytest.approx(body[1], abs=1e-12)


@pytest.mark.parametrize('gyro', [(math.nan, 0.0, 0.0), (0.0, math.inf, 0.0), (0.0, 0.0, None)])
def test_the_imu_mount_refuses_a_bad_sample(gyro):
    assert core.ImuMount(np.eye(3).tolist()).rates(*gyro) is None


def status(**changes):
    args = dict(estop=False, stale=False, has_command=True, waiting_for_s=None, stall_warning_s=5.0,
                last=core.LastCommand(stopped=False, waiting=False, infeasible=False, steer_error=0.01))
    args.update(changes)
    return core.drive_status(**args)


def test_the_status_names_the_most_urgent_condition():
    waiting = core.LastCommand(stopped=False, waiting=True, infeasible=True, steer_error=0.2)
    assert status() == (core.LEVEL_OK, 'driving')
    assert status(estop=True, stale=True, last=waiting) == (core.LEVEL_WARN, 'e-stop latched: wheels stopped')
    assert status(stale=True, last=waiting) == (core.LEVEL_WARN, 'cmd_vel stale: wheels stopped, steering held')
    assert status(stale=True, has_command=False, last=None) == (core.LEVEL_OK, 'waiting for the first cmd_vel')
    assert status(waiting_for_s=6.0, last=waiting) == (
        core.LEVEL_WARN, 'corners not at their targets for 6.0 s (error 0.200 rad): jammed or weak steering?')
    assert status(waiting_for_s=4.0, last=waiting) == (
        core.LEVEL_WARN, 'requested point turn impossible with these steering limits')
    assert status(last=core.LastCommand(False, True, False, 0.1)) == (
        core.LEVEL_OK, 'wheels waiting for the corners to reach their angles')
    assert status(last=core.LastCommand(True, False, False, 0.0)) == (core.LEVEL_OK, 'stopped')
    assert status(last=None) == (core.LEVEL_OK, 'stopped')


@given(st.booleans(), st.booleans(), st.booleans(), st.one_of(st.none(), st.floats(0.0, 20.0)),
       st.one_of(st.none(), st.builds(core.LastCommand, st.booleans(), st.booleans(), st.booleans(),
                                      st.floats(0.0, 1.0))))
def test_the_status_warns_exactly_on_the_warning_conditions(estop, stale, has_command, waiting_for, last):
    level, message = status(estop=estop, stale=stale, has_command=has_command, waiting_for_s=waiting_for, last=last)
    warn = (estop or (stale and has_command) or (waiting_for is not None and waiting_for > 5.0)
            or (last is not None and last.infeasible))
    assert (level == core.LEVEL_WARN) == warn and message


def test_the_suspension_status_words():
    assert core.suspension_status(False, True, True) == 'off'
    assert core.suspension_status(True, True, False) == 'active'
    assert core.suspension_status(True, False, True) == 'waiting for steady driving'
    assert core.suspension_status(True, False, False) == 'no fresh rates'
