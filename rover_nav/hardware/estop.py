"""The driver's own e-stop latch (pure).

Any trip (the GPIO switch reading high, `/estop` true, a teleop button) latches a stop. A reset
clears it only when the physical switch is no longer tripped: releasing the mushroom never
restarts the rover by itself, and a reset while the switch is still pressed is refused.
"""

from __future__ import annotations


class EstopLatch:
    def __init__(self) -> None:
        self.latched = False
        self.source = ''
        self.switch_high = False

    def trip(self, source: str) -> bool:
        """Latch a stop; returns True when this trip is new (the caller publishes an event)."""
        new = not self.latched
        if new:
            self.source = source
        self.latched = True
        return new

    def switch(self, high: bool) -> bool:
        """Feed the GPIO level (True = high = stop); returns True when it newly latched."""
        self.switch_high = high
        return self.trip('gpio switch') if high else False

    def reset(self) -> tuple[bool, str]:
        """Try to clear the latch; returns (success, message)."""
        if self.switch_high:
            return False, 'e-stop switch is still open (pressed or wire cut): release it first'
        was = self.latched
        self.latched = False
        self.source = ''
        return True, 'e-stop reset' if was else 'e-stop was not latched'
