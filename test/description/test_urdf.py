"""The expanded URDF of both profiles: validators, names, types, masses, inertias, Gazebo blocks."""

from __future__ import annotations

import subprocess

from helpers.tools import require_tool
import numpy as np
import pytest

from rover_description.description import urdf_model, urdf_xml
from rover_description.geometry import PROFILES, STEER_JOINTS, SUSPENSION_JOINTS, WHEEL_JOINTS

# Frames the spec and the sensors name.
FRAMES = ('base_link', 'imu_link', 'hazcam_link', 'hazcam_optical_frame', 'mastcam_link', 'mastcam_optical_frame')


@pytest.fixture(scope='module', params=PROFILES)
def profile(request) -> str:
    return request.param


def test_xacro_expands_to_a_robot(profile):
    xml = urdf_xml(profile)
    assert xml.lstrip().startswith('<?xml')
    assert '<robot' in xml and 'xacro:' not in xml
    assert urdf_xml(profile) is xml  # cached


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match='unknown rover profile'):
        urdf_xml('curiosity')


def test_check_urdf_accepts(profile, tmp_path):
    tool = require_tool('check_urdf', 'liburdfdom-tools')
    path = tmp_path / f'rover_{profile}.urdf'
    path.write_text(urdf_xml(profile))
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Successfully Parsed XML' in result.stdout
    assert 'root Link: base_link' in result.stdout


def test_sdf_conversion_validates(profile, tmp_path):
    tool = require_tool('ign', 'ignition-tools (+ libsdformat12)')
    urdf = tmp_path / f'rover_{profile}.urdf'
    urdf.write_text(urdf_xml(profile))
    converted = subprocess.run([tool, 'sdf', '-p', str(urdf)], capture_output=True, text=True, timeout=120)
    assert converted.returncode == 0, converted.stderr
    sdf = tmp_path / f'rover_{profile}.sdf'
    sdf.write_text(converted.stdout)
    checked = subprocess.run([tool, 'sdf', '-k', str(sdf)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'Valid' in checked.stdout
    text = converted.stdout
    # the Gazebo systems and sensors survived the conversion
    assert text.count('gz::sim::systems::JointController') == 6
    assert text.count('gz::sim::systems::JointPositionController') == 4
    assert 'gz::sim::systems::JointStatePublisher' in text and 'gz::sim::systems::OdometryPublisher' in text
    assert "<sensor name='hazcam' type='gpu_lidar'>" in text and "<sensor name='imu' type='imu'>" in text
    assert '<spring_stiffness>' in text


def test_joint_names_and_types(profile):
    joints = urdf_model(profile).joints
    for name in WHEEL_JOINTS:
        assert joints[name].type == 'continuous'
        assert np.allclose(joints[name].axis, [0, 1, 0])  # +y: positive velocity rolls forward
    for name in STEER_JOINTS + SUSPENSION_JOINTS:
        assert joints[name].type == 'revolute'
        j = joints[name]
        assert j.lower < 0 < j.upper and j.effort > 0 and j.velocity > 0
        assert j.damping > 0 and j.friction > 0
    for name in STEER_JOINTS:
        assert np.allclose(joints[name].axis, [0, 0, 1])
    for name in SUSPENSION_JOINTS:
        assert np.allclose(joints[name].axis, [0, 1, 0])
    movable = {n for n, j in joints.items() if j.type != 'fixed'}
    assert movable == set(WHEEL_JOINTS + STEER_JOINTS + SUSPENSION_JOINTS)


def test_frames_exist(profile):
    assert set(FRAMES) <= set(urdf_model(profile).links)
    assert urdf_model(profile).root == 'base_link'


def test_rockers_are_coupled_by_a_differential(profile):
    model = urdf_model(profile)
    mimic = model.joints['rocker_r_joint'].mimic
    assert mimic is not None and mimic.joint == 'rocker_l_joint' and mimic.multiplier == -1.0
    assert model.joints['rocker_l_joint'].mimic is None


def test_yutu2_mass_is_135_kg():
    assert urdf_model('yutu2').total_mass() == pytest.approx(135.0, rel=0.05)


def test_every_massive_link_has_a_physical_inertia(profile):
    for link in urdf_model(profile).links.values():
        if link.inertial is None:
            assert not link.collisions, f'{link.name} collides but has no mass'
            continue
        inertia = link.inertial.inertia
        assert link.inertial.mass > 0, link.name
        eig = np.linalg.eigvalsh(inertia)
        assert np.all(eig > 0), link.name
        a, b, c = sorted(eig)
        assert a + b >= c * (1 - 1e-9), f'{link.name} violates the triangle inequality'


def test_inertias_follow_the_shapes(profile):
    """Wheel: solid cylinder m r^2 / 2 about its axle, from the collision cylinder's size."""
    model = urdf_model(profile)
    for name in WHEEL_JOINTS:
        link = model.links[model.joints[name].child]
        radius, _ = link.collisions[0].size
        assert link.inertial.inertia[1, 1] == pytest.approx(link.inertial.mass * radius**2 / 2)


def test_collision_shapes_are_primitives(profile):
    model = urdf_model(profile)
    for link in model.links.values():
        for shape in link.collisions:
            assert shape.kind in ('box', 'cylinder', 'sphere')
    for name in WHEEL_JOINTS:
        shapes = model.links[model.joints[name].child].collisions
        assert [s.kind for s in shapes] == ['cylinder']


def test_gazebo_sensor_blocks(profile):
    model = urdf_model(profile)
    for name, frame in (('imu', 'imu_link'), ('hazcam', 'hazcam_link'), ('mastcam', 'mastcam_optical_frame')):
        _, sensor = model.gazebo_sensors[name]
        assert sensor.find('gz_frame_id').text == frame
    _, imu = model.gazebo_sensors['imu']
    assert imu.find('imu/orientation_reference_frame/localization').text == 'ENU'


def test_gazebo_odometry_is_3d_world_to_base_link(profile):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(urdf_xml(profile))
    plugins = {p.get('name'): p for g in root.findall('gazebo') for p in g.findall('plugin')
               if p.get('name').endswith('OdometryPublisher')}
    (odom,) = plugins.values()
    assert odom.find('dimensions').text == '3'
    assert odom.find('odom_frame').text == 'world' and odom.find('robot_base_frame').text == 'base_link'
    controlled = [p.find('joint_name').text for g in root.findall('gazebo') for p in g.findall('plugin')
                  if p.find('joint_name') is not None]
    assert sorted(controlled) == sorted(WHEEL_JOINTS + STEER_JOINTS)
