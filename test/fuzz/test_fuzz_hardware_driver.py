"""hardware_driver (RoboClaw emulator on a pty) under fuzzed joint_commands over DDS, on simulated
time: it survives, never sends a wheel speed above the description's hard wheel speed (even with
max_wheel_speed set above it), and stale commands stop every motor within joint_command_timeout + one
control period (judged on the sim clock)."""

from __future__ import annotations

from dataclasses import replace
import struct

from fuzz.chain_fuzz import FUZZ_SETTINGS
from fuzz.strategies import joint_state_fields, stamp_near
from hardware.board_fixtures import hobby_geometry
from hardware.test_driver_node import PERIOD_NS, START_NS, Rig, forward
from helpers.node_bench import count_callbacks
from hypothesis import given
from hypothesis import strategies as st
import pytest
from sensor_msgs.msg import JointState

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS, load_geometry
from rover_nav.hardware.roboclaw_protocol import Cmd

pytestmark = pytest.mark.ros
HARD = load_geometry('hobby').limits
TIMEOUT_S = 0.5


@pytest.fixture(scope='module')
def rig():
    from rover_nav.hardware.devices import Emulation

    emulation = Emulation()
    r = None
    try:
        r = Rig(emulation, True, max_wheel_speed=5.0, joint_command_timeout=TIMEOUT_S)
        r.node._geometry = replace(hobby_geometry(), limits=HARD)  # the description's ratings
        r.ns_ns = START_NS
        r.set_clock(r.ns_ns)
        from rclpy.lifecycle import TransitionCallbackReturn

        assert r.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert r.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        r.taken = count_callbacks(r.node, 'joint_commands')
        r.wait(lambda: r.commands.get_subscription_count() >= 1, 'driver subscribed')
        yield r
    finally:
        if r is not None:
            r.close()
        emulation.close()


def tick(r: Rig, n: int = 1) -> None:
    for _ in range(n):
        r.ns_ns += PERIOD_NS
        r.set_clock(r.ns_ns)


def cap_qpps(r: Rig) -> float:
    wm = r.node.core.wheel_map
    return wm.max_wheel_rad_s * wm.counts_per_rad()


def speed_frames(r: Rig) -> list[tuple[int, int]]:
    return [struct.unpack('>ii', f.payload[:8]) for f in r.emulation.emulator.frames_of(Cmd.DRIVE_M1M2_SPEED)]


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_joint_commands_never_exceed_the_hard_wheel_speed(rig, cases, data):
    cases['hardware_driver'] += 1
    assert rig.node.core.wheel_map.max_wheel_rad_s * hobby_geometry().wheel_radius <= HARD.wheel_speed + 1e-12
    before = len(rig.taken)
    for names, position, velocity, _ in data.draw(st.lists(joint_state_fields((*WHEEL_JOINTS, *STEER_JOINTS)),
                                                           min_size=1, max_size=2)):
        msg = JointState(name=names, position=position, velocity=velocity)
        msg.header.stamp.sec, msg.header.stamp.nanosec = data.draw(stamp_near(rig.ns_ns * 1e-9))
        rig.commands.publish(msg)
    rig.wait(lambda: len(rig.taken) > before, 'the driver to take a command')
    tick(rig)
    cap = cap_qpps(rig) + 1.0  # one count of rounding
    assert all(abs(m1) <= cap and abs(m2) <= cap for m1, m2 in speed_frames(rig))


def test_after_the_fuzzing_stale_commands_stop_every_motor_within_timeout_plus_one_period(rig):
    for _ in range(40):  # drive again (fresh, valid, stamped now)
        before = len(rig.taken)
        rig.commands.publish(forward(rig.ns_ns, rad_s=100.0))  # far above the cap: capped, still moving
        rig.wait(lambda n=before: len(rig.taken) > n, 'the driver to take a command')
        tick(rig)
        if rig.moving():
            break
    assert rig.moving()
    last_ns = rig.ns_ns
    stopped_at = None
    while rig.ns_ns < last_ns + int((TIMEOUT_S + 0.2) * 1e9):
        tick(rig)
        if stopped_at is None and rig.emulation.emulator.all_stopped():
            stopped_at = rig.ns_ns
    assert stopped_at is not None and stopped_at <= last_ns + int(TIMEOUT_S * 1e9) + PERIOD_NS
    cap = cap_qpps(rig) + 1.0
    assert all(abs(m1) <= cap and abs(m2) <= cap for m1, m2 in speed_frames(rig))
