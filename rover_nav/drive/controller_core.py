"""The drive controller's decisions, without ROS: when to hold, which inputs are fresh, what to report.

`drive_controller` (the rclpy shell in `controller_node`) feeds these cores the node clock and its
messages and publishes what they decide:

- `CommandGate`: cmd_vel freshness and the e-stop latch, on the same `Watchdog` core the hardware
  driver uses (the e-stop is one of its faults). The drive holds (zero wheel speed, steering
  held) while the last cmd_vel is older than `cmd_vel_timeout`, from a clock that jumped back, or
  while the e-stop is latched; it reports a timeout once per fresh -> stale transition.
- `fresh`/`suspension_rates`: whether a gyro or suspension sample is recent enough to be used.
- `ImuMount`: body yaw and pitch rates from a gyro sample in the IMU's mounting frame.
- `drive_status`/`suspension_status`: the one-line `/diagnostics` verdict, most urgent first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

from rover_nav.runtime.watchdog import Watchdog

ESTOP = 'estop'
LEVEL_OK = 0  # diagnostic_msgs/DiagnosticStatus.OK
LEVEL_WARN = 1  # diagnostic_msgs/DiagnosticStatus.WARN
_STALE_REASONS = frozenset({'no_command', 'command_timeout'})


@dataclass(frozen=True)
class Tick:
    """What one watchdog tick decided: publish a hold? report a (new) cmd_vel timeout?"""

    hold: bool
    timed_out: bool


class CommandGate:
    """cmd_vel freshness and the e-stop latch of the drive (explicit `now`, node-clock seconds).

    Unlike the hardware driver, a cleared e-stop does not make the drive wait for a fresh cmd_vel
    before its watchdog stops publishing holds: the drive only acts on cmd_vel as it arrives, so the
    next one (after the clear) is driven and nothing older is ever replayed.
    """

    def __init__(self, timeout_s: float) -> None:
        self._dog = Watchdog(timeout_s)
        self.stale = True  # no fresh cmd_vel: starts stale, without a timeout report
        self.last_command_t: float | None = None

    def set_timeout(self, timeout_s: float) -> None:
        self._dog.set_timeout(timeout_s)

    @property
    def timeout_s(self) -> float:
        return self._dog.command_timeout_s

    @property
    def estop(self) -> bool:
        return ESTOP in self._dog.faults

    def command(self, now: float) -> bool:
        """A valid cmd_vel arrived at `now`; True when it ends a stale period (worth a log line)."""
        self._dog.command(now)
        self.last_command_t = now
        was_stale, self.stale = self.stale, False
        return was_stale

    def latch(self, now: float) -> None:
        self._dog.raise_fault(now, ESTOP)

    def clear(self, now: float) -> None:
        self._dog.clear_fault(now, ESTOP)

    def tick(self, now: float) -> Tick:
        """The periodic check: hold while stale or e-stopped; `timed_out` once per fresh -> stale."""
        stale = not _STALE_REASONS.isdisjoint(self._dog.decide(now).reasons)
        timed_out = stale and not self.stale
        self.stale = self.stale or stale
        return Tick(hold=stale or self.estop, timed_out=timed_out)


def fresh(sample: tuple[float, float] | None, now: float, timeout_s: float) -> float | None:
    """The value of a `(value, receive time)` sample if it is at most `timeout_s` old (and not from the future)."""
    if sample is None:
        return None
    value, t = sample
    return value if 0.0 <= now - t <= timeout_s else None


def suspension_rates(pitch: tuple[float, float] | None, joints: tuple[list[float], float] | None,
                     now: float, timeout_s: float) -> list[float] | None:
    """[body pitch rate, suspension joint rates] when both samples are fresh and the pitch is finite.

    The joint rates are checked for finiteness on receipt; a stale or missing half turns the
    suspension compensation off rather than correcting with an old rate."""
    rate = fresh(pitch, now, timeout_s)
    if rate is None or joints is None or fresh((0.0, joints[1]), now, timeout_s) is None:
        return None
    return [rate, *joints[0]] if math.isfinite(rate) else None


class ImuMount:
    """Body yaw and pitch rates from a gyro sample, through the IMU's mounting rotation (base <- imu)."""

    def __init__(self, rotation: Sequence[Sequence[float]]) -> None:
        self._pitch_row = tuple(float(v) for v in rotation[1])  # base pitch rate = row 1 . gyro
        self._yaw_row = tuple(float(v) for v in rotation[2])  # base yaw rate = row 2 . gyro

    def rates(self, x: float, y: float, z: float) -> tuple[float, float] | None:
        """(yaw rate, pitch rate) in rad/s, or None for a non-finite (or non-numeric) sample."""
        try:
            if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
                return None
        except TypeError:
            return None
        m0, m1, m2 = self._yaw_row
        yaw = float(m0 * x + m1 * y + m2 * z)
        m0, m1, m2 = self._pitch_row
        return yaw, float(m0 * x + m1 * y + m2 * z)


@dataclass(frozen=True)
class LastCommand:
    """What the diagnostics need of the last published `DriveCommand`."""

    stopped: bool
    waiting: bool
    infeasible: bool
    steer_error: float


def drive_status(*, estop: bool, stale: bool, has_command: bool, waiting_for_s: float | None,
                 stall_warning_s: float, last: LastCommand | None) -> tuple[int, str]:
    """(level, message) of the drive's `/diagnostics`, the most urgent condition first."""
    if estop:
        return LEVEL_WARN, 'e-stop latched: wheels stopped'
    if stale and has_command:
        return LEVEL_WARN, 'cmd_vel stale: wheels stopped, steering held'
    if waiting_for_s is not None and waiting_for_s > stall_warning_s:
        error = last.steer_error if last is not None else math.nan
        return LEVEL_WARN, (f'corners not at their targets for {waiting_for_s:.1f} s '
                            f'(error {error:.3f} rad): jammed or weak steering?')
    if last is not None and last.infeasible:
        return LEVEL_WARN, 'requested point turn impossible with these steering limits'
    if not has_command:
        return LEVEL_OK, 'waiting for the first cmd_vel'
    if last is not None and last.waiting:
        return LEVEL_OK, 'wheels waiting for the corners to reach their angles'
    return LEVEL_OK, 'driving' if last is not None and not last.stopped else 'stopped'


def suspension_status(enabled: bool, active: bool, rates_fresh: bool) -> str:
    """The suspension compensation's state in words."""
    if not enabled:
        return 'off'
    if active:
        return 'active'
    return 'waiting for steady driving' if rates_fresh else 'no fresh rates'
