"""`joy_teleop`: `joy` (sensor_msgs/Joy) -> `teleop/cmd_vel` (TwistStamped), behind a deadman.

Thin shell around `deadman.JoyTeleopCore`: converts messages, publishes the command at
`publish_rate` on the node clock (sim time aware) and at once when the command drops to zero
(release, malformed input), publishes `estop` = true on the e-stop button and calls
`estop/reset` (std_srvs/Trigger) on the reset button; after a successful reset it publishes
`estop` = false so its own latched `true` cannot re-stop nodes that start later.
"""

from __future__ import annotations

from dataclasses import dataclass
import sys
from typing import Any

from geometry_msgs.msg import TwistStamped
from sensor_msgs.msg import Joy
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_OK, DIAG_WARN, RoverNode
from rover_nav.runtime.spinning import publish_and_flush, spin_keeping_context
from rover_nav.teleop.deadman import JoyTeleopCore, TeleopConfig, TeleopOutput, TeleopState

_BUTTON_HELP = 'index into Joy.buttons (joydev order for joy_linux and our joystick; see config/gamepads/)'

PARAMS = (
    shared.MAX_LINEAR_SPEED,
    shared.MAX_ANGULAR_SPEED,
    ParamSpec('axis_linear', int, 1, 'Joy.axes index driving linear.x (axis up = +1 = forward).', lo=0, hi=63),
    ParamSpec('axis_angular', int, 0, 'Joy.axes index driving angular.z (axis left = +1 = turn left).',
              lo=0, hi=63),
    ParamSpec('invert_linear', bool, False, 'Negate the linear axis (pads that report up as -1).'),
    ParamSpec('invert_angular', bool, False, 'Negate the angular axis.'),
    ParamSpec('enable_button', int, 4, f'Deadman button: motion only while held; {_BUTTON_HELP}.', lo=0, hi=127),
    ParamSpec('estop_button', int, 1, f'Press publishes estop=true (latched stop); -1 = none; {_BUTTON_HELP}.',
              lo=-1, hi=127),
    ParamSpec('reset_button', int, 7, f'Press calls estop/reset; -1 = none; {_BUTTON_HELP}.', lo=-1, hi=127),
    ParamSpec('point_turn_button', int, 5,
              f'While held, linear = 0 and the angular axis turns in place; -1 = none; {_BUTTON_HELP}.',
              lo=-1, hi=127),
    ParamSpec('centre_tolerance', float, 0.1,
              'Stick deflection (fraction of full) still counted as centred when the deadman is pressed; '
              'too large lets the rover lurch on enable.', lo=0.0, hi=0.5),
    ParamSpec('joy_timeout', float, 0.5, 's without a Joy message before the output drops to zero.',
              lo=0.05, hi=10.0),
    shared.PUBLISH_RATE,
    shared.MAX_CLOCK_SKEW,
    shared.FRAME_PREFIX,
)


@dataclass(frozen=True)
class JoyTeleopParams(Params):
    """joy_teleop's parameter values, typed: one field per entry of PARAMS."""

    max_linear_speed: float
    max_angular_speed: float
    axis_linear: int
    axis_angular: int
    invert_linear: bool
    invert_angular: bool
    enable_button: int
    estop_button: int
    reset_button: int
    point_turn_button: int
    centre_tolerance: float
    joy_timeout: float
    publish_rate: float
    max_clock_skew: float
    frame_prefix: str


def config_from(snap: JoyTeleopParams) -> TeleopConfig:
    """The core's configuration from the parameters; ConfigError names the offending key."""
    try:
        return TeleopConfig(
            max_linear_speed=snap.max_linear_speed, max_angular_speed=snap.max_angular_speed,
            axis_linear=snap.axis_linear, axis_angular=snap.axis_angular, enable_button=snap.enable_button,
            estop_button=snap.estop_button, reset_button=snap.reset_button,
            point_turn_button=snap.point_turn_button, invert_linear=snap.invert_linear,
            invert_angular=snap.invert_angular, centre_tolerance=snap.centre_tolerance,
            joy_timeout=snap.joy_timeout)
    except ValueError as exc:
        raise ConfigError(f'joy_teleop parameters: {exc}') from exc


class JoyTeleop(RoverNode[JoyTeleopParams]):
    """Joystick teleop node (see module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('joy_teleop', PARAMS, cross_check=config_from, params_type=JoyTeleopParams, **kwargs)
        snap = self.params.snapshot
        self._core = JoyTeleopCore(config_from(snap))
        self._cmd_pub = self.create_publisher(TwistStamped, 'teleop/cmd_vel', qos.COMMAND)
        self._estop_pub = self.create_publisher(Bool, 'estop', qos.LATCHED)
        self._reset_client = self.create_client(Trigger, 'estop/reset')
        self.create_subscription(Joy, 'joy', self._on_joy, qos.JOY)
        self._last_out = TeleopOutput(0.0, 0.0, TeleopState.NO_JOY)
        self._diag_due = 0.0
        self._timer = self.create_timer(1.0 / snap.publish_rate, self._tick)
        self.params.on_change(self._reconfigure)
        self.get_logger().info(
            f'joy -> teleop/cmd_vel: axis_linear={snap.axis_linear} axis_angular={snap.axis_angular} '
            f'enable_button={snap.enable_button} estop_button={snap.estop_button} '
            f'reset_button={snap.reset_button} point_turn_button={snap.point_turn_button} '
            f'full stick = {snap.max_linear_speed} m/s, {snap.max_angular_speed} rad/s')

    def _reconfigure(self, snap: JoyTeleopParams) -> None:
        self._core.reconfigure(config_from(snap))
        self._timer.cancel()
        self.destroy_timer(self._timer)
        self._timer = self.create_timer(1.0 / snap.publish_rate, self._tick)
        self._publish(self._core.output(self.now_s()))

    def _on_joy(self, msg: Joy) -> None:
        now = self.now_s()
        if stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, self.params.snapshot.max_clock_skew):
            self.warn_throttled('joy: stamp too far in the future (check clocks / use_sim_time); ignored')
            return
        actions = self._core.on_joy(list(msg.axes), list(msg.buttons), now)
        if actions.rejected is not None:
            self.warn_throttled(f'joy rejected ({actions.rejected}): output zero until a valid message')
        if actions.estop:
            self._estop_pub.publish(Bool(data=True))
            self.get_logger().warning('e-stop button: published estop = true')
        if actions.reset:
            self._call_reset()
        out = self._core.output(now)
        if self._last_out.moving and not out.moving:
            self._publish(out)  # stop at once, do not wait for the next tick
        else:
            self._track(out)

    def _call_reset(self) -> None:
        if not self._reset_client.service_is_ready():
            self.get_logger().warning('reset button: service estop/reset is not available (no speed limiter?)')
            return
        self.get_logger().info('reset button: calling estop/reset')
        future = self._reset_client.call_async(Trigger.Request())
        future.add_done_callback(self._reset_done)

    def _reset_done(self, future: object) -> None:
        response = future.result()  # type: ignore[attr-defined]
        if response is not None and response.success:
            self._estop_pub.publish(Bool(data=False))
            self.get_logger().info(f'estop/reset succeeded: {response.message}')
        else:
            message = response.message if response is not None else 'no response'
            self.get_logger().warning(f'estop/reset refused: {message}')

    def _tick(self) -> None:
        now = self.now_s()
        self._publish(self._core.output(now))
        if now >= self._diag_due or now < self._diag_due - 2.0:
            self._diag_due = now + 1.0
            out = self._last_out
            level = DIAG_OK if out.state in (TeleopState.ACTIVE, TeleopState.RELEASED, TeleopState.REARM) \
                else DIAG_WARN
            self.publish_diagnostic(level, f'deadman {out.state.value}',
                                    {'state': out.state.value, 'linear_x': f'{out.linear:.4f}',
                                     'angular_z': f'{out.angular:.4f}'})

    def _track(self, out: TeleopOutput) -> None:
        """Remember the latest output; log state changes once."""
        if out.state != self._last_out.state:
            if out.state == TeleopState.REARM:
                self.get_logger().warning('enable held without a centred press: release it, centre the sticks, '
                                          'press again')
            else:
                self.get_logger().info(f'deadman: {out.state.value}')
        self._last_out = out

    def _publish(self, out: TeleopOutput, flush: bool = False) -> None:
        self._track(out)
        msg = TwistStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.snapshot.frame_prefix + 'base_link'
        msg.twist.linear.x = out.linear
        msg.twist.angular.z = out.angular
        if flush:
            publish_and_flush(self._cmd_pub, msg)
        else:
            self._cmd_pub.publish(msg)

    def on_shutdown(self) -> None:
        """Publish one zero command so the rover stops now, not after the limiter's timeout."""
        self._publish(TeleopOutput(0.0, 0.0, TeleopState.NO_JOY), flush=True)


def main() -> None:
    sys.exit(run_node(JoyTeleop, spin=spin_keeping_context))


if __name__ == '__main__':
    main()
