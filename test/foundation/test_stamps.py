"""The one float seconds <-> builtin_interfaces/Time conversion (rover_nav.runtime.checks)."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rover_nav.runtime.checks import seconds_to_time, stamp_seconds


@settings(deadline=None)  # timing varies on a shared CI machine
@given(st.floats(0.0, 4e6))
def test_seconds_round_trip_to_the_nanosecond(seconds):
    stamp = seconds_to_time(seconds)
    assert isinstance(stamp, Time)
    assert 0 <= stamp.nanosec < 1_000_000_000
    assert stamp.sec * 1_000_000_000 + stamp.nanosec == round(seconds * 1e9)
    assert stamp_seconds(stamp) == pytest.approx(seconds, abs=1e-9)


def test_a_fraction_that_rounds_up_carries_into_the_seconds():
    """Rounding the fraction on its own (the link heartbeat did) gave nanosec = 1e9, not a valid Time."""
    stamp = seconds_to_time(5.9999999999)
    assert (stamp.sec, stamp.nanosec) == (6, 0)


def test_sim_ticks_and_negative_times():
    assert (seconds_to_time(12.3).sec, seconds_to_time(12.3).nanosec) == (12, 300_000_000)
    assert (seconds_to_time(-0.5).sec, seconds_to_time(-0.5).nanosec) == (0, 0)
