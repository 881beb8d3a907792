"""Joystick teleop core: Joy arrays -> (linear.x, angular.z) behind a deadman with a no-lurch rule.

Rules (all times in seconds on the caller's clock, the node clock in the node):

- Motion only while the enable (deadman) button is held, and only if it was PRESSED while both
  driving sticks were centred (|axis| <= `centre_tolerance`). Pressing it with a stick deflected
  does not arm; the operator must release it, centre the sticks and press again. So the rover
  never lurches to whatever the stick happened to hold when the deadman closed.
- Releasing the enable button, a Joy message older than `joy_timeout` (or a clock that jumped
  backwards), a malformed message (non-finite values, arrays too short for the configured
  indices) or an e-stop press all disarm at once. After a gap (stale / malformed / start) a
  button that is already held does not count as a press: it has to be released first.
- Full stick = `max_linear_speed` / `max_angular_speed`; axes[axis_linear] up = +1 -> +linear.x,
  axes[axis_angular] left = +1 -> +angular.z (REP-103: counter-clockwise seen from above),
  each optionally inverted. While the point-turn button is held, linear is 0 and only the
  angular axis drives (the limiter permits point turns only near zero linear speed).
- E-stop button: a press (or a held button seen after a gap) asks for `/estop` = true. Reset
  button: a press (never a held button after a gap) asks to call `/estop/reset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
import math

NO_BUTTON = -1


class TeleopState(str, Enum):
    """Why the output is what it is (shown in diagnostics and logs)."""

    NO_JOY = 'no_joy'            # nothing received yet
    STALE = 'stale'              # last Joy older than joy_timeout
    INVALID = 'invalid'          # last Joy rejected (non-finite / too short)
    RELEASED = 'released'        # enable button not held
    REARM = 'rearm'              # held, but not pressed with centred sticks: release, centre, press
    ACTIVE = 'active'            # driving


@dataclass(frozen=True)
class TeleopConfig:
    """Mapping and limits; buttons may be NO_BUTTON (-1) except the enable button."""

    max_linear_speed: float
    max_angular_speed: float
    axis_linear: int = 1
    axis_angular: int = 0
    enable_button: int = 4
    estop_button: int = 1
    reset_button: int = 7
    point_turn_button: int = NO_BUTTON
    invert_linear: bool = False
    invert_angular: bool = False
    centre_tolerance: float = 0.1
    joy_timeout: float = 0.5

    def __post_init__(self) -> None:
        for name in ('max_linear_speed', 'max_angular_speed', 'joy_timeout'):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0.0:
                raise ValueError(f'{name} must be a finite number > 0, got {value!r}')
        if not 0.0 <= self.centre_tolerance < 1.0:
            raise ValueError(f'centre_tolerance must be in [0, 1), got {self.centre_tolerance!r}')
        for name in ('axis_linear', 'axis_angular', 'enable_button'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')
        for name in ('estop_button', 'reset_button', 'point_turn_button'):
            if getattr(self, name) < NO_BUTTON:
                raise ValueError(f'{name} must be >= 0 or -1 (none), got {getattr(self, name)}')
        used = [self.enable_button] + [b for b in (self.estop_button, self.reset_button, self.point_turn_button)
                                       if b != NO_BUTTON]
        if len(set(used)) != len(used):
            raise ValueError(f'enable/estop/reset/point_turn buttons must differ, got {used}')
        if self.axis_linear == self.axis_angular:
            raise ValueError(f'axis_linear and axis_angular must differ, both are {self.axis_linear}')

    @property
    def max_axis(self) -> int:
        return max(self.axis_linear, self.axis_angular)

    @property
    def max_button(self) -> int:
        return max(self.enable_button, self.estop_button, self.reset_button, self.point_turn_button)


@dataclass(frozen=True)
class TeleopOutput:
    """The command to publish: m/s, rad/s in base_link, and the state that produced it."""

    linear: float
    angular: float
    state: TeleopState

    @property
    def moving(self) -> bool:
        return self.linear != 0.0 or self.angular != 0.0


@dataclass(frozen=True)
class JoyActions:
    """What a Joy message asks for besides motion; `rejected` explains an invalid message."""

    estop: bool = False
    reset: bool = False
    rejected: str | None = None


class JoyTeleopCore:
    """State machine of the deadman; feed `on_joy`, read `output(now)` at the output rate."""

    def __init__(self, config: TeleopConfig) -> None:
        self.config = config
        self._last_rx: float | None = None
        self._prev: tuple[int, ...] | None = None   # buttons of the previous valid message, None after a gap
        self._armed = False
        self._invalid = False
        self._axes: tuple[float, ...] = ()
        self._buttons: tuple[int, ...] = ()

    def reconfigure(self, config: TeleopConfig) -> None:
        """New mapping/limits; disarms (the meaning of the buttons may have changed)."""
        self.config = config
        self._disarm()

    def _disarm(self) -> None:
        self._armed = False
        self._prev = None

    def on_joy(self, axes: Sequence[float], buttons: Sequence[int], now: float) -> JoyActions:
        """Take one Joy message received at `now`; returns the e-stop / reset requests."""
        cfg = self.config
        problem = None
        if not all(isinstance(a, (int, float)) and math.isfinite(a) for a in axes):
            problem = 'non-finite axis value'
        elif len(axes) <= cfg.max_axis:
            problem = f'{len(axes)} axes, the mapping needs index {cfg.max_axis}'
        elif len(buttons) <= cfg.max_button:
            problem = f'{len(buttons)} buttons, the mapping needs index {cfg.max_button}'
        if problem is not None:
            self._invalid = True
            self._last_rx = now
            self._disarm()
            return JoyActions(rejected=problem)
        self._invalid = False
        stale_before = self._is_stale(now)
        if stale_before:
            self._disarm()
        pressed = tuple(1 if b else 0 for b in buttons)
        prev = self._prev

        def held(index: int) -> bool:
            return index != NO_BUTTON and pressed[index] == 1

        def edge(index: int) -> bool:
            return held(index) and prev is not None and prev[index] == 0

        estop = held(cfg.estop_button) and (prev is None or prev[cfg.estop_button] == 0)
        reset = edge(cfg.reset_button)
        if not held(cfg.enable_button) or estop:
            self._armed = False
        elif edge(cfg.enable_button):
            self._armed = self._centred(axes)
        self._axes = tuple(float(a) for a in axes)
        self._buttons = pressed
        self._prev = pressed
        self._last_rx = now
        return JoyActions(estop=estop, reset=reset)

    def _centred(self, axes: Sequence[float]) -> bool:
        tol = self.config.centre_tolerance
        return abs(axes[self.config.axis_linear]) <= tol and abs(axes[self.config.axis_angular]) <= tol

    def _is_stale(self, now: float) -> bool:
        if self._last_rx is None:
            return True
        age = now - self._last_rx
        return age < 0.0 or age > self.config.joy_timeout

    def output(self, now: float) -> TeleopOutput:
        """The command for time `now`; zero unless armed, fresh and valid."""
        cfg = self.config
        if self._last_rx is None:
            return TeleopOutput(0.0, 0.0, TeleopState.NO_JOY)
        if self._is_stale(now):
            self._disarm()
            return TeleopOutput(0.0, 0.0, TeleopState.STALE)
        if self._invalid:
            return TeleopOutput(0.0, 0.0, TeleopState.INVALID)
        if not self._buttons[cfg.enable_button]:
            return TeleopOutput(0.0, 0.0, TeleopState.RELEASED)
        if not self._armed:
            return TeleopOutput(0.0, 0.0, TeleopState.REARM)
        lin_axis = max(-1.0, min(1.0, self._axes[cfg.axis_linear]))
        ang_axis = max(-1.0, min(1.0, self._axes[cfg.axis_angular]))
        linear = (-lin_axis if cfg.invert_linear else lin_axis) * cfg.max_linear_speed
        angular = (-ang_axis if cfg.invert_angular else ang_axis) * cfg.max_angular_speed
        if cfg.point_turn_button != NO_BUTTON and self._buttons[cfg.point_turn_button]:
            linear = 0.0
        return TeleopOutput(linear + 0.0, angular + 0.0, TeleopState.ACTIVE)
