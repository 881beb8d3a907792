"""Main battery monitoring: a low-pass filtered voltage with a low/resume hysteresis (pure).

Motor current makes the voltage sag for a moment; the filter (first order, time constant
`tau_s`) keeps such dips from stopping the rover, and the hysteresis (stop below `low_v`,
allow again only above `resume_v`) keeps it from chattering around the threshold.
"""

from __future__ import annotations

import math


class BatteryMonitor:
    def __init__(self, low_v: float, resume_v: float, tau_s: float) -> None:
        if not (math.isfinite(low_v) and math.isfinite(resume_v) and 0 < low_v < resume_v):
            raise ValueError(f'need 0 < battery low voltage < resume voltage, got {low_v} and {resume_v}')
        if not (math.isfinite(tau_s) and tau_s >= 0):
            raise ValueError(f'battery filter time constant must be >= 0 s, got {tau_s}')
        self.low_v = low_v
        self.resume_v = resume_v
        self.tau_s = tau_s
        self.voltage: float | None = None
        self.low = False
        self._t: float | None = None

    def update(self, now: float, volts: float) -> bool:
        """Feed one reading (V) at `now` (s); returns True when it was accepted.

        Non-finite or non-positive readings are rejected (the caller counts them as errors).
        """
        if not (math.isfinite(volts) and volts > 0):
            return False
        if self.voltage is None or self._t is None:
            self.voltage = volts
        else:
            dt = max(0.0, now - self._t)
            alpha = 1.0 if self.tau_s == 0 else 1.0 - math.exp(-dt / self.tau_s)
            self.voltage += alpha * (volts - self.voltage)
        self._t = now
        if self.low and self.voltage >= self.resume_v:
            self.low = False
        elif not self.low and self.voltage < self.low_v:
            self.low = True
        return True
