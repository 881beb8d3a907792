"""slope_guard under fuzzed IMU orientations, clouds and commands over DDS: it survives, never raises a
speed, and a stale IMU gives zero within imu_timeout + one watchdog period (judged on stamps)."""

from __future__ import annotations

from fuzz.chain_fuzz import (
    FUZZ_SETTINGS,
    check_outputs,
    clouds,
    drive_until_moving,
    first_zero_after,
    fuzz_guard_once,
    imus,
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

    with Harness(SlopeGuardNode, {'tilt_filter_time': 0.0}) as h:
        yield h


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_imu_clouds_and_commands(slope, cases, data):
    cases['slope_guard'] += 1
    # a valid level sample now and then, so commands also pass (and are checked)
    fuzz_guard_once(slope, data, slope.imu, [(imus, slope.imu_pub, 3), (clouds, slope.cloud_pub, 1)])


def test_after_the_fuzzing_a_stale_imu_gives_zero_within_timeout_plus_one_period(slope):
    drive_until_moving(slope, feed=slope.imu)
    last_imu = slope.t
    start = len(slope.out)
    slope.advance(last_imu + IMU_TIMEOUT + WATCHDOG + 0.02)
    zero = first_zero_after(slope, start)
    assert zero is not None and zero <= last_imu + IMU_TIMEOUT + WATCHDOG + 1e-6
    check_outputs(slope, 0)
