"""The planar command the chain passes along, and the one cap every stage may apply.

A rover command is (v, w): v = base_link forward speed (m/s, + forward), w = yaw rate about
base_link z (rad/s, + counter-clockwise, REP-103). Its curvature is w / v (1/m); scaling both
by the same factor keeps the path and changes only the pace, so every cap here scales jointly.
"""

from __future__ import annotations

from dataclasses import dataclass
import math


@dataclass(frozen=True)
class Twist2D:
    """Forward speed v (m/s) and yaw rate w (rad/s) in base_link."""

    v: float
    w: float

    @property
    def moving(self) -> bool:
        return self.v != 0.0 or self.w != 0.0

    def scaled(self, factor: float) -> Twist2D:
        """Both components times `factor` (0..1): same curvature, slower."""
        return Twist2D(self.v * factor, self.w * factor)


ZERO = Twist2D(0.0, 0.0)


def require_finite(**values: float) -> None:
    """Raise ValueError naming the first argument that is NaN, inf or not a number."""
    for name, value in values.items():
        try:
            ok = math.isfinite(value)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f'{name} must be a finite number, got {value!r}')


def same_sign(a: float, b: float) -> bool:
    """True when a and b are both > 0 or both < 0 (no product: tiny values would underflow to 0)."""
    return (a > 0.0 and b > 0.0) or (a < 0.0 and b < 0.0)


def cap_preserving_curvature(v: float, w: float, v_max: float, w_max: float) -> Twist2D:
    """Scale (v, w) by one factor s <= 1 so that |v| <= v_max and |w| <= w_max.

    s = min(1, v_max/|v|, w_max/|w|), so w/v is unchanged (the commanded arc survives the
    clipping) and a point turn (v = 0) stays a point turn. The final clamp only removes the
    last-ulp overshoot of the division, so the caps hold exactly.
    """
    require_finite(v=v, w=w, v_max=v_max, w_max=w_max)
    if v_max < 0.0 or w_max < 0.0:
        raise ValueError(f'caps must be >= 0, got v_max={v_max}, w_max={w_max}')
    s = 1.0
    if abs(v) > v_max:
        s = min(s, v_max / abs(v))
    if abs(w) > w_max:
        s = min(s, w_max / abs(w))
    v_out = math.copysign(min(abs(v * s), v_max), v)
    w_out = math.copysign(min(abs(w * s), w_max), w)
    return Twist2D(v_out + 0.0, w_out + 0.0)  # + 0.0 turns -0.0 into 0.0
