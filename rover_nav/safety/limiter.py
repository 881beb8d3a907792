"""Speed limiter core: caps, curvature-preserving scaling, ramps and the command watchdog.

Pure Python: the node passes receive times on its own clock (`now`, seconds), so the ramps and
the timeout work the same on wall time and on simulated time.

Ramps act on v only (the operator-driven comfort limits `max_linear_accel` going away from zero
and `max_linear_decel` going towards zero); w follows v so the path keeps its curvature:
- output moving the way the target asks: w = w_target * v / v_target (the target's arc);
- output still moving against the target (slowing down before a reversal, or before a stop or a
  point turn): w = w_prev * v / v_prev (the arc the rover was already on);
- output at rest: w = w_target for a point turn (v_target = 0), else 0 (the arc starts at rest).
Timeouts, e-stop and `reset()` step to zero at once; they are not ramped.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

from rover_nav.safety.command import ZERO, Twist2D, cap_preserving_curvature, require_finite, same_sign


@dataclass(frozen=True)
class LimiterConfig:
    """Limits in SI units: m/s, rad/s, m/s^2 and s."""

    max_linear_speed: float
    max_angular_speed: float
    max_linear_accel: float
    max_linear_decel: float
    command_timeout: float

    def __post_init__(self) -> None:
        require_finite(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 0.0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')


@dataclass(frozen=True)
class TickResult:
    """What the watchdog says at time `now`: publish `output` (or nothing if None)."""

    output: Twist2D | None
    timed_out_now: bool  # True only on the transition to timed out (for the event)


class SpeedLimiter:
    """Limits operator commands; call `command()` on each input, `tick()` from a timer."""

    def __init__(self, config: LimiterConfig) -> None:
        self.config = config
        self._out = ZERO
        self._last_cmd_t: float | None = None
        self._timed_out = True  # nothing received yet: the watchdog publishes zero

    @property
    def output(self) -> Twist2D:
        """The last command this limiter emitted."""
        return self._out

    @property
    def timed_out(self) -> bool:
        return self._timed_out

    def configure(self, config: LimiterConfig) -> None:
        """New limits from now on; the current output is re-capped at once (never raised)."""
        self.config = config
        self._out = cap_preserving_curvature(self._out.v, self._out.w,
                                             config.max_linear_speed, config.max_angular_speed)

    def reset(self) -> None:
        """Step to zero at once and forget the last command (e-stop, timeout)."""
        self._out = ZERO
        self._last_cmd_t = None

    def command(self, v: float, w: float, now: float) -> Twist2D:
        """Limit one operator command received at `now` (s); returns the command to publish.

        Raises ValueError (state untouched) if v, w or now is not finite.
        """
        require_finite(v=v, w=w, now=now)
        cfg = self.config
        if self._last_cmd_t is None or self._timed_out:
            dt = 0.0  # from rest: the first command only sets the target
        else:
            dt = min(max(now - self._last_cmd_t, 0.0), cfg.command_timeout)
        self._last_cmd_t = now
        self._timed_out = False
        target = cap_preserving_curvature(v, w, cfg.max_linear_speed, cfg.max_angular_speed)
        v_out = _ramp(self._out.v, target.v, cfg.max_linear_accel * dt, cfg.max_linear_decel * dt)
        follow = _follow_curvature(self._out, target, v_out, cfg.max_angular_speed)
        self._out = cap_preserving_curvature(follow.v, follow.w, cfg.max_linear_speed, cfg.max_angular_speed)
        return self._out

    def tick(self, now: float) -> TickResult:
        """Watchdog at `now` (s): zero once the last command is older than command_timeout.

        While timed out every tick returns zero (the node publishes zero, not silence). A clock
        that jumps backwards (simulation restarted) also counts as a timeout: the last command
        can no longer be judged fresh.
        """
        require_finite(now=now)
        if self._timed_out:
            return TickResult(ZERO, False)
        last = self._last_cmd_t
        if last is None or now - last > self.config.command_timeout or now < last:
            self._timed_out = True
            self.reset()
            return TickResult(ZERO, True)
        return TickResult(None, False)


def _ramp(v_prev: float, v_target: float, up: float, down: float) -> float:
    """Move v_prev towards v_target by at most `up` (away from zero) or `down` (towards zero).

    A sign reversal first slows to zero with `down` and stops there; the next call accelerates
    the other way, so one step never crosses zero.
    """
    if v_prev == 0.0 or same_sign(v_prev, v_target):
        if abs(v_target) > abs(v_prev):
            return math.copysign(min(abs(v_target), abs(v_prev) + up), v_target)
        return math.copysign(max(abs(v_target), abs(v_prev) - down), v_prev)
    return math.copysign(max(0.0, abs(v_prev) - down), v_prev) + 0.0


def _follow_curvature(prev: Twist2D, target: Twist2D, v_out: float, w_max: float) -> Twist2D:
    """The command on the right arc for the ramped forward speed v_out (see module docstring).

    Products are ordered so tiny or huge ratios neither overflow nor divide by an underflow:
    when the target's arc at v_out would need more than w_max, the output is the point of that
    arc at exactly w_max (a slower v), which is what the final cap would give.
    """
    if v_out == 0.0:
        return Twist2D(0.0, target.w if target.v == 0.0 else 0.0)
    if same_sign(v_out, target.v):
        if abs(target.w) * abs(v_out) > w_max * abs(target.v):
            # v / |w| first: w_max / |w| alone overflows for a denormal w (and v * inf is inf)
            return Twist2D(target.v / abs(target.w) * w_max, math.copysign(w_max, target.w))
        return Twist2D(v_out, (target.w * v_out) / target.v)
    return Twist2D(v_out, (prev.w * v_out) / prev.v)  # v_out != 0 here comes from prev.v != 0, same sign
