"""Static tip-over geometry: hand-checkable cases and properties."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.geometry import DepthSensor, Pose, RoverGeometry, Wheel, load_geometry
from rover_description.stability import convex_hull, distance_to_boundary, static_stability


def _box_rover(half_x: float, half_y: float, com_z: float, radius: float = 0.1) -> RoverGeometry:
    wheels = tuple(Wheel(n, f'wheel_{n}_joint', None, x, y, 0.0, radius, 0.1)
                   for n, x, y in (('fl', half_x, half_y), ('ml', 0, half_y), ('rl', -half_x, half_y),
                                   ('fr', half_x, -half_y), ('mr', 0, -half_y), ('rr', -half_x, -half_y)))
    cam = DepthSensor(Pose('hazcam_link', (0, 0, 0), (0, 0, 0)), 1, 1, 2, 2, 0.1, 3, 5)
    return RoverGeometry('test', 10, wheels, (-half_x, half_x, -half_y, half_y), 0.1,
                         Pose('imu_link', (0, 0, 0), (0, 0, 0)), cam, 1.0, com=(0.0, 0.0, com_z))


def test_square_rover_tips_at_atan_half_track_over_height():
    report = static_stability(_box_rover(0.5, 0.5, 0.4, radius=0.1), n_headings=8)
    assert report.com_height == pytest.approx(0.5)
    # sideways and fore-aft: atan(0.5 / 0.5) = 45 deg; diagonals: atan(0.707 / 0.5)
    assert math.degrees(report.tip_angles[0]) == pytest.approx(45.0)
    assert math.degrees(report.tip_angles[2]) == pytest.approx(45.0)
    assert report.tip_angles[1] == pytest.approx(math.atan(math.sqrt(0.5) / 0.5))
    assert math.degrees(report.margin(math.radians(20))) == pytest.approx(25.0)


@given(st.floats(0.1, 2), st.floats(0.1, 2), st.floats(0.05, 2), st.floats(0.05, 2))
def test_a_higher_centre_of_mass_is_never_more_stable(hx, hy, z1, dz):
    low = static_stability(_box_rover(hx, hy, z1), n_headings=24)
    high = static_stability(_box_rover(hx, hy, z1 + dz), n_headings=24)
    assert all(h <= lo + 1e-12 for h, lo in zip(high.tip_angles, low.tip_angles, strict=True))


def test_hull_and_ray_distance():
    hull = convex_hull(np.array([[0, 0], [2, 0], [2, 1], [0, 1], [1, 0.5]]))
    assert len(hull) == 4
    assert distance_to_boundary(hull, np.array([1.0, 0.5]), np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert distance_to_boundary(hull, np.array([1.0, 0.5]), np.array([0.0, -1.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        distance_to_boundary(hull, np.array([5.0, 5.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError):
        convex_hull(np.array([[0, 0], [1, 1]]))


@pytest.mark.parametrize('profile', ['yutu2', 'hobby'])
def test_real_profiles_have_a_margin_on_20_degrees(profile):
    report = static_stability(load_geometry(profile))
    assert report.margin(math.radians(20)) > math.radians(15)
