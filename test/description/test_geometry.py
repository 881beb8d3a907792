"""load_geometry(): the numbers consumers get, checked against the spec and against the URDF itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rover_description.description import urdf_model
from rover_description.geometry import PROFILES, WHEEL_NAMES, load_geometry


@pytest.fixture(scope='module', params=PROFILES)
def geo(request):
    return load_geometry(request.param)


def test_cached_and_profile_checked():
    assert load_geometry('yutu2') is load_geometry('yutu2')
    with pytest.raises(ValueError, match='unknown rover profile'):
        load_geometry('nope')


def test_wheel_order_and_joint_names(geo):
    assert tuple(w.name for w in geo.wheels) == WHEEL_NAMES
    for w in geo.wheels:
        assert w.joint == f'wheel_{w.name}_joint'
        assert w.steerable == (w.name[0] in 'fr')
        assert (w.steer_joint == f'steer_{w.name}_joint') == w.steerable


def test_base_link_is_on_the_middle_axle_between_the_middle_wheels(geo):
    ml, mr = geo.wheel('ml'), geo.wheel('mr')
    assert ml.x == pytest.approx(0.0, abs=1e-9) and mr.x == pytest.approx(0.0, abs=1e-9)
    assert ml.y == pytest.approx(-mr.y) and ml.y > 0
    for w in geo.wheels:
        assert w.z == pytest.approx(0.0, abs=1e-9)  # all axles at base_link height at nominal stance


def test_left_right_symmetry(geo):
    for side in 'fmr':
        left, right = geo.wheel(side + 'l'), geo.wheel(side + 'r')
        assert left.x == pytest.approx(right.x) and left.y == pytest.approx(-right.y) and left.y > 0


def test_steering_axes_pass_through_the_wheel_centres(geo):
    model = urdf_model(geo.profile)
    poses = model.link_transforms()
    for w in geo.wheels:
        if w.steerable:
            steer = poses[model.joints[w.steer_joint].child]
            assert np.allclose(steer[:3, 2], [0, 0, 1])  # vertical axis at nominal stance
            assert steer[:2, 3] == pytest.approx([w.x, w.y])


def test_steering_allows_a_point_turn(geo):
    for w in geo.wheels:
        if w.steerable:
            needed = math.atan2(abs(w.x), abs(w.y))  # wheel tangent to a circle about base_link
            assert w.steer_max > needed and w.steer_min < -needed


def test_yutu2_matches_the_spec():
    g = load_geometry('yutu2')
    assert g.mass == pytest.approx(135.0, rel=0.05)
    assert g.wheel_radius == pytest.approx(0.15) and g.wheels[0].width == pytest.approx(0.15)
    assert g.wheel('fl').x - g.wheel('rl').x == pytest.approx(1.0, abs=0.1)  # wheelbase ~1.0 m
    assert g.wheel('ml').y - g.wheel('mr').y == pytest.approx(1.0, abs=0.1)  # track ~1.0 m
    assert g.belly_clearance >= 0.25
    assert g.footprint[1] - g.footprint[0] <= 1.5 + 1e-9
    model = urdf_model('yutu2')
    poses = model.link_transforms()
    top = max(s.extent_along(poses[link.name] @ s.origin, [0, 0, 1])[1]
              for link in model.links.values() for s in link.collisions)
    assert top + g.wheel_radius == pytest.approx(1.0, abs=0.05)  # 1.0 m tall with the mast


def test_hobby_matches_the_open_source_rover():
    g = load_geometry('hobby')
    assert g.wheel_radius == pytest.approx(0.075)
    assert g.wheel('fl').x == pytest.approx(0.267) and g.wheel('rl').x == pytest.approx(-0.267)
    assert g.wheel('fl').y == pytest.approx(0.184) and g.wheel('ml').y == pytest.approx(0.2556)


def test_footprint_contains_the_wheels(geo):
    x0, x1, y0, y1 = geo.footprint
    for w in geo.wheels:
        assert x0 <= w.x - w.radius + 1e-9 and w.x + w.radius <= x1 + 1e-9
        assert y0 <= w.y - w.width / 2 + 1e-9 and w.y + w.width / 2 <= y1 + 1e-9
    assert geo.front_x == pytest.approx(max(w.x + w.radius for w in geo.wheels))


def test_imu_and_sensor_poses(geo):
    assert geo.imu.frame == 'imu_link' and geo.imu.rpy == pytest.approx((0, 0, 0), abs=1e-12)
    cam = geo.hazcam
    assert cam.pose.frame == 'hazcam_link'
    assert cam.pose.rpy[1] > 0  # pitched down (REP-103: positive pitch turns x toward -z)
    assert cam.width > 8 and cam.height > 8 and 0 < cam.min_range < cam.max_range and cam.rate_hz > 0
    assert geo.mast_camera.frame == 'mastcam_optical_frame'


def test_hazcam_view_starts_near_the_front_and_reaches_3_m(geo):
    """Centre column over flat ground: the lowest ray lands <= 0.1 m ahead of the front-most point,
    the highest reaches >= 3 m ahead of it (within max_range)."""
    cam = geo.hazcam
    x, _, z = cam.pose.xyz
    height = z + geo.wheel_radius  # above flat ground
    lowest = cam.pose.rpy[1] + cam.v_fov / 2  # rad below the horizon
    highest = cam.pose.rpy[1] - cam.v_fov / 2
    assert 0 < lowest < math.pi / 2
    near = x + height / math.tan(lowest)
    assert near <= geo.front_x + 0.1
    assert height / math.sin(lowest) <= cam.max_range
    far = x + (height / math.tan(highest) if highest > 0 else cam.max_range * math.cos(highest))
    if highest > 0:
        assert height / math.sin(highest) <= cam.max_range
    assert far >= geo.front_x + 3.0
    assert x > 0 and abs(cam.pose.xyz[1]) < 1e-9


def test_com_is_low_and_central(geo):
    cx, cy, cz = geo.com
    assert abs(cy) < 1e-6 and abs(cx) < 0.05
    assert 0 < cz < 0.5
    assert geo.max_wheel_rate > 0 and geo.max_steer_rate > 0
