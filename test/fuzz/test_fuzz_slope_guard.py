"""slope_guard under fuzzed IMU orientations, clouds and commands over DDS: it survives, never raises a
speed, and a stale IMU gives zero within imu_timeout + one watchdog period (judged on stamps)."""

from __future__ import annotations

from fuzz.chain_fuzz import (
    FUZZ_SETTINGS,
    check_never_raises,
    check_outputs,
    clouds,
    command_fields,
    drive_until_moving,
    first_zero_after,
    imus,
    sentinel,
    tagged_commands,
)
from hypothesis import given
from hypothesis import strategies as st
import pytest
from safety.harness import Harness

pytestmark = pytest.mark.ros
IMU_TIMEOUT, WATCHDOG = 0.5, 0.1


@pytest.fixture(scope='module')
def slope():
    from rover_nav.safety.slope_guard_node import SlopeGuardNode

    h = Harness(SlopeGuardNode, {'tilt_filter_time': 0.0})
    try:
        yield h
    finally:
        h.close()


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_imu_clouds_and_commands(slope, cases, data):
    cases['slope_guard'] += 1
    start = len(slope.out)
    slope.set_clock(round(slope.t + data.draw(st.floats(0.0, 0.3)), 6))
    if data.draw(st.booleans()):
        slope.imu()  # a valid level sample now and then, so commands also pass (and are checked)
    for msg in data.draw(st.lists(imus(slope.t), max_size=3)):
        slope.imu_pub.publish(msg)
    for msg in data.draw(st.lists(clouds(slope.t), max_size=1)):
        slope.cloud_pub.publish(msg)
    sent = tagged_commands(slope, data.draw(st.lists(command_fields(slope.t), min_size=1, max_size=3)))
    sentinel(slope)
    check_never_raises(slope, start, sent)


def test_after_the_fuzzing_a_stale_imu_gives_zero_within_timeout_plus_one_period(slope):
    drive_until_moving(slope, feed=slope.imu)
    last_imu = slope.t
    start = len(slope.out)
    slope.advance(last_imu + IMU_TIMEOUT + WATCHDOG + 0.02)
    zero = first_zero_after(slope, start)
    assert zero is not None and zero <= last_imu + IMU_TIMEOUT + WATCHDOG + 1e-6
    check_outputs(slope, 0)
