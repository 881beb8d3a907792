"""speed_limiter under fuzzed commands over DDS: it survives, never exceeds its caps, and stale input
gives zero within command_timeout + one watchdog period (judged on stamps)."""

from __future__ import annotations

from fuzz.chain_fuzz import (
    FUZZ_SETTINGS,
    check_outputs,
    command_fields,
    drive_until_moving,
    first_zero_after,
    publish_command,
    sentinel,
)
from hypothesis import given
from hypothesis import strategies as st
import pytest
from safety.harness import Harness

pytestmark = pytest.mark.ros
V_CAP, W_CAP = 0.0559, 0.1


@pytest.fixture(scope='module')
def limiter():
    from rover_nav.safety.speed_limiter_node import SpeedLimiterNode

    with Harness(SpeedLimiterNode) as h:
        yield h


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_commands_never_exceed_the_caps(limiter, cases, data):
    cases['speed_limiter'] += 1
    start = len(limiter.out)
    limiter.set_clock(round(limiter.t + data.draw(st.floats(0.0, 0.3)), 6))
    for fields in data.draw(st.lists(command_fields(limiter.t), min_size=1, max_size=4)):
        publish_command(limiter, fields)
    sentinel(limiter)
    check_outputs(limiter, start, V_CAP, W_CAP)


def test_after_the_fuzzing_stale_commands_give_zero_within_timeout_plus_one_period(limiter):
    drive_until_moving(limiter)
    last = limiter.t
    start = len(limiter.out)
    limiter.advance(last + 0.5 + 0.05 + 0.02)
    zero = first_zero_after(limiter, start)
    assert zero is not None and zero <= last + 0.5 + 0.05 + 1e-6
    check_outputs(limiter, 0, V_CAP, W_CAP)
