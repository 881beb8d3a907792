"""Input checks shared by node shells: reject non-finite or malformed values, not crash."""

from __future__ import annotations

from collections.abc import Iterable
import math


def all_finite(values: Iterable[float]) -> bool:
    """True when every value is a finite float (NaN and +/-inf are rejected)."""
    try:
        return all(math.isfinite(v) for v in values)
    except TypeError:
        return False


def stamp_seconds(stamp: object) -> float:
    """A builtin_interfaces/Time as float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9  # type: ignore[attr-defined]


def stamp_too_far_ahead(stamp_s: float, now_s: float, max_skew_s: float) -> bool:
    """True when a message claims to come from further in the future than the allowed skew.

    A zero stamp means "unstamped" and is accepted (judged by receive time only).
    """
    return stamp_s > 0.0 and stamp_s - now_s > max_skew_s
