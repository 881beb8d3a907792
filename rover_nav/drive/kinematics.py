"""Body twist -> steering angles and wheel rates for a rover with fixed middle and steered corner wheels.

Model (REP-103, `base_link` on the middle-wheel axle line): a body twist (v forward m/s, w yaw
rate rad/s, counter-clockwise positive) moves the contact point of a wheel at (x, y) with

    u = (v - w*y, w*x)                       (m/s, base_link)

so every wheel turns about the instantaneous centre of rotation (ICR) at (0, v/w), which lies on
the middle-wheel axle line. A steerable wheel points along u,

    delta = atan2(w*x, v - w*y)  folded into [-pi/2, pi/2)  (the wheel may roll backwards),

and rolls with the surface speed u . (cos delta, sin delta). The fixed middle wheels (x ~ 0) roll
with v - w*y. A point turn (v = 0) puts the corners at delta = atan(-x/y) (+/- atan(d_x/d_y)),
tangential to the circle about the body centre. Wheel angular velocity = surface speed / radius
(positive = rolling forward).

`DriveKinematics` adds what a real drive needs on top of the model: curvature clamped to
1/min_turning_radius (and to what the steering limits allow) while moving, point turns only
near zero linear speed with hysteresis, one common scale factor when any wheel would exceed
`max_wheel_speed` or the motors' rate limit (so v/w, the curvature, is kept), and wheels held at zero while the corners
are still slewing towards a much different angle (no scrubbing through a turn).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math

import numpy as np

from rover_nav.drive.gyro_assist import GyroAssist
from rover_nav.drive.layout import WheelLayout

_LIMIT_SLACK = 1e-9  # rad: angles exactly at a servo limit count as inside
MODE_DRIVE = 'drive'
MODE_POINT_TURN = 'point_turn'


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'{name} must be finite, got {value!r}')
    return value


def fold_angle(delta: np.ndarray) -> np.ndarray:
    """Fold steering angles (rad) into [-pi/2, pi/2): a wheel pointing backwards rolls backwards instead."""
    return (np.asarray(delta, dtype=float) + math.pi / 2.0) % math.pi - math.pi / 2.0


def steering_angles(layout: WheelLayout, v: float, w: float) -> np.ndarray:
    """Ackermann steering angle (rad, shape (n,)) of each wheel for body twist (v m/s, w rad/s).

    Fixed wheels get 0. A zero twist gives 0 everywhere (callers hold the previous angles instead).
    The angles depend only on the curvature w/v (or on the point-turn case v = 0), not on speed.
    """
    along = v - w * layout.y
    across = w * layout.x
    delta = fold_angle(np.arctan2(across, along))
    delta[(along == 0.0) & (across == 0.0)] = 0.0
    return np.where(layout.steerable, delta, 0.0)


def surface_speeds(layout: WheelLayout, steer: np.ndarray, v: float, w: float) -> np.ndarray:
    """Rolling speed (m/s, shape (n,)) of each wheel steered to `steer` under body twist (v, w).

    The projection of the contact velocity (v - w*y, w*x) on the rolling direction
    (cos delta, sin delta); with Ackermann angles it is the full contact speed, signed.
    """
    return (v - w * layout.y) * np.cos(steer) + (w * layout.x) * np.sin(steer)


def point_turn_angles(layout: WheelLayout) -> np.ndarray:
    """Corner angles (rad) for turning in place: tangential to circles about base_link."""
    return steering_angles(layout, 0.0, 1.0)


def within_steer_limits(layout: WheelLayout, steer: np.ndarray, slack: float = _LIMIT_SLACK) -> bool:
    """True when every steerable wheel's angle (rad) lies within its servo limits (+/- slack rad)."""
    inside = (steer >= layout.steer_min - slack) & (steer <= layout.steer_max + slack)
    return bool(np.all(inside[layout.steerable]))


def max_feasible_curvature(layout: WheelLayout, cap: float, sign: float) -> float:
    """Largest |curvature| (1/m) up to `cap` in direction `sign` (+1 left, -1 right) the steering limits allow.

    Scans from straight ahead outwards and bisects at the first curvature that needs an angle
    outside a servo limit (the angles are not monotonic beyond an ICR crossing a wheel's y).
    """
    if cap < 0.0 or not math.isfinite(cap):
        raise ValueError(f'cap must be finite and >= 0, got {cap!r}')

    def ok(kappa: float) -> bool:  # strict, so rounding in later use stays inside the slack
        return within_steer_limits(layout, steering_angles(layout, 1.0, sign * kappa), slack=0.0)

    grid = np.linspace(0.0, cap, 257)
    for i, kappa in enumerate(grid):
        if not ok(float(kappa)):
            lo, hi = float(grid[i - 1]) if i > 0 else 0.0, float(kappa)
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if ok(mid) else (lo, mid)
            return lo
    return cap


_W_FINITE = 1.0e3  # rad/s: far beyond any wheel's reach, far below overflow


@dataclass(frozen=True)
class DriveLimits:
    """The drive's tunable limits (units in the names' docs); ValueError names a bad field.

    max_wheel_speed: m/s wheel surface speed; every wheel is kept at or below it.
    min_turning_radius: m; tighter curvature is clamped while |v| > v_eps.
    v_eps: m/s; at or below it (and |w| > w_eps) the rover turns in place.
    v_eps_exit: m/s (> v_eps); a point turn is left only above it (hysteresis).
    w_eps: rad/s; a smaller yaw rate with |v| <= v_eps counts as "stop".
    steer_tolerance: rad; wheels wait while a corner is further than this from its target.
    steer_resume_tolerance: rad (<= steer_tolerance); waiting wheels start again when every
    corner is within it (hysteresis; it must exceed the servos' steady-state error under load).
    max_linear_speed: m/s, the rover's hard top speed (inf: none); any request is first scaled
    down to it, w with v, so whatever reaches the drive never commands more.
    """

    max_wheel_speed: float
    min_turning_radius: float
    v_eps: float = 0.002
    v_eps_exit: float = 0.005
    w_eps: float = 0.002
    steer_tolerance: float = 0.1
    steer_resume_tolerance: float = 0.05
    max_linear_speed: float = math.inf

    def __post_init__(self) -> None:
        if not (self.max_linear_speed > 0.0):  # inf allowed (no hard top speed); NaN and <= 0 not
            raise ValueError(f'max_linear_speed must be > 0, got {self.max_linear_speed!r}')
        for name in ('max_wheel_speed', 'min_turning_radius', 'v_eps', 'v_eps_exit', 'w_eps', 'steer_tolerance',
                     'steer_resume_tolerance'):
            value = _finite(name, getattr(self, name))
            if value <= 0.0:
                raise ValueError(f'{name} must be > 0, got {value!r}')
        if self.v_eps_exit <= self.v_eps:
            raise ValueError(f'v_eps_exit ({self.v_eps_exit}) must be greater than v_eps ({self.v_eps})')
        if self.steer_resume_tolerance > self.steer_tolerance:
            raise ValueError(f'steer_resume_tolerance ({self.steer_resume_tolerance}) must not exceed '
                             f'steer_tolerance ({self.steer_tolerance})')


@dataclass(frozen=True)
class DriveCommand:
    """What to send to the joints, and why.

    steer: (n,) rad, target angle per wheel (0 for fixed wheels). wheel_rate: (n,) rad/s,
    positive rolls forward. surface_speed: (n,) m/s. v, w: the body twist these wheels realise
    (after clamping, saturation and waiting; 0 when stopped). mode: 'drive' or 'point_turn'.
    Flags: stopped (zero command / hold), clamped (curvature reduced), saturated (scaled down
    to max_wheel_speed), waiting (steering not yet within tolerance), infeasible (the requested
    motion is impossible with these steering limits, e.g. a point turn).
    """

    steer: np.ndarray
    wheel_rate: np.ndarray
    surface_speed: np.ndarray
    v: float
    w: float
    mode: str
    stopped: bool = False
    clamped: bool = False
    saturated: bool = False
    waiting: bool = False
    infeasible: bool = False
    steer_error: float = 0.0


class DriveKinematics:
    """The stateful drive: mode hysteresis, held steering and a steering-angle estimate.

    Call `command(v, w, now)` for each velocity command and `hold(now)` for a stop (timeout,
    e-stop); `observe_steering(angles, now)` feeds measured corner angles. Without measurements
    the estimate follows the commanded angles at the geometry's `max_steer_rate`.
    `now` is any monotonic clock in seconds (the node clock, sim time aware).
    """

    def __init__(self, layout: WheelLayout, limits: DriveLimits, assist: GyroAssist | None = None) -> None:
        self.layout = layout
        self.assist = assist
        self._pt_angles = point_turn_angles(layout)
        self._steer_idx = tuple(np.flatnonzero(layout.steerable).tolist())
        self.point_turn_feasible = within_steer_limits(layout, self._pt_angles)
        self.mode = MODE_DRIVE
        self.waiting = False
        self._target = np.zeros(layout.n)
        self._estimate = np.zeros(layout.n)
        self._t_last: float | None = None
        self.set_limits(limits)

    def set_limits(self, limits: DriveLimits) -> None:
        """Swap in new limits (runtime reconfiguration); the curvature bounds are recomputed."""
        cap = 1.0 / limits.min_turning_radius
        self.limits = limits
        self._shape_key: tuple[str, float, float, float, float] | None = None  # see `_shaped`
        self._shape: DriveCommand | None = None
        self.kappa_max_left = max_feasible_curvature(self.layout, cap, +1.0)
        self.kappa_max_right = max_feasible_curvature(self.layout, cap, -1.0)

    @property
    def steer_target(self) -> np.ndarray:
        """The angles (rad, (n,)) last commanded: what a stop holds."""
        return self._target.copy()

    def observe_steering(self, angles: np.ndarray, now: float) -> None:
        """Measured angles (rad, (n,), NaN = unknown) at time `now` replace the model's estimate."""
        angles = np.asarray(angles, dtype=float)
        if angles.shape != (self.layout.n,):
            raise ValueError(f'angles must have shape ({self.layout.n},), got {angles.shape}')
        values, estimate = angles.tolist(), self._estimate
        for i in self._steer_idx:  # finite angles of steerable wheels replace the estimate
            if math.isfinite(values[i]):
                estimate[i] = values[i]
        self._t_last = _finite('now', now)

    def _advance(self, now: float) -> None:
        now = _finite('now', now)
        if self._t_last is not None and now > self._t_last:
            step = self.layout.max_steer_rate * (now - self._t_last)
            lo = -step
            estimate = self._estimate.tolist()
            for i, (t, e) in enumerate(zip(self._target.tolist(), estimate, strict=True)):
                d = t - e
                d = d if d > lo else lo  # np.clip(d, -step, step), evaluated as numpy does
                d = d if d < step else step
                estimate[i] = e + d
            self._estimate[:] = estimate
        if self._t_last is None or now > self._t_last:
            self._t_last = now

    def hold(self, now: float, infeasible: bool = False) -> DriveCommand:
        """Zero wheel speed, steering held at the last target."""
        if self.assist is not None:
            self.assist.reset()
        self._advance(now)
        zeros = np.zeros(self.layout.n)
        return DriveCommand(self._target.copy(), zeros, zeros.copy(), 0.0, 0.0, self.mode, stopped=True,
                            waiting=self.waiting, infeasible=infeasible, steer_error=self._steer_error())

    def _steer_error(self) -> float:
        """Largest |target - estimate| (rad) over the steerable wheels (0 without any); both are always finite."""
        target, estimate = self._target.tolist(), self._estimate.tolist()
        err = 0.0
        for i in self._steer_idx:
            e = abs(target[i] - estimate[i])
            err = e if e > err else err
        return err

    def command(self, v: float, w: float, now: float, yaw_rate: float | None = None) -> DriveCommand:
        """Steering angles and wheel rates for a body twist request (v m/s, w rad/s) at time `now` (s).

        yaw_rate: the gyro's body yaw rate (rad/s) if fresh; with a `GyroAssist` it corrects point
        turns for slip (the returned `w` is then the corrected rate).
        """
        v, w = self.capped(_finite('v', v), _finite('w', w))
        lim = self.limits
        if self.mode == MODE_POINT_TURN and abs(v) > lim.v_eps_exit:
            self.mode = MODE_DRIVE
        if self.mode == MODE_DRIVE and abs(v) <= lim.v_eps:
            if abs(w) <= lim.w_eps:
                return self.hold(now)
            if not self.point_turn_feasible:
                return self.hold(now, infeasible=True)
            self.mode = MODE_POINT_TURN
        if self.mode == MODE_POINT_TURN:
            if abs(w) <= lim.w_eps:
                return self.hold(now)
            if self.assist is not None:
                w = self.assist.correct(w, yaw_rate, now)
            cmd = self._shaped(MODE_POINT_TURN, 0.0, w)
        else:
            if self.assist is not None:
                self.assist.reset()
            cmd = self._shaped(MODE_DRIVE, v, w)
        self._advance(now)
        self._target = cmd.steer.copy()
        err = self._steer_error()
        if self.waiting and err <= lim.steer_resume_tolerance:
            self.waiting = False
        elif not self.waiting and err > lim.steer_tolerance:
            self.waiting = True
        if self.waiting:
            zeros = np.zeros(self.layout.n)
            return DriveCommand(cmd.steer.copy(), zeros, zeros.copy(), 0.0, 0.0, cmd.mode, cmd.stopped, cmd.clamped,
                                cmd.saturated, True, cmd.infeasible, err)
        return DriveCommand(cmd.steer.copy(), cmd.wheel_rate.copy(), cmd.surface_speed.copy(), cmd.v, cmd.w, cmd.mode,
                            cmd.stopped, cmd.clamped, cmd.saturated, cmd.waiting, cmd.infeasible, err)

    def _shaped(self, mode: str, v: float, w: float) -> DriveCommand:
        """The saturated point-turn or Ackermann command for (v, w): a pure function of the request, the
        layout and the limits, so the last one is kept (a steady drive asks for the same twist every
        tick). The returned arrays are the cache's: copy them before they leave."""
        key = (mode, v, w, math.copysign(1.0, v), math.copysign(1.0, w))
        if key != self._shape_key or self._shape is None:
            cmd = self._point_turn(w) if mode == MODE_POINT_TURN else self._ackermann(v, w)
            self._shape = self._saturate(cmd)
            self._shape_key = key
        return self._shape

    def _ackermann(self, v: float, w: float) -> DriveCommand:
        kappa = w / v
        bounded = min(max(kappa, -self.kappa_max_right), self.kappa_max_left)
        clamped = bounded != kappa
        w = bounded * v
        steer = steering_angles(self.layout, v, w)
        speed = surface_speeds(self.layout, steer, v, w)
        return DriveCommand(steer, speed / self.layout.radius, speed, v, w, MODE_DRIVE, clamped=clamped)

    def _point_turn(self, w: float) -> DriveCommand:
        steer = self._pt_angles.copy()
        speed = surface_speeds(self.layout, steer, 0.0, w)
        return DriveCommand(steer, speed / self.layout.radius, speed, 0.0, w, MODE_POINT_TURN)

    def capped(self, v: float, w: float) -> tuple[float, float]:
        """(v, w) scaled by one factor <= 1 to the hard top speed and to a yaw rate no wheel could follow
        (`_W_FINITE`): the numbers stay small from here on (1e308 would overflow the wheel speeds to
        inf, and inf * 0 is NaN); the arc is kept and the saturation then scales exactly."""
        s = 1.0
        if abs(v) > self.limits.max_linear_speed:
            s = self.limits.max_linear_speed / abs(v)
        if abs(w) > _W_FINITE:
            s = min(s, _W_FINITE / abs(w))
        if s >= 1.0:
            return v, w
        return v * s + 0.0, w * s + 0.0

    @property
    def max_wheel_speed(self) -> float:
        """m/s: the configured limit, or the motors' limit from the description if that is lower."""
        return min(self.limits.max_wheel_speed, self.layout.max_surface_speed)

    def _saturate(self, cmd: DriveCommand) -> DriveCommand:
        peak = float(np.max(np.abs(cmd.surface_speed)))
        limit = self.max_wheel_speed
        if peak <= limit:
            return cmd
        scale = limit / peak
        speed = cmd.surface_speed * scale
        return replace(cmd, surface_speed=speed, wheel_rate=speed / self.layout.radius, v=cmd.v * scale,
                       w=cmd.w * scale, saturated=True)
