"""Input checks shared by node shells (reject non-finite or malformed values, not crash), and the one
conversion between float seconds and builtin_interfaces/Time, both ways."""

from __future__ import annotations

from collections.abc import Iterable
import math
from typing import Any


def all_finite(values: Iterable[float]) -> bool:
    """True when every value is a finite float (NaN and +/-inf are rejected)."""
    try:
        return all(math.isfinite(v) for v in values)
    except TypeError:
        return False


def stamp_seconds(stamp: object) -> float:
    """A builtin_interfaces/Time as float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9  # type: ignore[attr-defined]


def seconds_to_time(seconds: float) -> Any:
    """Float seconds as a builtin_interfaces/Time, rounded to the nanosecond (a negative time clamps to 0).

    Rounding the whole count once keeps nanosec in [0, 1e9) (rounding the fraction alone can give 1e9)."""
    from builtin_interfaces.msg import Time

    nanoseconds = max(0, round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_too_far_ahead(stamp_s: float, now_s: float, max_skew_s: float) -> bool:
    """True when a message claims to come from further in the future than the allowed skew.

    A zero stamp means "unstamped" and is accepted (judged by receive time only).
    """
    return stamp_s > 0.0 and stamp_s - now_s > max_skew_s
