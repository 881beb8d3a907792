"""Keyboard teleop core: key decoding, held command with autorepeat timeout, speed steps; status screen."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_nav.teleop.keyboard import (
    DOWN,
    ESC,
    LEFT,
    RIGHT,
    UNKNOWN,
    UP,
    KeyboardCommand,
    KeyboardConfig,
    KeyboardTeleopCore,
    KeyDecoder,
)
from rover_nav.teleop.rover_status import RoverStatus, parse_event, render_lines, tilt_deg

CFG = KeyboardConfig(max_linear_speed=0.05, max_angular_speed=0.1, hold_timeout=0.7, speed_step=0.1,
                     initial_speed_fraction=0.5)


@pytest.mark.parametrize(('data', 'keys'), [
    (b'w', ['w']),
    (b'\x1b[A\x1b[B\x1b[C\x1b[D', [UP, DOWN, RIGHT, LEFT]),
    (b'\x1bOA\x1bOD', [UP, LEFT]),                     # application cursor mode
    (b'\x1b[1;2A', [UP]),                               # shift+up
    (b'\x1b[5~q', [UNKNOWN, 'q']),                      # page up is not a binding
    (b' +-', [' ', '+', '-']),
    (b'\x1bw', [ESC, 'w']),                             # alt+w
])
def test_decode(data, keys):
    assert KeyDecoder().feed(data) == keys


def test_decode_split_sequences_and_lone_escape():
    dec = KeyDecoder()
    assert dec.feed(b'\x1b') == []
    assert dec.feed(b'[') == []
    assert dec.feed(b'A') == [UP]
    assert dec.feed(b'\x1b') == []
    assert dec.flush() == [ESC]
    assert dec.flush() == []


@given(st.lists(st.sampled_from([b'w', b'\x1b[A', b'\x1bOB', b' ', b'q', b'\x1b[1;5C']), max_size=20),
       st.integers(1, 5))
def test_decode_independent_of_chunking(chunks, size):
    data = b''.join(chunks)
    whole = KeyDecoder().feed(data)
    dec = KeyDecoder()
    pieces: list[str] = []
    for i in range(0, len(data), size):
        pieces += dec.feed(data[i:i + size])
    assert pieces == whole


def test_hold_survives_initial_autorepeat_delay_then_drops():
    core = KeyboardTeleopCore(CFG)
    core.on_key('w', 0.0)
    assert core.command(0.0).linear == pytest.approx(0.025)
    assert core.command(0.6).linear == pytest.approx(0.025)     # 0.6 s: terminal repeat not started yet
    for k in range(20):                                          # repeats every 33 ms: steady command
        t = 0.65 + k / 30
        core.on_key('w', t)
        assert core.command(t + 0.01) == KeyboardCommand(0.025, 0.0, 'w')
    last = 0.65 + 19 / 30
    assert core.command(last + 0.69).moving
    assert core.command(last + 0.71) == KeyboardCommand(0.0, 0.0, '')   # released: silence -> zero
    assert not core.command(last + 0.5).moving                            # and stays zero


def test_directions_speed_steps_stop_quit():
    core = KeyboardTeleopCore(CFG)
    core.on_key(LEFT, 0.0)
    assert core.command(0.0) == KeyboardCommand(0.0, 0.05, LEFT)
    core.on_key('d', 0.1)
    assert core.command(0.1).angular == pytest.approx(-0.05)
    core.on_key('s', 0.2)
    assert core.command(0.2).linear == pytest.approx(-0.025)
    for _ in range(10):
        core.on_key('+', 0.3)
    assert core.fraction == 1.0 and core.command(0.3).linear == pytest.approx(-0.05)
    for _ in range(20):
        core.on_key('-', 0.3)
    assert core.fraction == pytest.approx(0.1)
    core.on_key(' ', 0.4)
    assert not core.command(0.4).moving
    assert core.on_key('k', 0.5) is False
    core.on_key(UP, 0.5)
    core.on_key('q', 0.6)
    assert core.quit_requested and not core.command(0.6).moving


def test_config_rejects_short_hold():
    with pytest.raises(ValueError, match='hold_timeout'):
        KeyboardConfig(max_linear_speed=0.05, max_angular_speed=0.1, hold_timeout=0.3)
    with pytest.raises(ValueError, match='max_linear_speed'):
        KeyboardConfig(max_linear_speed=math.inf, max_angular_speed=0.1)


@given(keys=st.lists(st.tuples(st.sampled_from(['w', 's', 'a', 'd', '+', '-', ' ', UP, 'z']),
                               st.floats(0.0, 0.5)), max_size=30), probe=st.floats(0.0, 3.0))
def test_command_bounded_and_zero_after_timeout(keys, probe):
    core = KeyboardTeleopCore(CFG)
    t = 0.0
    last_motion = -math.inf
    for key, dt in keys:
        t += dt
        core.on_key(key, t)
        if key in ('w', 's', 'a', 'd', UP):
            last_motion = t
        if key == ' ':
            last_motion = -math.inf
    cmd = core.command(t + probe)
    assert abs(cmd.linear) <= CFG.max_linear_speed + 1e-12 and abs(cmd.angular) <= CFG.max_angular_speed + 1e-12
    if t + probe > last_motion + CFG.hold_timeout:
        assert not cmd.moving


def test_tilt_from_quaternion():
    assert tilt_deg(0.0, 0.0, 0.0, 1.0) == pytest.approx(0.0)
    s = math.sin(math.radians(20) / 2)
    assert tilt_deg(s, 0.0, 0.0, math.cos(math.radians(20) / 2)) == pytest.approx(20.0)
    assert tilt_deg(0.0, 2 * s, 0.0, 2 * math.cos(math.radians(20) / 2)) == pytest.approx(20.0)  # unnormalised
    assert tilt_deg(0.0, 0.0, math.sin(1.0), math.cos(1.0)) == pytest.approx(0.0)                  # yaw only
    with pytest.raises(ValueError):
        tilt_deg(math.nan, 0, 0, 1)
    with pytest.raises(ValueError):
        tilt_deg(0, 0, 0, 0)


def test_event_parsing_and_status_screen():
    assert parse_event('not json') is None
    assert parse_event('[1, 2]') is None
    ev = parse_event(json.dumps({'t': 12.5, 'kind': 'slope_slow', 'detail': 'tilt 16 deg', 'source': 'slope_guard'}))
    assert ev is not None and ev.kind == 'slope_slow' and ev.t == 12.5
    status = RoverStatus()
    lines = render_lines(KeyboardCommand(0.0, 0.0, ''), 0.5, (0.05, 0.1), status, now=0.0)
    text = '\n'.join(lines)
    assert 'no odom' in text and 'no imu' in text and 'e-stop    clear (never latched)' in text
    status.on_odometry('odom', 0.02, 0.0, now=1.0)
    status.on_odometry('ground_truth', 0.021, 0.001, now=1.1)
    status.on_odometry('odom', 0.02, 0.0, now=1.2)            # ground truth is fresher: kept
    status.on_imu(0.0, math.sin(math.radians(8)), 0.0, math.cos(math.radians(8)), now=1.2)
    status.on_imu(math.nan, 0.0, 0.0, 1.0, now=1.3)           # ignored
    status.on_event(json.dumps({'t': 3.0, 'kind': 'obstacle_stop', 'detail': 'rock 0.3 m', 'source': 'og'}), 1.3)
    status.on_event(json.dumps({'t': 3.1, 'kind': 'info', 'detail': 'x'}), 1.3)
    status.on_estop(True, 1.4)
    lines = render_lines(KeyboardCommand(0.025, 0.0, 'w'), 0.5, (0.05, 0.1), status, now=2.0)
    text = '\n'.join(lines)
    assert 'v +0.0250 m/s' in text and "holding 'w'" in text
    assert 'v +0.0210 m/s' in text and 'ground_truth' in text
    assert '16.0 deg' in text
    assert 'obstacle_stop: rock 0.3 m (og, 0.7 s ago)' in text
    assert 'LATCHED' in text
    assert all(len(line) <= 80 for line in lines)
    assert 'STALE' in '\n'.join(render_lines(KeyboardCommand(0, 0, ''), 0.5, (0.05, 0.1), status, now=9.0))
