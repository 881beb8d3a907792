"""Steering servos: calibrated angle -> pulse width, limits, and a slew-rate model (pure).

Hobby servos have no feedback, so the angle the driver reports in `/joint_states` is MODELLED:
it moves from the last reported angle toward the commanded one at `rate` rad/s. The driver says
so in its diagnostics; odometry should treat the steering angles as estimates.

Calibration file (YAML), angles in degrees (positive = counter-clockwise seen from above,
REP-103), pulse widths in microseconds, at least two points per servo, angles increasing::

    servos:
      fl: {points: [[-40.0, 1050], [0.0, 1500], [40.0, 1950]]}
      rl: {points: [[-40.0, 1950], [0.0, 1490], [40.0, 1040]]}   # mounted mirrored
      ...

Between points the pulse is interpolated linearly; the usable range is the calibrated span
intersected with the geometry's steering limits. Neutral (0 rad) must be inside the span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math
from pathlib import Path
from typing import Any

from rover_nav.runtime.params import ConfigError

STEER_ORDER = ('fl', 'rl', 'fr', 'rr')
PULSE_MIN_US = 500.0
PULSE_MAX_US = 2500.0


@dataclass(frozen=True)
class ServoCalibration:
    """Piecewise-linear angle (rad) -> pulse (us) map for one servo, with angle limits (rad)."""

    name: str
    angles: tuple[float, ...]
    pulses: tuple[float, ...]
    min_angle: float
    max_angle: float

    @classmethod
    def from_points(cls, name: str, points: Sequence[Sequence[float]],
                    limits: tuple[float, float] | None = None) -> ServoCalibration:
        """Build from [[angle_deg, pulse_us], ...]; `limits` (rad) further restrict the span."""
        where = f'servo calibration {name!r}'
        try:
            pairs = [(float(a), float(p)) for a, p in points]
        except (TypeError, ValueError):
            raise ConfigError(f'{where}: points must be [[angle_deg, pulse_us], ...], got {points!r}') from None
        if len(pairs) < 2:
            raise ConfigError(f'{where}: needs at least two points')
        if not all(math.isfinite(a) and math.isfinite(p) for a, p in pairs):
            raise ConfigError(f'{where}: non-finite value in {points!r}')
        angles = tuple(math.radians(a) for a, _ in pairs)
        pulses = tuple(p for _, p in pairs)
        if any(b <= a for a, b in zip(angles, angles[1:], strict=False)):
            raise ConfigError(f'{where}: angles must increase strictly')
        steps = [b - a for a, b in zip(pulses, pulses[1:], strict=False)]
        if not (all(s > 0 for s in steps) or all(s < 0 for s in steps)):
            raise ConfigError(f'{where}: pulses must be strictly monotonic (one servo direction)')
        if not all(PULSE_MIN_US <= p <= PULSE_MAX_US for p in pulses):
            raise ConfigError(f'{where}: pulses must be within [{PULSE_MIN_US}, {PULSE_MAX_US}] us')
        lo, hi = angles[0], angles[-1]
        if limits is not None:
            lo, hi = max(lo, limits[0]), min(hi, limits[1])
        if not lo <= 0.0 <= hi:
            raise ConfigError(f'{where}: the usable range [{math.degrees(lo):.1f}, {math.degrees(hi):.1f}] deg '
                              'must contain the neutral angle 0')
        return cls(name, angles, pulses, lo, hi)

    def clamp(self, angle: float) -> float:
        return min(self.max_angle, max(self.min_angle, angle))

    def pulse_us(self, angle: float) -> float:
        """Pulse width (us) for `angle` (rad), clamped to the limits first."""
        a = self.clamp(angle)
        for i in range(len(self.angles) - 1):
            a0, a1 = self.angles[i], self.angles[i + 1]
            if a <= a1 or i == len(self.angles) - 2:
                frac = (a - a0) / (a1 - a0)
                return self.pulses[i] + frac * (self.pulses[i + 1] - self.pulses[i])
        return self.pulses[-1]  # pragma: no cover - loop always returns

    @property
    def neutral_us(self) -> float:
        return self.pulse_us(0.0)


def load_calibration(path: Path, limits: Mapping[str, tuple[float, float]] | None = None
                     ) -> dict[str, ServoCalibration]:
    """Read a servo calibration YAML; returns corner name (fl, rl, fr, rr) -> calibration."""
    import yaml

    try:
        data: Any = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"parameter 'servo_calibration': cannot read {path}: {exc}") from exc
    servos = (data or {}).get('servos') if isinstance(data, dict) else None
    if not isinstance(servos, dict):
        raise ConfigError(f"parameter 'servo_calibration': {path} has no 'servos:' mapping")
    missing = [n for n in STEER_ORDER if n not in servos]
    if missing:
        raise ConfigError(f"parameter 'servo_calibration': {path} lacks servos {missing}")
    out = {}
    for name in STEER_ORDER:
        entry = servos[name]
        points = entry.get('points') if isinstance(entry, dict) else None
        out[name] = ServoCalibration.from_points(name, points or [], (limits or {}).get(name))
    return out


class SteeringModel:
    """Modelled servo angle (rad): slews toward the target at `rate` rad/s. No feedback exists."""

    def __init__(self, rate: float, angle: float = 0.0) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f'steering rate must be > 0 rad/s, got {rate}')
        self.rate = rate
        self.angle = angle
        self.target = angle
        self.velocity = 0.0

    def command(self, target: float) -> None:
        self.target = target

    def advance(self, dt: float) -> float:
        """Move by at most rate*dt toward the target; returns the new modelled angle."""
        if dt <= 0:
            self.velocity = 0.0
            return self.angle
        error = self.target - self.angle
        step = max(-self.rate * dt, min(self.rate * dt, error))
        self.angle += step
        self.velocity = step / dt
        return self.angle
