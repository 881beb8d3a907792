"""Speed limiter core: caps, curvature, ramps, watchdog, non-finite input (pure, no ROS)."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st
import pytest

from rover_nav.safety.command import ZERO, cap_preserving_curvature, same_sign
from rover_nav.safety.limiter import LimiterConfig, SpeedLimiter

CFG = LimiterConfig(max_linear_speed=0.0559, max_angular_speed=0.1, max_linear_accel=0.05,
                    max_linear_decel=0.1, command_timeout=0.5)
speeds = st.floats(-1e3, 1e3, allow_nan=False)
dts = st.floats(0.0, 0.6)
commands = st.lists(st.tuples(speeds, speeds, dts), min_size=1, max_size=20)
# curvature is only meaningful above the float underflow: |v|, |w| of 0 or >= 1e-12
physical = speeds.filter(lambda x: x == 0.0 or abs(x) >= 1e-12)
physical_commands = st.lists(st.tuples(physical, physical, dts), min_size=1, max_size=20)
configs = st.builds(LimiterConfig, st.floats(0.0, 2.0), st.floats(0.0, 2.0), st.floats(1e-3, 10.0),
                    st.floats(1e-3, 10.0), st.floats(0.01, 2.0))


def run(limiter: SpeedLimiter, seq, t0: float = 100.0):
    t = t0
    outs = []
    for v, w, dt in seq:
        t += dt
        outs.append((v, w, limiter.command(v, w, t)))
    return outs


@settings(max_examples=2000, deadline=None)
@given(configs, commands)
def test_output_never_exceeds_caps(cfg, seq):
    limiter = SpeedLimiter(cfg)
    for _, _, out in run(limiter, seq):
        assert abs(out.v) <= cfg.max_linear_speed
        assert abs(out.w) <= cfg.max_angular_speed


@settings(max_examples=2000, deadline=None)
@given(physical_commands)
def test_curvature_is_preserved(seq):
    """An output moving the way its target asks is on the target's arc: w_out v_in = w_in v_out."""
    limiter = SpeedLimiter(CFG)
    prev = ZERO
    for v, w, out in run(limiter, seq):
        if same_sign(out.v, v):
            assert out.w * v == pytest.approx(w * out.v, rel=1e-9, abs=1e-12)
        elif out.v != 0.0:  # slowing against the target: stays on the arc it was on
            assert prev.v != 0.0
            assert out.w * prev.v == pytest.approx(prev.w * out.v, rel=1e-9, abs=1e-12)
        prev = out


@settings(max_examples=2000, deadline=None)
@given(commands)
@example([(0.0, 0.0, 0.0), (1.0, 0.0, 0.5), (5e-324, 2.225073858507e-311, 0.0)])  # w_max / |w| overflowed to inf
def test_ramps_bound_the_change_of_v(seq):
    limiter = SpeedLimiter(CFG)
    prev_v, prev_t = 0.0, None
    t = 100.0
    for v, w, dt in seq:
        t += dt
        out = limiter.command(v, w, t)
        step = 0.0 if prev_t is None else min(t - prev_t, CFG.command_timeout)
        change = abs(out.v) - abs(prev_v)
        assert not same_sign(-out.v, prev_v), 'one step crossed zero'
        assert change <= CFG.max_linear_accel * step + 1e-12
        if abs(out.w) < CFG.max_angular_speed:  # at the angular cap the arc's v may drop faster (a cap)
            assert -change <= CFG.max_linear_decel * step + 1e-12
        prev_v, prev_t = out.v, t


@settings(max_examples=2000, deadline=None)
@given(commands, st.sampled_from(['v', 'w', 'now']), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_non_finite_input_is_rejected_and_never_moves(seq, where, bad):
    limiter = SpeedLimiter(CFG)
    run(limiter, seq)
    before = limiter.output
    args = {'v': 0.03, 'w': 0.01, 'now': 200.0}
    args[where] = bad
    with pytest.raises(ValueError, match=where):
        limiter.command(**args)
    assert limiter.output == before  # state untouched: the shell publishes nothing


def test_cap_scales_both_components_together():
    out = cap_preserving_curvature(0.2, 0.2, 0.0559, 0.1)
    assert out.v == pytest.approx(0.0559)
    assert out.w == pytest.approx(0.0559)
    out = cap_preserving_curvature(0.01, 1.0, 0.0559, 0.1)
    assert (out.v, out.w) == pytest.approx((0.001, 0.1))
    assert cap_preserving_curvature(0.0, -3.0, 0.0559, 0.1).w == pytest.approx(-0.1)


def test_accelerates_at_the_ramp_and_reaches_the_cap():
    limiter = SpeedLimiter(CFG)
    assert limiter.command(1.0, 0.0, 10.0) == ZERO  # first command from rest sets the target only
    out = limiter.command(1.0, 0.0, 10.1)
    assert out.v == pytest.approx(0.005)
    t = 10.1
    for _ in range(20):
        t += 0.1
        out = limiter.command(1.0, 0.0, t)
    assert out.v == pytest.approx(0.0559)


def test_reversal_decelerates_to_zero_first():
    limiter = SpeedLimiter(CFG)
    t = 0.0
    for _ in range(30):
        t += 0.1
        limiter.command(0.0559, 0.05, t)
    out = limiter.command(-0.0559, 0.0, t + 0.1)
    assert out.v == pytest.approx(0.0459)
    assert out.w / out.v == pytest.approx(0.05 / 0.0559)  # still on the old arc while slowing
    out = limiter.command(-0.0559, 0.0, t + 0.2)
    out = limiter.command(-0.0559, 0.0, t + 0.3)
    assert out.v == pytest.approx(0.0259)
    out = limiter.command(-0.0559, 0.0, t + 0.6)  # reaches zero, does not cross it
    assert out.v == 0.0
    assert limiter.command(-0.0559, 0.0, t + 0.7).v == pytest.approx(-0.005)


def test_point_turn_waits_for_rest_then_turns():
    limiter = SpeedLimiter(CFG)
    t = 0.0
    for _ in range(30):
        t += 0.1
        limiter.command(0.05, 0.0, t)
    out = limiter.command(0.0, 0.1, t + 0.1)
    assert out.v > 0.0 and out.w == 0.0  # straight while slowing down
    out = limiter.command(0.0, 0.1, t + 1.0)
    assert out == type(out)(0.0, 0.1)


def test_timeout_steps_to_zero_at_once_and_keeps_publishing_zero():
    limiter = SpeedLimiter(CFG)
    assert limiter.tick(0.0).output == ZERO  # nothing received yet: zero, but no timeout event
    assert not limiter.tick(0.0).timed_out_now
    t = 0.0
    for _ in range(30):
        t += 0.1
        limiter.command(0.05, 0.0, t)
    assert limiter.tick(t + 0.4).output is None  # fresh: the commands themselves drive the output
    first = limiter.tick(t + 0.51)
    assert first.output == ZERO and first.timed_out_now
    again = limiter.tick(t + 0.6)
    assert again.output == ZERO and not again.timed_out_now
    assert limiter.output == ZERO
    assert limiter.command(0.05, 0.0, t + 0.7) == ZERO  # from rest again: ramps up, no jump


def test_clock_jumping_back_times_out():
    limiter = SpeedLimiter(CFG)
    limiter.command(0.05, 0.0, 100.0)
    assert limiter.tick(5.0).timed_out_now


def test_lowering_a_cap_at_runtime_lowers_the_output_at_once():
    limiter = SpeedLimiter(CFG)
    t = 0.0
    for _ in range(30):
        t += 0.1
        limiter.command(0.05, 0.05, t)
    limiter.configure(LimiterConfig(0.01, 0.1, 0.05, 0.1, 0.5))
    assert abs(limiter.output.v) <= 0.01
    assert limiter.output.w == pytest.approx(limiter.output.v)


@pytest.mark.parametrize('field', ['max_linear_speed', 'command_timeout'])
def test_config_rejects_bad_values_naming_them(field):
    values = dict(max_linear_speed=0.05, max_angular_speed=0.1, max_linear_accel=0.05, max_linear_decel=0.1,
                  command_timeout=0.5)
    values[field] = -1.0
    with pytest.raises(ValueError, match=field):
        LimiterConfig(**values)
    values[field] = math.nan
    with pytest.raises(ValueError, match=field):
        LimiterConfig(**values)
