"""Plausibility of a clock or stamp stream: one wild value must not move a whole run.

A foreign `/clock` with sec = 2^31-1 would end a run at once (its end is judged on sim time),
and one pose stamped -2^31 s would shift every later event by decades. `ClockGuard` accepts a
time only when it continues the accepted stream: at most `max_jump_s` ahead of the last
accepted value and at most `max_back_s` behind it. So that a guard anchored on a wrong first
value cannot lock the real clock out for ever, `reanchor_after` consecutive rejected values
that are themselves a continuous stream become the new anchor.
"""

from __future__ import annotations

import math


class ClockGuard:
    """Accepts or rejects times (seconds) of one stream; counts the rejections."""

    def __init__(self, max_jump_s: float = 60.0, max_back_s: float = 1.0, reanchor_after: int = 10) -> None:
        self.max_jump_s = max_jump_s
        self.max_back_s = max_back_s
        self.reanchor_after = reanchor_after
        self.last: float | None = None
        self.rejected = 0
        self._candidate: float | None = None
        self._candidate_count = 0

    def _continues(self, previous: float, t: float) -> bool:
        return -self.max_back_s <= t - previous <= self.max_jump_s

    def accept(self, t: float) -> bool:
        """True when `t` is plausible (and it becomes the reference), False when it is not."""
        if not math.isfinite(t):
            self.rejected += 1
            return False
        if self.last is None or self._continues(self.last, t):
            self.last = t if self.last is None else max(self.last, t)
            self._candidate, self._candidate_count = None, 0
            return True
        self.rejected += 1
        if self._candidate is not None and self._continues(self._candidate, t):
            self._candidate_count += 1
        else:
            self._candidate_count = 1
        self._candidate = t
        if self._candidate_count >= self.reanchor_after:  # the other stream is the real one
            self.last, self._candidate, self._candidate_count = t, None, 0
            return True
        return False
