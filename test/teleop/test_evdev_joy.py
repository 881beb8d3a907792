"""evdev -> Joy core: joydev order, joy_linux signs, dead zone, frames, SYN_DROPPED, recordings."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_nav.teleop.evdev_joy import (
    EV_ABS,
    EV_KEY,
    EV_SYN,
    SYN_REPORT,
    AxisInfo,
    EvdevJoyMapper,
    joydev_axis_order,
    joydev_button_order,
    normalize_axis,
)
from rover_nav.teleop.evtest_format import parse_evtest

DATA = Path(__file__).resolve().parent / 'data'
STICK = AxisInfo(code=0, minimum=-32768, maximum=32767, flat=128)
TRIGGER = AxisInfo(code=2, minimum=0, maximum=255)
HAT = AxisInfo(code=16, minimum=-1, maximum=1)


def replay(name: str, deadzone: float = 0.05) -> tuple[EvdevJoyMapper, list]:
    """Feed a recording through a mapper; returns it and the published frames."""
    info, events = parse_evtest((DATA / name).read_text())
    mapper = EvdevJoyMapper(info.axes, info.key_codes, deadzone)
    frames = [(mapper.axes, mapper.buttons)]  # the state published on connect
    for ev in events:
        if mapper.feed(ev.type, ev.code, ev.value):
            frames.append((mapper.axes, mapper.buttons))
    return mapper, frames


def test_button_order_is_joydev_order():
    # joydev lists BTN_JOYSTICK..KEY_MAX first, then BTN_MISC..BTN_JOYSTICK-1; keyboard keys are not buttons.
    codes = [0x130, 0x101, 0x131, 0x2C0, 0x100, 0x120, 30, 0x13B]
    assert joydev_button_order(codes) == (0x120, 0x130, 0x131, 0x13B, 0x2C0, 0x100, 0x101)


def test_axis_order_by_code_and_duplicates_rejected():
    axes = [AxisInfo(17, -1, 1), AxisInfo(0, 0, 255), AxisInfo(5, 0, 255)]
    assert [a.code for a in joydev_axis_order(axes)] == [0, 5, 17]
    with pytest.raises(ValueError, match='duplicate'):
        joydev_axis_order([AxisInfo(0, 0, 1), AxisInfo(0, 0, 2)])


@pytest.mark.parametrize(('value', 'expected'), [
    (-32768, 1.0),     # stick fully up/left -> +1 (joy convention)
    (32767, -1.0),
    (0, 0.0),
    (1500, 0.0),       # inside the 5 % dead zone
])
def test_stick_scaling_and_sign(value, expected):
    assert normalize_axis(value, STICK, 0.05) == pytest.approx(expected, abs=1e-9)


def test_deadzone_is_rescaled_not_a_jump():
    just_outside = normalize_axis(int(-0.0501 * 32767.5), STICK, 0.05)
    assert 0.0 < just_outside < 0.001
    half = normalize_axis(-16384, STICK, 0.05)
    assert half == pytest.approx((0.5 - 0.05) / 0.95, abs=1e-4)


def test_trigger_and_hat_follow_joy_linux():
    assert normalize_axis(0, TRIGGER, 0.05) == 1.0      # released trigger reads +1
    assert normalize_axis(255, TRIGGER, 0.05) == -1.0   # fully pulled reads -1
    assert normalize_axis(-1, HAT, 0.05) == 1.0         # d-pad left = +1
    assert normalize_axis(1, HAT, 0.05) == -1.0


def test_device_flat_band_widens_the_deadzone():
    wide = AxisInfo(code=1, minimum=0, maximum=255, flat=15)
    assert normalize_axis(140, wide, 0.0) == 0.0        # 0.098 of half range < flat 0.118
    assert normalize_axis(200, wide, 0.0) < 0.0


@given(value=st.integers(-40000, 40000), deadzone=st.floats(0.0, 0.9))
def test_axis_value_bounded_and_odd(value, deadzone):
    out = normalize_axis(value, AxisInfo(code=0, minimum=-32767, maximum=32767), deadzone)
    assert -1.0 <= out <= 1.0
    mirrored = normalize_axis(-value, AxisInfo(code=0, minimum=-32767, maximum=32767), deadzone)
    assert out == pytest.approx(-mirrored, abs=1e-12)


@given(a=st.integers(-32768, 32767), b=st.integers(-32768, 32767))
def test_axis_monotonic(a, b):
    lo, hi = sorted((a, b))
    assert normalize_axis(lo, STICK, 0.1) >= normalize_axis(hi, STICK, 0.1)


def test_frame_published_only_on_syn_report_with_change():
    m = EvdevJoyMapper([STICK], [0x130], 0.05)
    assert m.feed(EV_ABS, 0, -32768) is False           # not yet: frame open
    assert m.feed(EV_SYN, SYN_REPORT, 0) is True
    assert m.axes == (1.0,)
    m.feed(EV_ABS, 0, -32768)
    assert m.feed(EV_SYN, SYN_REPORT, 0) is False       # same value: nothing new
    m.feed(EV_KEY, 0x130, 2)                            # key autorepeat counts as pressed
    assert m.feed(EV_SYN, SYN_REPORT, 0) is True
    assert m.buttons == (1,)
    m.feed(EV_KEY, 0x999 % 0x200, 1)                    # a code the pad does not have
    m.feed(4, 4, 0x90001)                               # EV_MSC scan code
    assert m.feed(EV_SYN, SYN_REPORT, 0) is False


def test_bad_inputs_rejected():
    with pytest.raises(ValueError, match='deadzone'):
        EvdevJoyMapper([STICK], [], 1.0)
    m = EvdevJoyMapper([STICK], [], 0.0)
    with pytest.raises(ValueError, match='value'):
        m.feed(EV_ABS, 0, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='code'):
        AxisInfo(code=99, minimum=0, maximum=1)


def test_xbox_recording_to_joy_frames():
    mapper, frames = replay('xbox360_drive.evtest')
    assert len(mapper.axes) == 8 and len(mapper.buttons) == 11
    start_axes, start_buttons = frames[0]
    assert start_axes == (0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0)   # noise inside the dead band, triggers up
    assert start_buttons == (0,) * 11
    # frame 1: LB down -> button 4 (joydev order: A B X Y LB RB Back Start Guide L3 R3)
    assert frames[1][1][4] == 1 and sum(frames[1][1]) == 1
    # the ABS_X noise frame (310 < dead band) produced no frame
    assert frames[1][0] == start_axes
    assert frames[2][0][1] == pytest.approx((12000 / 32767.5 - 0.05) / 0.95, abs=1e-3)
    assert frames[3][0][1] == 1.0                                    # full up = +1 forward
    assert frames[4][0][0] == pytest.approx(0.4737, abs=1e-3)        # half left = +0.47 (turn left)
    assert frames[5][0][2] == -1.0                                   # LT pulled
    assert frames[6][0][6] == 1.0                                    # d-pad left
    assert frames[7][1][4] == 0 and frames[7][0][6] == 0.0           # LB up and d-pad back in one frame
    assert len(frames) == 8                                          # the dropped frame published nothing
    assert mapper.needs_resync
    assert mapper.axes[0] == pytest.approx(0.4737, abs=1e-3)         # ABS_X after SYN_DROPPED was ignored
    assert mapper.resync({1: 0, 0: 0}, []) is True
    assert mapper.axes[:2] == (0.0, 0.0) and not mapper.needs_resync


def test_ds4_recording_to_joy_frames():
    mapper, frames = replay('ds4_drive.evtest')
    assert len(mapper.axes) == 8 and len(mapper.buttons) == 13
    assert frames[0][0][:2] == (0.0, 0.0)       # 128/127 centre of a 0..255 stick reads 0
    assert frames[1][1][4] == 1                 # L1
    assert frames[2][0][1] == 1.0               # left stick forward (raw 0) = +1
    assert frames[3][0][3] == -1.0              # right stick right = -1
    assert frames[4][1][9] == 1                 # options = button 9
    assert frames[5][1][1] == 1                 # circle = button 1
    assert frames[6] == ((0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0), (0,) * 13)


def test_f710_dinput_recording_to_joy_frames():
    mapper, frames = replay('f710_dinput.evtest')
    assert len(mapper.axes) == 6 and len(mapper.buttons) == 12
    assert frames[1][1][4] == 1                 # LB = BTN_TOP2 = button 4
    assert frames[2][0][1] < -0.4               # left stick half back
    assert frames[3][1][2] == 1                 # B = BTN_THUMB2 = button 2


def test_neutral_frame_shape():
    mapper, _ = replay('xbox360_drive.evtest')
    axes, buttons = mapper.neutral()
    assert axes == (0.0,) * 8 and buttons == (0,) * 11
