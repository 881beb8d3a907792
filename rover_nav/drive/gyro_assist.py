"""Point-turn gyro assist: turn by the commanded angle although the wheels slip.

In a point turn on regolith the wheels turn the rover ~7 % less than their rolling says, and the
wheels stand still while the corners swing into the point-turn angles. The assist integrates the
turn-angle deficit of the current point turn,

    d += (|w_req| - sign(w_req) * w_gyro) * dt        (rad, clipped to [-max_deficit, max_deficit])

and asks for |w| = |w_req| + gain * d, kept within |w_req| * [1 - max_boost, 1 + max_boost], so
the rover's measured rotation catches up with the commanded one. It only scales the wheel speeds
of a point turn (the corner angles do not depend on w), never reverses the turn, and resets when
the request stops, changes direction or stops being a point turn, or when the gyro is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
import math


@dataclass(frozen=True)
class GyroAssistConfig:
    """gain: 1/s on the deficit; max_boost: fraction of |w_req|; max_deficit: rad (anti-windup)."""

    gain: float = 0.5
    max_boost: float = 0.3
    max_deficit: float = 0.3

    def __post_init__(self) -> None:
        for name in ('gain', 'max_boost', 'max_deficit'):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'{name} must be finite and >= 0, got {value!r}')
        if self.max_boost >= 1.0:
            raise ValueError(f'max_boost must be < 1 (the turn must never stop or reverse), got {self.max_boost}')


class GyroAssist:
    """Stateful deficit integrator for one point turn at a time."""

    def __init__(self, config: GyroAssistConfig | None = None) -> None:
        self.config = config or GyroAssistConfig()
        self.reset()

    def reset(self) -> None:
        self.deficit = 0.0  # rad still to turn beyond what the request alone would give
        self._sign = 0.0
        self._t: float | None = None

    def correct(self, w_req: float, w_gyro: float | None, now: float) -> float:
        """The yaw rate (rad/s) to command for point-turn request w_req, given the gyro's body yaw rate."""
        if w_gyro is None or not math.isfinite(w_gyro) or w_req == 0.0 or not math.isfinite(w_req):
            self.reset()
            return w_req
        sign = math.copysign(1.0, w_req)
        if sign != self._sign:
            self.reset()
            self._sign = sign
        if self._t is not None and now > self._t:
            cfg = self.config
            self.deficit += (abs(w_req) - sign * w_gyro) * (now - self._t)
            self.deficit = min(max(self.deficit, -cfg.max_deficit), cfg.max_deficit)
        if self._t is None or now > self._t:
            self._t = now
        cfg = self.config
        magnitude = abs(w_req) + cfg.gain * self.deficit
        magnitude = min(max(magnitude, abs(w_req) * (1.0 - cfg.max_boost)), abs(w_req) * (1.0 + cfg.max_boost))
        return sign * magnitude
