"""Hostile inputs that used to crash or skew a run (issue 18, findings 9, 10, 14): pure cores, no ROS."""

from __future__ import annotations

import json

import pytest

from rover_nav.runtime.bounded_yaml import MAX_YAML_BYTES, YamlLimitError, load_bounded, short_repr
from rover_nav.runtime.clock_guard import ClockGuard
from rover_nav.tracklog.recorder import MAX_FIELD_CHARS, TrackRecorder, parse_event

ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + ''.join(
    f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},'
    f'*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n' for i in range(8))


# -- /events ---------------------------------------------------------------------------------------

def test_deeply_nested_event_is_an_unknown_event_not_a_recursion_error():
    text = '[' * 100_000 + ']' * 100_000
    t, kind, detail, _source = parse_event(text, 12.5)
    assert (t, kind) == (12.5, 'unknown') and len(detail) <= MAX_FIELD_CHARS


def test_event_with_a_400_digit_time_falls_back_to_the_log_time():
    t, kind, _detail, _source = parse_event('{"kind": "x", "t": 1' + '0' * 400 + '}', 7.0)
    assert (t, kind) == (7.0, 'x')


def test_event_fields_are_bounded_and_never_repr_a_nested_value():
    t, kind, detail, source = parse_event(json.dumps({'kind': 'k' * 10_000, 'detail': [[[[1]]]], 'source': 2**300}),
                                          3.0)
    assert len(kind) == MAX_FIELD_CHARS and detail == '<list>' and source == '<integer of 301 bits>'


def test_ground_truth_beyond_the_plausible_range_is_rejected():
    rec = TrackRecorder()
    for x in (1e308, -1e308, 2e7):
        with pytest.raises(ValueError, match='implausible position'):
            rec.on_ground_truth(1.0, x, 0.0, 0.0, (0.0, 0.0, 0.0, 1.0))
    rec.on_ground_truth(1.0, 5.0, 0.0, 0.0, (0.0, 0.0, 0.0, 1.0))  # a sane pose still counts
    assert rec.t0 == 1.0


# -- clock plausibility ----------------------------------------------------------------------------

def test_clock_guard_rejects_one_foreign_jump_and_keeps_the_stream():
    guard = ClockGuard(max_jump_s=60.0)
    assert all(guard.accept(0.1 * k) for k in range(10))
    assert not guard.accept(2**31 - 1)  # one foreign /clock
    assert not guard.accept(-(2**31))
    assert not guard.accept(float('nan'))
    assert guard.accept(1.0) and guard.last == 1.0 and guard.rejected == 3


def test_clock_guard_follows_a_real_restart_after_a_consistent_run_of_values():
    """Anchored on a wrong first value, the guard must not lock the real clock out for ever."""
    guard = ClockGuard(max_jump_s=60.0, reanchor_after=10)
    assert guard.accept(5000.0)  # a stray first value
    accepted = [guard.accept(0.1 * k) for k in range(1, 12)]
    assert accepted[:9] == [False] * 9 and accepted[9] and accepted[10]
    assert guard.last == pytest.approx(1.1)


# -- bounded YAML ----------------------------------------------------------------------------------

def test_alias_bomb_is_refused_before_anything_expands():
    """Refused at the first `*` while composing: nothing is built, so nothing can expand (it used to
    take 30 s and 3.2 GB when an error message repr()'d the result)."""
    with pytest.raises(YamlLimitError, match=r'line 2: YAML aliases \(\*a\)'):
        load_bounded(ALIAS_BOMB)


def test_oversized_yaml_is_refused():
    with pytest.raises(YamlLimitError, match='byte limit'):
        load_bounded('x: "' + 'a' * MAX_YAML_BYTES + '"')


def test_plain_yaml_and_anchors_without_aliases_still_load():
    assert load_bounded('a: &anchor [1, 2]\nb: {c: 3}\n') == {'a': [1, 2], 'b': {'c': 3}}


def test_short_repr_is_bounded_whatever_the_value():
    nested: list = []
    for _ in range(50):
        nested = [nested] * 9
    text = short_repr(nested)
    assert len(text) < 200
    assert len(short_repr('x' * 10**6)) < 100 and len(short_repr(10**1000)) < 100
