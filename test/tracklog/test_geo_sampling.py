"""Pure cores: attitude, selenographic conversion, sampling, odometer, moving-average speed."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rover_nav.tracklog import geo
from rover_nav.tracklog.sampling import MovingAverageSpeed, Odometer, TrackSampler, decimate

finite = st.floats(-1e3, 1e3, allow_nan=False)


def quat_from_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


@given(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5), st.floats(-3.1, 3.1))
def test_yaw_and_tilt_from_quaternion(roll, pitch, yaw):
    q = quat_from_rpy(roll, pitch, yaw)
    assert geo.yaw_from_quaternion(*q) == pytest.approx(yaw, abs=1e-9)
    expected_tilt = math.degrees(math.acos(math.cos(roll) * math.cos(pitch)))
    assert geo.tilt_deg_from_quaternion(*q) == pytest.approx(expected_tilt, abs=1e-6)


def test_tilt_is_scale_invariant_and_rejects_garbage():
    q = quat_from_rpy(0.0, math.radians(20), 0.3)
    assert geo.tilt_deg_from_quaternion(*(2 * v for v in q)) == pytest.approx(20.0)
    for bad in ((0, 0, 0, 0), (math.nan, 0, 0, 1), (0, 0, math.inf, 1)):
        with pytest.raises(ValueError):
            geo.yaw_from_quaternion(*bad)


def test_selenographic_origin_and_scale():
    assert geo.local_to_selenographic(0.0, 0.0) == pytest.approx((177.588, -45.457))
    lon, lat = geo.local_to_selenographic(0.0, 1000.0)
    assert (lat - (-45.457)) == pytest.approx(math.degrees(1000.0 / 1737400.0))
    lon, _ = geo.local_to_selenographic(1000.0, 0.0)  # east: longitude grows, more at high latitude
    assert lon - 177.588 == pytest.approx(math.degrees(1000.0 / (1737400.0 * math.cos(math.radians(45.457)))))
    # wrap across the antimeridian
    lon, _ = geo.local_to_selenographic(200_000.0, 0.0, 179.9, 0.0)
    assert -180.0 < lon < -170.0
    with pytest.raises(ValueError):
        geo.local_to_selenographic(math.nan, 0.0)


@given(st.floats(-5e3, 5e3), st.floats(-5e3, 5e3))
def test_selenographic_round_trip(x, y):
    lon, lat = geo.local_to_selenographic(x, y)
    assert geo.selenographic_to_local(lon, lat) == pytest.approx((x, y), abs=1e-6)


def test_sampler_parked_rover_adds_nothing_and_turns_add_points():
    s = TrackSampler(0.05, math.radians(5))
    assert s.offer(0, 0, 0, 0)
    assert not any(s.offer(1e-4 * (i % 3), 0, 0, 1e-4) for i in range(1000))  # jitter while parked
    turned = sum(s.offer(0, 0, 0, math.radians(a)) for a in range(1, 91))  # point turn, 90 deg
    assert 16 <= turned <= 18  # one per 5 deg (float rounding may defer one step)
    assert s.offer(0.05, 0, 0, math.radians(90))


@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=50))
def test_sampler_points_are_spaced(positions):
    s = TrackSampler(0.5, math.radians(10))
    taken = [(x, y) for x, y in positions if s.offer(x, y, 0.0, 0.0)]
    assert taken[0] == positions[0]
    for a, b in zip(taken, taken[1:], strict=False):
        assert math.dist(a, b) >= 0.5


def test_odometer_deadband_and_straight_line():
    odo = Odometer(0.01)
    for i in range(101):
        odo.update(0.001 * i, 0.0, 0.0)  # 0.1 m in 1 mm steps
    assert odo.total_with_tail() == pytest.approx(0.1)
    for _ in range(1000):  # jitter below the dead band
        odo.update(0.1 + 0.003, 0.0, 0.0)
        odo.update(0.1 - 0.003, 0.0, 0.0)
    assert odo.distance_m == pytest.approx(0.1, abs=0.011)
    with pytest.raises(ValueError):
        odo.update(math.nan, 0.0)


@settings(max_examples=50)
@given(st.floats(0.2, 2.0), st.floats(0.2, 5.0))
def test_odometer_on_a_circle_matches_arc_length(radius, angle):
    odo = Odometer(0.01)
    n = 2000
    for i in range(n + 1):
        a = angle * i / n
        odo.update(radius * math.cos(a), radius * math.sin(a), 0.0)
    assert odo.total_with_tail() == pytest.approx(radius * angle, rel=2e-3)


def test_moving_average_speed():
    m = MovingAverageSpeed(1.0)
    assert m.update(0.0, 0.0, 0.0) is None
    for i in range(1, 101):  # 0.05 m/s for 5 s at 20 Hz, then 0.1 m/s
        m.update(i * 0.05, 0.05 * i * 0.05, 0.0)
    assert m.current() == pytest.approx(0.05)
    x = 0.05 * 5.0
    for i in range(1, 21):
        x += 0.1 * 0.05
        m.update(5.0 + i * 0.05, x, 0.0)
    assert m.current() == pytest.approx(0.1)
    assert m.max_speed == pytest.approx(0.1)
    m.update(1.0, 99.0, 0.0)  # out of order: ignored
    assert m.current() == pytest.approx(0.1)


@given(st.integers(0, 500), st.integers(2, 60))
def test_decimate_bounds_and_keeps_ends(n, max_len):
    items = list(range(n))
    out = decimate(items, max_len)
    assert len(out) <= max(max_len, 0) or n <= max_len
    assert len(out) <= max_len or n == len(out) <= max_len
    if n:
        assert out[0] == 0 and out[-1] == n - 1
        assert out == sorted(out)
