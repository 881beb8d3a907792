"""`joy_teleop` over real DDS: deadman with the centred-sticks rule, scaling, timeout, disconnect, e-stop/reset.

The probe plays the joystick (publishes sensor_msgs/Joy on `joy`) and reads `teleop/cmd_vel`.
Assertions are on message content and order; the only time check is a lower bound (a stale
stop never comes before `joy_timeout`), which load cannot break.
"""

from __future__ import annotations

import sys

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Joy
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from rover_description.paths import data_file
from rover_nav.runtime import qos
from rover_nav.runtime.checks import stamp_seconds
from rover_nav.teleop.joy_teleop_node import JoyTeleop

pytestmark = pytest.mark.ros
DEEP = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)  # keep every command the node sends
LB, B, START, RB = 4, 1, 7, 5
BASE = {'max_linear_speed': 0.05, 'max_angular_speed': 0.1, 'publish_rate': 20.0}


class Pad:
    """The probe acting as a joystick driver (xbox layout, joydev order)."""

    def __init__(self, probe, n_axes: int = 8, n_buttons: int = 11, axis_lin: int = 1, axis_ang: int = 0) -> None:
        self.probe = probe
        self.pub = probe.publisher('joy', Joy, qos.JOY)
        self.n_axes, self.n_buttons = n_axes, n_buttons
        self.axis_lin, self.axis_ang = axis_lin, axis_ang
        self.last_stamp = 0.0

    def msg(self, lin: float = 0.0, ang: float = 0.0, pressed: tuple[int, ...] = ()) -> Joy:
        m = Joy()
        m.header.stamp = self.probe.node.get_clock().now().to_msg()
        self.last_stamp = stamp_seconds(m.header.stamp)
        axes = [0.0] * self.n_axes
        axes[self.axis_lin], axes[self.axis_ang] = lin, ang
        m.axes = axes
        m.buttons = [1 if i in pressed else 0 for i in range(self.n_buttons)]
        return m

    def hold(self, duration_s: float, lin: float = 0.0, ang: float = 0.0, pressed: tuple[int, ...] = (),
             until=None) -> None:
        self.probe.publish_for(self.pub, lambda: self.msg(lin, ang, pressed), duration_s, rate_hz=20.0, until=until)


def _cmds(box) -> list[tuple[float, float]]:
    return [(r.msg.twist.linear.x, r.msg.twist.angular.z) for r in box]


def _connect(probe, box, pad: Pad) -> None:
    probe.wait_for(lambda: len(box) >= 2, 20.0, 'teleop/cmd_vel from joy_teleop')
    probe.wait_for_subscribers(pad.pub, 1, 20.0)


def _arm_and_drive(probe, pad: Pad, box, lin: float, ang: float = 0.0) -> None:
    pad.hold(0.2)                                       # centred, released
    pad.hold(0.2, pressed=(LB,))                        # press with centred sticks: armed
    pad.hold(5.0, lin=lin, ang=ang, pressed=(LB,), until=lambda: box and _cmds(box)[-1] != (0.0, 0.0))
    probe.wait_for(lambda: _cmds(box)[-1] != (0.0, 0.0), 5.0, 'motion after a centred press')


def test_deadman_centred_press_scaling_and_release(probe, start_node):
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    pad = Pad(probe)
    start_node(JoyTeleop, BASE)
    _connect(probe, box, pad)
    assert set(_cmds(box)) == {(0.0, 0.0)}             # nothing received yet: zero, never silent
    assert box[-1].msg.header.frame_id == 'base_link'

    # Lurch attempt: stick forward first, then the deadman pressed -> must stay zero.
    pad.hold(0.3, lin=0.8)
    start = len(box)
    pad.hold(0.8, lin=0.8, pressed=(LB,))
    pad.hold(0.3, lin=0.0, pressed=(LB,))               # centring while still held is not enough
    pad.hold(0.3, lin=0.5, pressed=(LB,))
    during = _cmds(box)[start:]
    assert len(during) >= 5 and set(during) == {(0.0, 0.0)}

    # Release, centre, press again: full stick = the configured max speed.
    _arm_and_drive(probe, pad, box, lin=1.0)
    probe.wait_for(lambda: _cmds(box)[-1] == pytest.approx((0.05, 0.0)), 5.0, 'full forward = 0.05 m/s')
    pad.hold(5.0, lin=0.5, ang=-1.0, pressed=(LB,), until=lambda: _cmds(box)[-1] == pytest.approx((0.025, -0.1)))
    assert _cmds(box)[-1] == pytest.approx((0.025, -0.1))
    pad.hold(5.0, lin=0.5, ang=0.6, pressed=(LB, RB), until=lambda: _cmds(box)[-1] == pytest.approx((0.0, 0.06)))
    assert _cmds(box)[-1] == pytest.approx((0.0, 0.06))  # point-turn button: turn in place

    # Release the deadman with the stick still forward: zero, and zero keeps coming at the output rate.
    pad.hold(5.0, lin=1.0, until=lambda: _cmds(box)[-1] == (0.0, 0.0))
    first_zero = len(box) - 1
    probe.wait_for(lambda: len(box) >= first_zero + 6, 5.0, 'zeros at the output rate')
    assert set(_cmds(box)[first_zero:]) == {(0.0, 0.0)}


def test_stale_joy_and_disconnect_stop(probe, start_node):
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    pad = Pad(probe)
    start_node(JoyTeleop, {**BASE, 'joy_timeout': 0.5})
    _connect(probe, box, pad)

    # Stale: the joystick goes silent while the stick is held forward.
    _arm_and_drive(probe, pad, box, lin=1.0)
    last_joy = pad.last_stamp
    probe.wait_for(lambda: _cmds(box)[-1] == (0.0, 0.0), 10.0, 'zero after the joy timeout')
    first_zero = len(box) - 1
    assert stamp_seconds(box[first_zero].msg.header.stamp) - last_joy >= 0.5 - 0.02
    probe.wait_for(lambda: len(box) >= first_zero + 6, 5.0, 'zeros keep coming while joy is stale')
    assert set(_cmds(box)[first_zero:]) == {(0.0, 0.0)}

    # Joy comes back with everything still held: no motion without a new centred press.
    mark = len(box)
    pad.hold(0.6, lin=1.0, pressed=(LB,))
    assert set(_cmds(box)[mark:]) == {(0.0, 0.0)}

    # Disconnect: the joystick driver's one neutral message, then nothing.
    _arm_and_drive(probe, pad, box, lin=-1.0)
    assert _cmds(box)[-1] == pytest.approx((-0.05, 0.0))
    pad.pub.publish(pad.msg())
    probe.wait_for(lambda: _cmds(box)[-1] == (0.0, 0.0), 5.0, 'zero after the neutral message')
    mark = len(box) - 1
    probe.wait_for(lambda: len(box) >= mark + 15, 5.0, 'zeros after the disconnect')
    assert set(_cmds(box)[mark:]) == {(0.0, 0.0)}


def test_malformed_joy_is_rejected_and_stops(probe, start_node):
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    pad = Pad(probe)
    start_node(JoyTeleop, BASE)
    _connect(probe, box, pad)
    _arm_and_drive(probe, pad, box, lin=1.0)
    bad = pad.msg(lin=1.0, pressed=(LB,))
    bad.axes[3] = float('nan')
    pad.pub.publish(bad)
    probe.wait_for(lambda: _cmds(box)[-1] == (0.0, 0.0), 5.0, 'zero after a NaN axis')
    mark = len(box)
    pad.hold(0.5, lin=1.0, pressed=(LB,))               # valid again but still held: stays stopped
    short = Joy(axes=[0.0], buttons=[1] * 11)
    pad.pub.publish(short)
    pad.hold(0.3, lin=1.0, pressed=(LB,))
    assert set(_cmds(box)[mark:]) == {(0.0, 0.0)}

    # Stamps from 10 s in the future (a clock mismatch) are ignored: the joystick looks silent -> zero.
    _arm_and_drive(probe, pad, box, lin=1.0)

    def future() -> Joy:
        m = pad.msg(lin=1.0, pressed=(LB,))
        m.header.stamp.sec += 10
        return m

    probe.publish_for(pad.pub, future, 5.0, rate_hz=20.0, until=lambda: _cmds(box)[-1] == (0.0, 0.0))
    mark = len(box)
    probe.publish_for(pad.pub, future, 0.5, rate_hz=20.0)
    assert set(_cmds(box)[mark - 1:]) == {(0.0, 0.0)}


def test_estop_button_and_reset_service(probe, start_node):
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    estop = probe.subscribe('estop', Bool, qos.LATCHED)
    calls: list[int] = []

    def reset(_request, response):
        calls.append(1)
        response.success = True
        response.message = 'cleared (fake limiter)'
        return response

    probe.node.create_service(Trigger, 'estop/reset', reset)
    pad = Pad(probe)
    start_node(JoyTeleop, BASE)
    _connect(probe, box, pad)
    _arm_and_drive(probe, pad, box, lin=1.0)

    pad.hold(5.0, lin=1.0, pressed=(LB, B), until=lambda: bool(estop))
    assert [r.msg.data for r in estop] == [True]
    probe.wait_for(lambda: _cmds(box)[-1] == (0.0, 0.0), 5.0, 'zero after the e-stop button')
    pad.hold(0.3, lin=1.0, pressed=(LB,))                # e-stop also disarmed the deadman
    assert _cmds(box)[-1] == (0.0, 0.0)

    pad.hold(0.2)
    pad.hold(5.0, pressed=(START,), until=lambda: len(estop) >= 2)
    assert calls == [1]
    assert [r.msg.data for r in estop] == [True, False]   # the node clears its own latched true


def test_process_with_sdl_profile_exits_zero_with_a_final_zero(tmp_path, probe):
    """The executable with rover.yaml + the SDL profile; SIGINT while driving -> last command zero, exit 0."""
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    pad = Pad(probe, n_axes=6, n_buttons=21)
    proc = NodeProcess([sys.executable, '-c', 'from rover_nav.teleop.joy_teleop_node import main; main()',
                        '--ros-args', '--params-file', str(data_file('config', 'rover.yaml')),
                        '--params-file', str(data_file('config', 'gamepads/sdl_game_controller.yaml'))],
                       tmp_path / 'joy_teleop.log')
    try:
        _connect(probe, box, pad)
        pad.hold(0.2)
        pad.hold(0.2, pressed=(9,))                          # SDL left shoulder = enable
        pad.hold(5.0, lin=1.0, pressed=(9,), until=lambda: _cmds(box)[-1][0] > 0.0)
        assert _cmds(box)[-1] == pytest.approx((0.0559, 0.0))  # rover.yaml max_linear_speed
    finally:
        code = proc.stop()
    probe.spin(0.3)
    assert code == 0, proc.output()
    assert _cmds(box)[-1] == (0.0, 0.0), 'no zero command on shutdown'


def test_bad_mapping_exits_2_naming_the_key(tmp_path):
    proc = NodeProcess([sys.executable, '-c', 'from rover_nav.teleop.joy_teleop_node import main; main()',
                        '--ros-args', '-p', 'estop_button:=4'], tmp_path / 'bad.log')
    try:
        proc.proc.wait(timeout=30.0)
    finally:
        code = proc.stop()
    assert code == 2, proc.output()
    assert 'must differ' in proc.output()
