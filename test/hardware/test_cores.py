"""Pure cores: wheel mapping, encoder unwrap, watchdog, battery, e-stop latch, steering, commands."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rover_nav.hardware.battery import BatteryMonitor
from rover_nav.hardware.driver_core import parse_joint_command
from rover_nav.hardware.estop import EstopLatch
from rover_nav.hardware.steering import ServoCalibration, SteeringModel
from rover_nav.hardware.wheel_map import WHEEL_ORDER, EncoderTracker, WheelMap, build_channels, unwrap_delta
from rover_nav.runtime.params import ConfigError
from rover_nav.runtime.watchdog import Watchdog

CHANNELS = ['130:M2', '130:M1', '129:M2', '128:M1', '128:M2', '129:M1']
DIRECTIONS = [1, 1, 1, -1, -1, -1]
ADDRESSES = [128, 129, 130]


def wheel_map(cpr: float = 3591.84, max_rad_s: float = 1.0) -> WheelMap:
    return WheelMap(build_channels(CHANNELS, DIRECTIONS, ADDRESSES), cpr, max_rad_s)


speeds = st.dictionaries(st.sampled_from(WHEEL_ORDER), st.floats(-50, 50, allow_nan=False), min_size=0, max_size=6)


@given(speeds, st.floats(0.01, 10.0))
def test_limit_never_exceeds_and_keeps_ratios(cmd, max_rad_s):
    wm = wheel_map(max_rad_s=max_rad_s)
    limited, factor = wm.limit(cmd)
    assert all(abs(v) <= max_rad_s * (1 + 1e-9) for v in limited.values())
    assert 0 < factor <= 1.0
    for wheel in WHEEL_ORDER:
        assert limited[wheel] == pytest.approx(cmd.get(wheel, 0.0) * factor)


def test_missing_and_nan_wheels_stop():
    limited, _ = wheel_map().limit({'fl': math.nan, 'ml': 0.5})
    assert limited['fl'] == 0.0 and limited['ml'] == 0.5 and limited['rr'] == 0.0


def test_infinite_speed_rejected():
    with pytest.raises(ValueError):
        wheel_map().limit({'fl': math.inf})


def test_controller_speeds_respect_channels_and_directions():
    wm = wheel_map(cpr=2 * math.pi * 100)  # 100 counts per rad
    out = wm.controller_speeds({'fl': 0.5, 'ml': 0.4, 'rl': 0.3, 'fr': 0.2, 'mr': 0.1, 'rr': -0.1})
    assert out == {130: (40, 50), 129: (10, 30), 128: (-20, -10)}


@given(st.sampled_from(WHEEL_ORDER), st.floats(-1.0, 1.0))
def test_qpps_and_measured_speed_invert(wheel, rad_s):
    wm = wheel_map()
    assert wm.wheel_rad_s(wheel, wm.qpps(wheel, rad_s)) == pytest.approx(rad_s, abs=1.0 / wm.counts_per_rad())


@pytest.mark.parametrize('channels, directions, key', [
    (CHANNELS[:5], DIRECTIONS, 'wheel_channels'),
    (['128:M1'] * 6, DIRECTIONS, 'used twice'),
    (['131:M1', *CHANNELS[1:]], DIRECTIONS, 'roboclaw_addresses'),
    (['128:M3', *CHANNELS[1:]], DIRECTIONS, 'wheel_channels'),
    (['frontleft', *CHANNELS[1:]], DIRECTIONS, 'wheel_channels'),
    (CHANNELS, [1, 1, 0, -1, -1, -1], 'wheel_directions'),
])
def test_bad_channel_config_names_the_key(channels, directions, key):
    with pytest.raises(ConfigError, match=key):
        build_channels(channels, directions, ADDRESSES)


@given(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**30), 2**30))
def test_unwrap_delta_across_the_32_bit_wrap(start, delta):
    raw_end = ((start + delta + 2**31) % 2**32) - 2**31
    assert unwrap_delta(start, raw_end) == delta


def test_encoder_tracker_unwraps():
    tracker = EncoderTracker()
    assert tracker.update('fl', 2**31 - 10) == 0
    assert tracker.update('fl', -(2**31) + 5) == 15
    assert tracker.update('fl', -(2**31) - 0 + 0) == 10


# -- watchdog -----------------------------------------------------------------------------------

events = st.lists(st.tuples(st.floats(0.0, 0.3), st.sampled_from(['cmd', 'fault', 'clear', 'tick'])),
                  min_size=1, max_size=40)


@settings(max_examples=300)
@given(events, st.floats(0.1, 1.0))
def test_watchdog_allows_only_fresh_commands_after_faults(sequence, timeout):
    dog = Watchdog(timeout)
    now = 0.0
    last_cmd = None
    fault_present = False
    fault_seen = -math.inf
    for dt, what in sequence:
        now += dt
        if what == 'cmd':
            dog.command(now)
            last_cmd = now
        elif what == 'fault':
            dog.raise_fault(now, 'serial')
            fault_present, fault_seen = True, now
        elif what == 'clear':
            dog.clear_fault(now, 'serial')
            if fault_present:
                fault_seen = now
            fault_present = False
        decision = dog.decide(now)
        expected = (not fault_present and last_cmd is not None and now - last_cmd <= timeout
                    and last_cmd >= fault_seen)
        assert decision.allowed == expected
        assert decision.allowed == (not decision.reasons)


def test_watchdog_stops_at_timeout_and_restarts_on_a_fresh_command():
    dog = Watchdog(0.5)
    assert dog.decide(0.0).reasons == ('no_command',)
    dog.command(1.0)
    assert dog.decide(1.5).allowed
    assert dog.decide(1.51).reasons == ('command_timeout',)
    dog.command(2.0)
    assert dog.decide(2.0).allowed


def test_watchdog_treats_a_command_from_the_future_as_stale():
    """A node clock that jumped back (a restarted simulator's /clock) must not keep a command fresh."""
    dog = Watchdog(0.5)
    dog.command(10.0)
    assert dog.decide(9.9).reasons == ('command_timeout',)
    assert dog.decide(10.2).allowed


def test_watchdog_fault_needs_a_command_after_it_cleared():
    dog = Watchdog(0.5)
    dog.command(1.0)
    dog.raise_fault(1.1, 'estop')
    assert dog.decide(1.2).reasons == ('estop',)
    dog.clear_fault(1.3, 'estop')
    assert dog.decide(1.35).reasons == ('waiting_for_fresh_command',)
    dog.command(1.4)
    assert dog.decide(1.4).allowed


# -- battery, e-stop ------------------------------------------------------------------------------

def test_battery_hysteresis_and_filter():
    mon = BatteryMonitor(13.2, 13.8, tau_s=2.0)
    assert mon.update(0.0, 14.8) and not mon.low
    mon.update(0.1, 12.0)  # a brief sag under load: filtered away
    assert not mon.low
    for i in range(2, 200):
        mon.update(i * 0.1, 12.0)
    assert mon.low
    for i in range(200, 230):
        mon.update(i * 0.1, 13.5)
    assert mon.low  # between low and resume: stays low
    for i in range(230, 400):
        mon.update(i * 0.1, 14.5)
    assert not mon.low


@pytest.mark.parametrize('volts', [math.nan, math.inf, 0.0, -3.0])
def test_battery_rejects_nonsense(volts):
    mon = BatteryMonitor(13.2, 13.8, 1.0)
    assert not mon.update(0.0, volts)
    assert mon.voltage is None


def test_estop_latch_needs_release_then_reset():
    latch = EstopLatch()
    assert latch.switch(True)
    assert not latch.switch(True)  # already latched
    ok, message = latch.reset()
    assert not ok and 'still open' in message
    latch.switch(False)
    assert latch.latched  # releasing the switch does not restart anything
    assert latch.reset() == (True, 'e-stop reset')
    assert not latch.latched


# -- steering -------------------------------------------------------------------------------------

def test_servo_calibration_interpolates_and_clamps():
    limits = (-math.radians(40), math.radians(40))
    cal = ServoCalibration.from_points('fl', [[-45, 1000], [0, 1500], [45, 2000]], limits)
    assert cal.pulse_us(0.0) == pytest.approx(1500)
    assert cal.pulse_us(math.radians(22.5)) == pytest.approx(1750)
    assert cal.pulse_us(math.radians(80)) == pytest.approx(1500 + 500 * 40 / 45)


@given(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_servo_pulse_is_monotonic_and_in_range(a, b):
    cal = ServoCalibration.from_points('rl', [[-45, 2000], [-10, 1620], [0, 1510], [45, 1000]])
    lo, hi = sorted((a, b))
    assert cal.pulse_us(lo) >= cal.pulse_us(hi)  # mirrored servo: pulse falls with angle
    assert 1000 <= cal.pulse_us(a) <= 2000


@pytest.mark.parametrize('points, match', [
    ([[0, 1500]], 'two points'),
    ([[10, 1500], [0, 1600]], 'increase'),
    ([[-10, 1400], [0, 1500], [10, 1450]], 'monotonic'),
    ([[-10, 400], [10, 1500]], 'within'),
    ([[5, 1400], [20, 1500]], 'neutral'),
    ('nonsense', 'points'),
])
def test_bad_calibration_rejected(points, match):
    with pytest.raises(ConfigError, match=match):
        ServoCalibration.from_points('fr', points)


@given(st.lists(st.tuples(st.floats(-1, 1), st.floats(0.001, 0.2)), min_size=1, max_size=30), st.floats(0.5, 8.0))
def test_steering_model_never_exceeds_its_rate(steps, rate):
    model = SteeringModel(rate)
    for target, dt in steps:
        before = model.angle
        model.command(target)
        model.advance(dt)
        assert abs(model.angle - before) <= rate * dt + 1e-12
        assert min(before, target) - 1e-12 <= model.angle <= max(before, target) + 1e-12


# -- /joint_commands parsing -----------------------------------------------------------------------

NAMES = [f'wheel_{n}_joint' for n in WHEEL_ORDER] + [f'steer_{n}_joint' for n in ('fl', 'rl', 'fr', 'rr')]


def test_joint_command_spec_format():
    cmd = parse_joint_command(NAMES, [math.nan] * 6 + [0.1, 0.2, math.nan, -0.1],
                              [0.5] * 5 + [math.nan] + [math.nan] * 4)
    assert cmd.wheel_rad_s == {'fl': 0.5, 'ml': 0.5, 'rl': 0.5, 'fr': 0.5, 'mr': 0.5}
    assert cmd.steer_rad == {'fl': 0.1, 'rl': 0.2, 'rr': -0.1}


@pytest.mark.parametrize('positions, velocities', [
    ([0.0] * 10, [0.0] * 9),
    ([0.0] * 3, [0.0] * 10),
    ([0.0] * 10, [math.inf] + [0.0] * 9),
    ([0.0] * 6 + [-math.inf, 0.0, 0.0, 0.0], [0.0] * 10),
])
def test_malformed_joint_commands_rejected(positions, velocities):
    with pytest.raises(ValueError):
        parse_joint_command(NAMES, positions, velocities)
