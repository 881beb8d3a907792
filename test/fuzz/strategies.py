"""Hypothesis strategies for malformed, extreme and out-of-order ROS messages (no rclpy objects here:
plain values the test modules pack into messages)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

#: values that broke or nearly broke something somewhere: denormals, the largest double, infinities, NaN
EXTREMES = (0.0, -0.0, 5e-324, -5e-324, 1e-310, 2.2250738585072014e-308, 1e-6, 0.0559, -0.0559, 5.0, 1e6,
            1e20, 1e154, 1e160, 1e200, 1e308, -1e308, 1.7976931348623157e308, math.inf, -math.inf, math.nan)

#: any double, with the extremes drawn often
any_float = st.one_of(st.sampled_from(EXTREMES), st.floats(allow_nan=True, allow_infinity=True),
                      st.floats(-1.0, 1.0))

#: builtin_interfaces/Time fields: the whole int32 second range, nanosec over its whole uint32 range
stamp_fields = st.tuples(st.integers(-2**31, 2**31 - 1), st.integers(0, 2**32 - 1))


def stamp_near(now: float):
    """(sec, nanosec) relative to `now`: far past, slightly past, now, slightly ahead, far future, garbage."""
    offsets = st.one_of(st.just(0.0), st.floats(-5.0, 1.0), st.sampled_from([-1e6, -3600.0, 0.4, 0.6, 3600.0, 1e6]))

    def to_fields(offset: float) -> tuple[int, int]:
        t = max(now + offset, 0.0)
        ns = int(t * 1e9)
        return ns // 1_000_000_000, ns % 1_000_000_000

    return st.one_of(offsets.map(to_fields), stamp_fields)


unit_quaternion = st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
    lambda q: math.hypot(*q) > 0.1).map(lambda q: tuple(c / math.hypot(*q) for c in q))

#: quaternions: unit, zero, tiny, scaled (overflowing norms), non-finite
quaternion = st.one_of(
    unit_quaternion,
    st.tuples(any_float, any_float, any_float, any_float),
    st.tuples(unit_quaternion, st.sampled_from([0.0, 2e-6, 1e-160, 0.5, 1.2, 1e160, 1e308])).map(
        lambda qs: tuple(c * qs[1] for c in qs[0])),
    st.just((0.0, 0.0, 0.0, 0.0)),
)

float_list = st.lists(any_float, max_size=16)


@st.composite
def joint_state_fields(draw, joint_names: tuple[str, ...]):
    """(names, position, velocity, effort) of a JointState: right, partial, duplicated or unknown names,
    arrays of mismatched lengths, any values."""
    names = draw(st.one_of(
        st.just(list(joint_names)),
        st.lists(st.sampled_from(joint_names), max_size=2 * len(joint_names)),
        st.lists(st.one_of(st.sampled_from(joint_names), st.text(max_size=12)), max_size=len(joint_names) + 3)))
    n = len(names)
    lengths = st.one_of(st.just(n), st.just(0), st.integers(0, n + 3))
    position = draw(st.lists(any_float, min_size=draw(lengths), max_size=n + 3))
    velocity = draw(st.one_of(st.lists(st.one_of(st.floats(-1.0, 1.0), any_float), min_size=n, max_size=n),
                              st.lists(any_float, min_size=draw(lengths), max_size=n + 3)))
    return names, position, velocity, []
