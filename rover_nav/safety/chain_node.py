"""`ChainNode`: what the three chain nodes share between `cmd_vel_in` and `cmd_vel_out`.

- Every valid input is answered at once on `cmd_vel_out` with the input header COPIED (stamp
  and frame), so a lockstep simulator sees the chain react within the same tick.
- Input with NaN/inf in any twist component, or stamped more than `max_clock_skew` ahead of the
  node clock, is dropped with a throttled warning (no output, no refresh of any watchdog).
- `estop` (std_msgs/Bool, latched): `true` latches zero on every output and publishes one zero
  at once; the node then holds `true` on `estop` itself (`EstopLink`), so nodes that restart
  during the stop latch too. `false` never clears: only the limiter's `estop/reset` service,
  which announces `estop/cleared` to every node.
- `stop_now()` publishes one zero out of band (sensor went stale, e-stop, new obstacle) when
  the last output was moving; its stamp is the node clock, never older than the last input.
- `/diagnostics` once a second and on every state change (`report_state`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from geometry_msgs.msg import TwistStamped
from std_msgs.msg import Header

from rover_nav.runtime import qos
from rover_nav.runtime.checks import all_finite, seconds_to_time, stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.estop_link import EstopLink
from rover_nav.runtime.params import Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_ERROR, DIAG_OK, DIAG_WARN, RoverNode
from rover_nav.safety.command import ZERO, Twist2D

DIAG_PERIOD_S = 1.0


@dataclass(frozen=True)
class ChainParams(Params):
    """What every chain node's typed parameters have (each node's class adds its own)."""

    profile: str
    max_clock_skew: float


C = TypeVar('C', bound=ChainParams)


class ChainNode(RoverNode[C]):
    """Base of speed_limiter, slope_guard and obstacle_guard (see module docstring)."""

    #: the limiter resets the other nodes (publishes estop/cleared from its reset service)
    estop_announcer = False

    def __init__(self, name: str, specs: Iterable[ParamSpec], cross_check: Callable[[C], object] | None = None, *,
                 params_type: type[C], **kwargs: Any) -> None:
        super().__init__(name, specs, cross_check, params_type=params_type, **kwargs)
        self.estopped = False
        self._last_out = ZERO
        self._last_header: Any = None
        self._state = ''
        self._out_pub = self.create_publisher(TwistStamped, 'cmd_vel_out', qos.COMMAND)
        self.create_subscription(TwistStamped, 'cmd_vel_in', self._on_command, qos.COMMAND)
        self.estop_link = EstopLink(self, self._on_latch, self._on_clear, hold=True,
                                    announcer=self.estop_announcer, on_repeat=self._publish_status)
        self.create_timer(DIAG_PERIOD_S, self._diag_tick)

    # ---- subclass interface -------------------------------------------------------------
    def filter_command(self, v: float, w: float, now: float) -> Twist2D:
        """The command to pass on for input (v, w) received at `now`; subclasses override."""
        raise NotImplementedError

    def status(self) -> tuple[int, str, Mapping[str, Any]]:
        """(level, message, values) for /diagnostics."""
        return DIAG_OK, self._state or 'ok', {}

    def use_hard_limits(self, geometry: Any) -> None:
        """Refuse runtime changes above the description's hard limits (hand-built test geometries have none)."""
        limits = getattr(geometry, 'limits', None)
        if limits is not None:
            self.apply_hard_limits(limits, self.params.snapshot.profile)

    def on_estop_latched(self) -> None:
        """Called when the e-stop latches (reset the core's ramps)."""

    # ---- shared behaviour -----------------------------------------------------------------
    @property
    def last_output(self) -> Twist2D:
        return self._last_out

    def _on_command(self, msg: TwistStamped) -> None:
        t = msg.twist
        if not all_finite((t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z)):
            self.warn_throttled('dropped a command with NaN/inf in it')
            return
        now = self.now_s()
        skew = self.params.snapshot.max_clock_skew
        if stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, skew):
            self.warn_throttled(f'dropped a command stamped {stamp_seconds(msg.header.stamp) - now:.3f} s '
                                f'in the future (max_clock_skew {skew} s)')
            return
        self._last_header = msg.header
        out = ZERO if self.estopped else self.filter_command(float(t.linear.x), float(t.angular.z), now)
        self.publish_command(out, msg.header)

    def publish_command(self, cmd: Twist2D, header: Any) -> None:
        """Publish `cmd` on cmd_vel_out with `header` (copied stamp and frame)."""
        out = TwistStamped()
        out.header = header
        out.twist.linear.x = float(cmd.v)
        out.twist.angular.z = float(cmd.w)
        self._out_pub.publish(out)
        self._last_out = cmd

    def stop_now(self) -> None:
        """Publish one zero at once if the last output moved the rover."""
        if self._last_out.moving:
            self.publish_command(ZERO, self._own_header())

    def _own_header(self) -> Header:
        """A header stamped with the node clock (never older than the last input's stamp)."""
        now = self.now_s()
        frame = ''
        if self._last_header is not None:
            now = max(now, stamp_seconds(self._last_header.stamp))
            frame = self._last_header.frame_id
        return Header(stamp=seconds_to_time(now), frame_id=frame)

    def _on_latch(self, source: str) -> None:
        self.estopped = True
        self.get_logger().warning(f'e-stop latched ({source}): publishing zero until estop/reset')
        self.on_estop_latched()
        self.stop_now()
        self._state = 'estop'
        self._publish_status()  # confirms at once: `rover estop` waits for every node's estop=True

    def _on_clear(self) -> None:
        self.estopped = False
        self.get_logger().info('e-stop cleared (estop/reset)')
        self._state = 'ok'
        self._publish_status()

    def report_state(self, state: str) -> None:
        """Remember the node's state; publish diagnostics at once when it changed."""
        if state != self._state:
            self._state = state
            self._publish_status()

    @property
    def state(self) -> str:
        return self._state

    def _diag_tick(self) -> None:
        self._publish_status()

    def _publish_status(self) -> None:
        extra: Mapping[str, Any]
        if self.estopped:
            level, message, extra = DIAG_ERROR, 'e-stop latched', {}
        else:
            level, message, extra = self.status()
        values = {'state': self._state or 'ok', 'estop': self.estopped,
                  'last_v': round(self._last_out.v, 4), 'last_w': round(self._last_out.w, 4), **extra}
        self.publish_diagnostic(level, message, values)

    def on_shutdown(self) -> None:
        """Leave the chain stopped: one zero on cmd_vel_out."""
        self.publish_command(ZERO, self._own_header())


__all__ = ['DIAG_ERROR', 'DIAG_OK', 'DIAG_WARN', 'ChainNode']
