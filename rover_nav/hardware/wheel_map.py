"""Which wheel is on which RoboClaw channel, and the unit conversions between them (pure).

Wheel joint speeds are rad/s (positive = the wheel rolls the rover forward, as the drive
controller commands them); the RoboClaw wants signed encoder counts per second (qpps). A
motor mounted mirror-wise (usually the right side) has direction -1.

    qpps = direction * omega * counts_per_rev / (2 pi)

`counts_per_rev` is quadrature counts per WHEEL revolution (encoder counts per motor turn x
gear ratio); it has no default because a wrong value scales every speed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import math

from rover_nav.hardware.roboclaw_protocol import ADDRESS_MAX, ADDRESS_MIN
from rover_nav.runtime.params import ConfigError

WHEEL_ORDER = ('fl', 'ml', 'rl', 'fr', 'mr', 'rr')
_INT32 = 2**31


@dataclass(frozen=True)
class MotorChannel:
    """One motor: controller address, motor 1 or 2, direction +1/-1 (forward = positive counts)."""

    address: int
    motor: int
    direction: int


def parse_channel(text: str, key: str = 'wheel_channels') -> tuple[int, int]:
    """'128:M1' -> (128, 1). Raises ConfigError naming `key` on anything else."""
    try:
        address_text, motor_text = text.split(':')
        address = int(address_text.strip())
        motor = int(motor_text.strip().upper().removeprefix('M'))
    except ValueError:
        raise ConfigError(f"parameter '{key}': {text!r} is not 'ADDRESS:M1' or 'ADDRESS:M2'") from None
    if not ADDRESS_MIN <= address <= ADDRESS_MAX or motor not in (1, 2):
        raise ConfigError(f"parameter '{key}': {text!r} needs an address in [{ADDRESS_MIN}, {ADDRESS_MAX}] and M1/M2")
    return address, motor


def build_channels(channels: Sequence[str], directions: Sequence[int],
                   addresses: Iterable[int]) -> dict[str, MotorChannel]:
    """Wheel name -> MotorChannel from the `wheel_channels` / `wheel_directions` parameters.

    Both lists follow WHEEL_ORDER (fl, ml, rl, fr, mr, rr). Every channel must be on one of
    `addresses` and used once.
    """
    if len(channels) != len(WHEEL_ORDER):
        raise ConfigError(f"parameter 'wheel_channels' needs {len(WHEEL_ORDER)} entries {WHEEL_ORDER}, "
                          f'got {len(channels)}')
    if len(directions) != len(WHEEL_ORDER):
        raise ConfigError(f"parameter 'wheel_directions' needs {len(WHEEL_ORDER)} entries, got {len(directions)}")
    known = set(addresses)
    out: dict[str, MotorChannel] = {}
    used: set[tuple[int, int]] = set()
    for wheel, text, direction in zip(WHEEL_ORDER, channels, directions, strict=True):
        address, motor = parse_channel(text)
        if address not in known:
            raise ConfigError(f"parameter 'wheel_channels': wheel {wheel} is on address {address}, "
                              f"which is not in 'roboclaw_addresses' {sorted(known)}")
        if (address, motor) in used:
            raise ConfigError(f"parameter 'wheel_channels': {text!r} is used twice")
        if direction not in (1, -1):
            raise ConfigError(f"parameter 'wheel_directions': {direction!r} for wheel {wheel} must be 1 or -1")
        used.add((address, motor))
        out[wheel] = MotorChannel(address, motor, direction)
    return out


@dataclass(frozen=True)
class WheelMap:
    """Conversions for the six drive wheels.

    max_wheel_rad_s: the fastest any wheel may turn (max_wheel_speed / wheel radius); commands
    above it scale ALL wheels down by the same factor, so the commanded curvature survives.
    """

    channels: Mapping[str, MotorChannel]
    counts_per_rev: float
    max_wheel_rad_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.counts_per_rev) and self.counts_per_rev > 0):
            raise ValueError(f'counts_per_rev must be > 0, got {self.counts_per_rev}')
        if not (math.isfinite(self.max_wheel_rad_s) and self.max_wheel_rad_s > 0):
            raise ValueError(f'max_wheel_rad_s must be > 0, got {self.max_wheel_rad_s}')

    @property
    def addresses(self) -> list[int]:
        return sorted({c.address for c in self.channels.values()})

    def counts_per_rad(self) -> float:
        return self.counts_per_rev / (2.0 * math.pi)

    def limit(self, wheel_rad_s: Mapping[str, float]) -> tuple[dict[str, float], float]:
        """Scale all wheel speeds by one factor so none exceeds the limit; returns (speeds, factor).

        Missing or NaN wheels mean "not commanded" and become 0 (stop), never a guess.
        """
        speeds = {w: float(wheel_rad_s.get(w, 0.0)) for w in self.channels}
        speeds = {w: (0.0 if math.isnan(v) else v) for w, v in speeds.items()}
        if not all(math.isfinite(v) for v in speeds.values()):
            raise ValueError('wheel speeds must be finite')
        fastest = max((abs(v) for v in speeds.values()), default=0.0)
        factor = 1.0 if fastest <= self.max_wheel_rad_s else self.max_wheel_rad_s / fastest
        return {w: v * factor for w, v in speeds.items()}, factor

    def qpps(self, wheel: str, rad_s: float) -> int:
        """Signed encoder counts per second for one wheel (rounded to the nearest count)."""
        channel = self.channels[wheel]
        return int(round(channel.direction * rad_s * self.counts_per_rad()))

    def controller_speeds(self, wheel_rad_s: Mapping[str, float]) -> dict[int, tuple[int, int]]:
        """Address -> (M1 qpps, M2 qpps) for a set of wheel speeds (limited first).

        A controller channel no wheel uses gets 0.
        """
        limited, _ = self.limit(wheel_rad_s)
        out = {a: [0, 0] for a in self.addresses}
        for wheel, rad_s in limited.items():
            channel = self.channels[wheel]
            out[channel.address][channel.motor - 1] = self.qpps(wheel, rad_s)
        return {a: (m[0], m[1]) for a, m in out.items()}

    def wheel_rad_s(self, wheel: str, qpps: int) -> float:
        """Measured wheel speed (rad/s, forward positive) from controller counts per second."""
        return self.channels[wheel].direction * qpps / self.counts_per_rad()

    def wheel_rad(self, wheel: str, counts: int) -> float:
        """Wheel angle (rad, forward positive) from unwrapped encoder counts."""
        return self.channels[wheel].direction * counts / self.counts_per_rad()


def unwrap_delta(previous: int, current: int) -> int:
    """The signed change between two int32 encoder readings, across the 32-bit wrap."""
    return ((current - previous + _INT32) % (2 * _INT32)) - _INT32


class EncoderTracker:
    """Unwrapped encoder counts per wheel since the first reading (which becomes zero)."""

    def __init__(self) -> None:
        self._raw: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def update(self, wheel: str, raw: int) -> int:
        """Feed one raw int32 reading; returns the unwrapped counts since the first reading."""
        if wheel not in self._raw:
            self._raw[wheel] = raw
            self._total[wheel] = 0
        else:
            self._total[wheel] += unwrap_delta(self._raw[wheel], raw)
            self._raw[wheel] = raw
        return self._total[wheel]

    def counts(self, wheel: str) -> int | None:
        return self._total.get(wheel)
