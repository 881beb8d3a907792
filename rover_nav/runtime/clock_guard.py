"""Plausibility of a clock or stamp stream: one wild value must not move a whole run.

A foreign `/clock` with sec = 2^31-1 would end a run at once (its end is judged on sim time),
and one pose stamped -2^31 s would shift every later event by decades. `ClockGuard` accepts a
time only when it continues the accepted stream: at most `max_jump_s` ahead of the last
accepted value and at most `max_back_s` behind it. So that a guard anchored on a wrong first
value cannot lock the real clock out for ever, `reanchor_after` consecutive rejected values
that are themselves a continuous stream become the new anchor.

`ClockMessageFilter` is the first line, for every node on sim time: a `/clock` whose time is
not a time at all (negative seconds, nanoseconds of 1e9 or more) is dropped before rclpy's
TimeSource sees it. rclpy builds `Time(seconds=sec, nanoseconds=nanosec)` in its /clock
callback (`rclpy/time_source.py`, `TimeSource.clock_callback` -> `Time.from_msg`), which raises
ValueError on negative seconds; the exception leaves the executor's `spin_once` and ends the
process (in a one-process `rover run`: every node and the simulator with it). Nanoseconds of
1e9 or more do not raise but are read as whole seconds more than the stamp says.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
import math
from typing import Any

NS_PER_S = 1_000_000_000


def clock_message_problem(sec: int, nanosec: int) -> str | None:
    """Why (sec, nanosec) of a builtin_interfaces/Time is not a valid time point, or None when it is."""
    if sec < 0:
        return f'negative seconds ({sec})'
    if not 0 <= nanosec < NS_PER_S:
        return f'nanosec {nanosec} outside [0, 1e9)'
    return None


class ClockMessageFilter:
    """Wraps a `/clock` subscription callback: malformed times are dropped, counted and warned about.

    `warn(text)` is called for each drop (the node shell throttles it); `callback(msg)` only ever
    sees a `/clock` whose time rclpy can represent.
    """

    def __init__(self, callback: Callable[[Any], Any], warn: Callable[[str], None]) -> None:
        self.callback = callback
        self.warn = warn
        self.dropped = 0

    def __call__(self, msg: Any) -> None:
        problem = clock_message_problem(msg.clock.sec, msg.clock.nanosec)
        if problem is None:
            self.callback(msg)
            return
        self.dropped += 1
        self.warn(f'/clock dropped: {problem} is not a time ({self.dropped} dropped so far); the clock keeps '
                  'its last valid value')


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


class HoldUntilClock:
    """Items that arrive before a sim-time node's first `/clock`, held (bounded) until it comes.

    On sim time a node's clock reads 0 until its first `/clock`, so anything judged or logged on
    it before then gets a wrong time (a recorder logged such a message at 0 or, on wall time, at
    the wall clock: a bag spanning decades). Messages of other topics may well overtake the first
    `/clock` (no order across topics, and `/clock` is best effort). `hold()` keeps them while
    active; `release()` (on the first valid clock) hands them back in arrival order and ends the
    hold. Beyond `limit` items the oldest are dropped and counted.
    """

    def __init__(self, active: bool, limit: int = 1000) -> None:
        self.active = active
        self.limit = limit
        self.held = 0  # items held in all
        self.dropped = 0  # held items dropped because the hold was full
        self._items: deque[Any] = deque()

    def hold(self, item: Any) -> bool:
        """Keep `item` and return True while the clock is not valid yet; False: use it now."""
        if not self.active:
            return False
        if len(self._items) >= self.limit:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self.held += 1
        return True

    def release(self) -> list[Any]:
        """The held items, oldest first; from now on nothing is held."""
        self.active = False
        items = list(self._items)
        self._items.clear()
        return items

    def report(self) -> dict[str, int]:
        return {'held': self.held, 'dropped': self.dropped}
