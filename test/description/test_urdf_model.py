"""The URDF reading core: rotations, shape extents, transforms, parsing errors (no xacro, no rclpy)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_description.rotations import matrix_rpy, rpy_matrix
from rover_description.urdf_model import Shape, axis_rotation, parse_urdf, transform

angle = st.floats(-math.pi, math.pi, allow_nan=False)
small_pitch = st.floats(-1.5, 1.5, allow_nan=False)


@given(angle, small_pitch, angle)
def test_rpy_matrix_is_a_rotation_and_round_trips(r, p, y):
    rot = rpy_matrix(r, p, y)
    assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    assert np.allclose(rpy_matrix(*matrix_rpy(rot)), rot, atol=1e-9)


def test_rpy_convention_is_fixed_axes_roll_pitch_yaw():
    # positive pitch turns x down toward -z (a camera pitched down), positive yaw turns x toward +y
    assert np.allclose(rpy_matrix(0, 0.5, 0) @ [1, 0, 0], [math.cos(0.5), 0, -math.sin(0.5)])
    assert np.allclose(rpy_matrix(0, 0, 0.5) @ [1, 0, 0], [math.cos(0.5), math.sin(0.5), 0])
    # the ROS optical frame: z forward = parent x, x right = parent -y
    optical = rpy_matrix(-math.pi / 2, 0, -math.pi / 2)
    assert np.allclose(optical[:, 2], [1, 0, 0]) and np.allclose(optical[:, 0], [0, -1, 0])


@given(st.floats(-3, 3), st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
    lambda v: np.linalg.norm(v) > 1e-3))
def test_axis_rotation_keeps_the_axis(theta, axis):
    rot = axis_rotation(np.array(axis), theta)[:3, :3]
    unit = np.array(axis) / np.linalg.norm(axis)
    assert np.allclose(rot @ unit, unit, atol=1e-9)
    assert np.trace(rot) == pytest.approx(1 + 2 * math.cos(theta))


def _sample_points(shape: Shape, n: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(1)
    if shape.kind == 'box':
        pts = (rng.integers(0, 2, (n, 3)) - 0.5) * np.asarray(shape.size)  # corners
    elif shape.kind == 'cylinder':
        r, length = shape.size
        a = rng.uniform(0, 2 * math.pi, n)
        pts = np.stack([r * np.cos(a), r * np.sin(a), rng.choice([-length / 2, length / 2], n)], axis=1)
    else:
        v = rng.normal(size=(n, 3))
        pts = shape.size[0] * v / np.linalg.norm(v, axis=1, keepdims=True)
    return pts


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(['box', 'cylinder', 'sphere']), angle, small_pitch, angle,
       st.tuples(st.floats(0.05, 1), st.floats(0.05, 1), st.floats(0.05, 1)))
def test_extent_along_bounds_the_shape(kind, r, p, y, dims):
    size = {'box': dims, 'cylinder': dims[:2], 'sphere': dims[:1]}[kind]
    shape = Shape(kind, size, np.eye(4))
    pose = transform((0.3, -0.2, 0.1), (r, p, y))
    world = (pose[:3, :3] @ _sample_points(shape).T).T + pose[:3, 3]
    for direction in np.eye(3):
        lo, hi = shape.extent_along(pose, direction)
        proj = world @ direction
        assert lo <= proj.min() + 1e-9 and proj.max() <= hi + 1e-9
        assert proj.min() - lo < 0.02 * max(size) + 1e-9 and hi - proj.max() < 0.02 * max(size) + 1e-9


TWO_LINKS = """<robot name="t">
  <link name="a"><inertial><mass value="2"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial></link>
  <link name="b"><inertial><origin xyz="0 0 1"/><mass value="1"/>
    <inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><origin xyz="0 0 0.5"/><geometry><box size="1 2 3"/></geometry></collision></link>
  <joint name="j" type="revolute"><parent link="a"/><child link="{child}"/><origin xyz="1 0 0"/>
    <axis xyz="0 0 2"/><limit lower="-1" upper="1" effort="3" velocity="4"/></joint>
</robot>"""


def test_parse_and_forward_kinematics():
    model = parse_urdf(TWO_LINKS.format(child='b'))
    assert model.root == 'a'
    j = model.joints['j']
    assert np.allclose(j.axis, [0, 0, 1]) and (j.lower, j.upper, j.effort, j.velocity) == (-1, 1, 3, 4)
    poses = model.link_transforms({'j': math.pi / 2})
    assert np.allclose(poses['b'][:3, 3], [1, 0, 0])
    assert np.allclose(poses['b'][:3, 0], [0, 1, 0])  # rotated a quarter turn about z
    assert model.total_mass() == 3
    assert np.allclose(model.centre_of_mass(), [1 / 3, 0, 1 / 3])
    assert model.links['b'].collisions[0].size == (1, 2, 3)


def test_parse_rejects_unknown_link_and_non_urdf():
    with pytest.raises(ValueError, match="unknown link 'c'"):
        parse_urdf(TWO_LINKS.format(child='c'))
    with pytest.raises(ValueError, match='not a URDF'):
        parse_urdf('<sdf/>')
