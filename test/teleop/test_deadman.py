"""Joystick teleop core: deadman, centred-sticks rule, timeout, scaling, point turn, e-stop/reset."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_nav.teleop.deadman import JoyTeleopCore, TeleopConfig, TeleopState

CFG = TeleopConfig(max_linear_speed=0.05, max_angular_speed=0.1, point_turn_button=5)
N_AXES, N_BUTTONS = 8, 11


def joy(lin: float = 0.0, ang: float = 0.0, pressed: tuple[int, ...] = ()) -> tuple[list[float], list[int]]:
    axes = [0.0] * N_AXES
    axes[1], axes[0] = lin, ang
    buttons = [1 if i in pressed else 0 for i in range(N_BUTTONS)]
    return axes, buttons


def test_motion_only_while_enable_held_after_centred_press():
    core = JoyTeleopCore(CFG)
    assert core.output(0.0).state == TeleopState.NO_JOY
    core.on_joy(*joy(), now=0.0)
    core.on_joy(*joy(pressed=(4,)), now=0.1)               # press with centred sticks: armed
    core.on_joy(*joy(lin=1.0, pressed=(4,)), now=0.2)
    out = core.output(0.25)
    assert out.state == TeleopState.ACTIVE and out.linear == pytest.approx(0.05) and out.angular == 0.0
    core.on_joy(*joy(lin=1.0), now=0.3)                     # release: zero at once
    out = core.output(0.3)
    assert out.state == TeleopState.RELEASED and not out.moving


def test_press_with_deflected_stick_does_not_arm():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(lin=0.8), now=0.0)
    core.on_joy(*joy(lin=0.8, pressed=(4,)), now=0.1)      # lurch attempt
    assert core.output(0.1).state == TeleopState.REARM and not core.output(0.1).moving
    core.on_joy(*joy(lin=0.0, pressed=(4,)), now=0.2)      # centring while held is not enough
    core.on_joy(*joy(lin=0.5, pressed=(4,)), now=0.3)
    assert not core.output(0.3).moving
    core.on_joy(*joy(), now=0.4)                            # release, centre, press again
    core.on_joy(*joy(pressed=(4,)), now=0.5)
    core.on_joy(*joy(lin=0.5, pressed=(4,)), now=0.6)
    assert core.output(0.6).linear == pytest.approx(0.025)


def test_small_deflection_within_tolerance_arms():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(lin=0.05, ang=-0.09), now=0.0)
    core.on_joy(*joy(lin=0.05, ang=-0.09, pressed=(4,)), now=0.1)
    assert core.output(0.1).state == TeleopState.ACTIVE


def test_held_at_start_or_after_gap_needs_a_new_press():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(pressed=(4,)), now=0.0)                # first message already held: no press seen
    assert core.output(0.0).state == TeleopState.REARM
    core.on_joy(*joy(), now=0.1)
    core.on_joy(*joy(pressed=(4,)), now=0.2)
    assert core.output(0.2).state == TeleopState.ACTIVE
    core.on_joy(*joy(lin=1.0, pressed=(4,)), now=0.3)
    assert core.output(0.8).moving                          # 0.5 s old: still fresh
    out = core.output(0.81)
    assert out.state == TeleopState.STALE and not out.moving
    core.on_joy(*joy(lin=1.0, pressed=(4,)), now=1.0)       # joy comes back with everything held
    assert core.output(1.0).state == TeleopState.REARM


def test_clock_jump_back_is_stale():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(), now=10.0)
    core.on_joy(*joy(pressed=(4,)), now=10.1)
    assert core.output(10.1).state == TeleopState.ACTIVE
    assert core.output(5.0).state == TeleopState.STALE


def test_disconnect_neutral_message_stops_at_once():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(), now=0.0)
    core.on_joy(*joy(pressed=(4,)), now=0.1)
    core.on_joy(*joy(lin=-1.0, ang=1.0, pressed=(4,)), now=0.2)
    assert core.output(0.2).linear == pytest.approx(-0.05) and core.output(0.2).angular == pytest.approx(0.1)
    core.on_joy(*joy(), now=0.25)                           # the joystick driver's neutral message
    assert not core.output(0.25).moving


def test_invalid_messages_stop_and_are_reported():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(), now=0.0)
    core.on_joy(*joy(pressed=(4,)), now=0.1)
    axes, buttons = joy(lin=1.0, pressed=(4,))
    axes[3] = float('nan')
    actions = core.on_joy(axes, buttons, now=0.2)
    assert actions.rejected and 'non-finite' in actions.rejected
    assert core.output(0.2).state == TeleopState.INVALID
    assert core.on_joy([0.0], [0] * N_BUTTONS, now=0.3).rejected
    assert core.on_joy([0.0] * N_AXES, [0] * 4, now=0.4).rejected
    core.on_joy(*joy(lin=1.0, pressed=(4,)), now=0.5)       # valid again but held: no press
    assert core.output(0.5).state == TeleopState.REARM


def test_point_turn_and_inversion():
    core = JoyTeleopCore(TeleopConfig(max_linear_speed=0.05, max_angular_speed=0.1, point_turn_button=5,
                                      invert_angular=True))
    core.on_joy(*joy(), now=0.0)
    core.on_joy(*joy(pressed=(4,)), now=0.1)
    core.on_joy(*joy(lin=0.6, ang=0.5, pressed=(4,)), now=0.2)
    out = core.output(0.2)
    assert out.linear == pytest.approx(0.03) and out.angular == pytest.approx(-0.05)
    core.on_joy(*joy(lin=0.6, ang=0.5, pressed=(4, 5)), now=0.3)
    out = core.output(0.3)
    assert out.linear == 0.0 and out.angular == pytest.approx(-0.05)


def test_estop_and_reset_edges():
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(), now=0.0)
    core.on_joy(*joy(pressed=(4,)), now=0.1)
    actions = core.on_joy(*joy(pressed=(4, 1)), now=0.2)
    assert actions.estop and not actions.reset
    assert core.output(0.2).state == TeleopState.REARM      # e-stop also disarms the deadman
    assert not core.on_joy(*joy(pressed=(4, 1)), now=0.3).estop   # held: one request only
    assert core.on_joy(*joy(pressed=(7,)), now=0.4).reset
    assert not core.on_joy(*joy(pressed=(7,)), now=0.5).reset
    actions = core.on_joy(*joy(pressed=(1, 7)), now=2.0)     # after a gap: held e-stop fires, held reset not
    assert actions.estop and not actions.reset
    core2 = JoyTeleopCore(CFG)
    actions = core2.on_joy(*joy(pressed=(1, 7)), now=0.0)
    assert actions.estop and not actions.reset


@pytest.mark.parametrize(('kwargs', 'word'), [
    ({'max_linear_speed': 0.0}, 'max_linear_speed'),
    ({'joy_timeout': float('nan')}, 'joy_timeout'),
    ({'enable_button': -1}, 'enable_button'),
    ({'estop_button': 4}, 'must differ'),
    ({'axis_angular': 1}, 'axis_linear'),
    ({'centre_tolerance': 1.0}, 'centre_tolerance'),
])
def test_config_validation(kwargs, word):
    base = {'max_linear_speed': 0.05, 'max_angular_speed': 0.1}
    base.update(kwargs)
    with pytest.raises(ValueError, match=word):
        TeleopConfig(**base)


@given(lin=st.floats(-3.0, 3.0), ang=st.floats(-3.0, 3.0), held=st.booleans(), dt=st.floats(0.0, 2.0))
def test_output_never_exceeds_limits_and_needs_enable(lin, ang, held, dt):
    core = JoyTeleopCore(CFG)
    core.on_joy(*joy(), now=0.0)
    core.on_joy(*joy(pressed=(4,)), now=0.1)
    core.on_joy(*joy(lin=lin, ang=ang, pressed=(4,) if held else ()), now=0.2)
    out = core.output(0.2 + dt)
    assert abs(out.linear) <= CFG.max_linear_speed + 1e-12
    assert abs(out.angular) <= CFG.max_angular_speed + 1e-12
    if not held or dt > CFG.joy_timeout:
        assert not out.moving


@given(steps=st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.booleans()), min_size=1, max_size=30))
def test_never_moves_unless_a_centred_press_preceded(steps):
    """Property: any motion is preceded (since the last release) by a press with centred sticks."""
    core = JoyTeleopCore(CFG)
    t = 0.0
    armed_legally = False
    prev_held = True  # treat the start as "held" so the first held message is not a press
    for lin, ang, held in steps:
        t += 0.05
        if held and not prev_held:
            armed_legally = abs(lin) <= CFG.centre_tolerance and abs(ang) <= CFG.centre_tolerance
        if not held:
            armed_legally = False
        core.on_joy(*joy(lin=lin, ang=ang, pressed=(4,) if held else ()), now=t)
        if core.output(t).moving:
            assert armed_legally
        prev_held = held
