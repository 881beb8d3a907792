"""The motor watchdog: when may the wheels turn? (pure, explicit `now` in seconds)

Motors may turn only while (a) the driver is active, (b) no fault is present (serial link,
low battery, e-stop, ...), and (c) the newest command is younger than `command_timeout` (and
not from the future: a clock that jumped back) AND arrived after the last moment a fault was
present. So a fault stops the motors at once and they stay stopped until the fault is gone AND
a fresh command arrives; a stale command from before the fault never restarts them. The drive
controller's `CommandGate` uses this core too (the e-stop as its one fault).
"""

from __future__ import annotations

from dataclasses import dataclass
import math


@dataclass(frozen=True)
class Decision:
    """Whether the motors may turn now, and why not (sorted reasons, empty when allowed)."""

    allowed: bool
    reasons: tuple[str, ...]


class Watchdog:
    """Tracks command freshness and active faults; `decide(now)` says whether to drive."""

    def __init__(self, command_timeout_s: float) -> None:
        self.command_timeout_s = self._check_timeout(command_timeout_s)
        self._last_command_t: float | None = None
        self._faults: set[str] = set()
        self._fault_seen_t = -math.inf  # last time a fault was present

    @staticmethod
    def _check_timeout(value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f'command_timeout must be > 0 s, got {value}')
        return float(value)

    def set_timeout(self, command_timeout_s: float) -> None:
        self.command_timeout_s = self._check_timeout(command_timeout_s)

    @property
    def faults(self) -> frozenset[str]:
        return frozenset(self._faults)

    def command(self, now: float) -> None:
        """A valid command arrived at `now` (receive time on the node clock)."""
        self._last_command_t = now

    def raise_fault(self, now: float, name: str) -> None:
        self._faults.add(name)
        self._fault_seen_t = now

    def clear_fault(self, now: float, name: str) -> None:
        if name in self._faults:
            self._faults.discard(name)
            self._fault_seen_t = now

    def decide(self, now: float) -> Decision:
        reasons = sorted(self._faults)
        if self._faults:
            self._fault_seen_t = now
        last = self._last_command_t
        if last is None:
            reasons.append('no_command')
        elif not 0.0 <= now - last <= self.command_timeout_s:  # a clock that jumped back is no fresher
            reasons.append('command_timeout')
        elif last < self._fault_seen_t and not self._faults:
            reasons.append('waiting_for_fresh_command')
        return Decision(not reasons, tuple(reasons))
