"""The MuJoCo twin: generated from the URDF, named as documented, standing, coupled and stable."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from rover_description.description import urdf_model
from rover_description.geometry import PROFILES, STEER_JOINTS, SUSPENSION_JOINTS, WHEEL_JOINTS, load_geometry
from rover_description.mujoco_model import (
    COLLISION_GROUP,
    FREE_JOINT,
    LUNAR_GRAVITY,
    ROVER_CONTYPE,
    TERRAIN_BIT,
    add_ground_plane,
    build_rover_spec,
    rover_mjcf,
)

WHEEL_GEOMS = tuple(f'wheel_{n}_link_collision' for n in ('fl', 'ml', 'rl', 'fr', 'mr', 'rr'))


def _on_plane(profile: str, **kwargs) -> tuple[mujoco.MjModel, mujoco.MjData, np.ndarray]:
    slope = kwargs.pop('slope', 0.0)
    heading = kwargs.pop('downhill_heading', 0.0)
    spec = build_rover_spec(profile, **kwargs)
    rot = add_ground_plane(spec, slope=slope, downhill_heading=heading)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    return model, data, rot


def _wheels_touching(model, data) -> set[str]:
    ids = {model.geom(name).id: name for name in WHEEL_GEOMS}
    return {ids[g] for c in data.contact[:data.ncon] for g in (c.geom1, c.geom2) if g in ids}


def _run(model, data, seconds: float, each=None) -> None:
    for _ in range(int(round(seconds / model.opt.timestep))):
        mujoco.mj_step(model, data)
        if each is not None:
            each()


@pytest.mark.parametrize('profile', PROFILES)
def test_names_actuators_sites_and_sensors(profile):
    model = build_rover_spec(profile).compile()
    assert model.body(1).name == 'base_link' and model.joint(0).name == FREE_JOINT
    assert model.joint(0).type == mujoco.mjtJoint.mjJNT_FREE
    for name in WHEEL_JOINTS + STEER_JOINTS + SUSPENSION_JOINTS:
        assert model.joint(name).type == mujoco.mjtJoint.mjJNT_HINGE
    actuators = [model.actuator(i).name for i in range(model.nu)]
    assert actuators == list(WHEEL_JOINTS + STEER_JOINTS)
    urdf = urdf_model(profile)
    for name in WHEEL_JOINTS:
        act = model.actuator(name)
        assert act.biastype == mujoco.mjtBias.mjBIAS_AFFINE and act.gainprm[0] > 0  # velocity servo
        assert act.ctrlrange[1] == pytest.approx(urdf.joints[name].velocity)
        assert act.forcerange[1] == pytest.approx(urdf.joints[name].effort)
        assert model.actuator_trnid[act.id, 0] == model.joint(name).id
    for name in STEER_JOINTS:
        act = model.actuator(name)
        assert list(act.ctrlrange) == pytest.approx([urdf.joints[name].lower, urdf.joints[name].upper])
        assert list(model.joint(name).range) == pytest.approx(list(act.ctrlrange))
    for site in ('imu', 'hazcam', 'hazcam_optical', 'mastcam'):
        assert model.site(site).bodyid[0] == model.body('base_link').id
    for sensor in ('imu_accel', 'imu_gyro', 'imu_quat'):
        assert model.sensor(sensor).dim[0] in (3, 4)
    assert model.neq == 1 and model.equality('differential').type == mujoco.mjtEq.mjEQ_JOINT
    assert model.opt.gravity[2] == pytest.approx(-LUNAR_GRAVITY)


@pytest.mark.parametrize('profile', PROFILES)
def test_numbers_come_from_the_urdf(profile):
    """Total mass, and every body's pose at q = 0 equal to the URDF's forward kinematics."""
    model = build_rover_spec(profile).compile()
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    urdf = urdf_model(profile)
    assert model.body_subtreemass[model.body('base_link').id] == pytest.approx(urdf.total_mass())
    poses = urdf.link_transforms()
    base = data.xpos[model.body('base_link').id]
    for link in poses:
        if link in [model.body(i).name for i in range(model.nbody)]:
            assert data.xpos[model.body(link).id] - base == pytest.approx(poses[link][:3, 3], abs=1e-9), link
    g = load_geometry(profile)
    imu = data.site_xpos[model.site('imu').id] - base
    assert imu == pytest.approx(g.imu.xyz, abs=1e-9)
    hazcam_x_axis = data.site_xmat[model.site('hazcam').id].reshape(3, 3)[:, 0]
    assert hazcam_x_axis == pytest.approx([math.cos(g.hazcam.pose.rpy[1]), 0, -math.sin(g.hazcam.pose.rpy[1])])


def test_rover_parts_never_collide_with_each_other_but_with_terrain():
    model = build_rover_spec('yutu2').compile()
    colliders = [i for i in range(model.ngeom) if model.geom_contype[i] or model.geom_conaffinity[i]]
    assert {model.geom(i).name for i in colliders} == set(WHEEL_GEOMS) | {'chassis_collision'}
    for i in colliders:
        assert model.geom_contype[i] == ROVER_CONTYPE and model.geom_conaffinity[i] == TERRAIN_BIT
        assert model.geom_group[i] == COLLISION_GROUP
        for k in colliders:
            assert not (model.geom_contype[i] & model.geom_conaffinity[k])
        assert model.geom_conaffinity[i] & 1  # a default terrain geom (contype 1) collides


@pytest.mark.parametrize('profile', PROFILES)
@pytest.mark.parametrize('timestep', [0.002, 0.005, 0.01])
def test_stands_on_flat_ground_and_settles_without_bouncing(profile, timestep):
    """Dropped from 2 cm under lunar gravity: once all six wheels touch, none leaves the ground again,
    and the rover comes to rest at axle height = wheel radius (sinkage < 2 mm), whatever the timestep."""
    model, data, _ = _on_plane(profile, timestep=timestep)
    radius = load_geometry(profile).wheel_radius
    data.qpos[2] += 0.02
    state = {'all_down': None, 'lost': 0, 'step': 0}

    def watch():
        state['step'] += 1
        touching = _wheels_touching(model, data)
        if state['all_down'] is None and len(touching) == 6:
            state['all_down'] = state['step']
        elif state['all_down'] is not None and len(touching) < 6:
            state['lost'] += 1

    _run(model, data, 6.0, watch)
    assert state['all_down'] is not None, 'the six wheels never touched the ground together'
    assert state['lost'] == 0, f'wheels left the ground for {state["lost"]} steps after touchdown (bouncing)'
    assert _wheels_touching(model, data) == set(WHEEL_GEOMS)
    assert data.qpos[2] == pytest.approx(radius, abs=0.002)
    assert np.abs(data.qvel).max() < 1e-3
    # the IMU feels the gravity reaction, +g along z
    assert data.sensor('imu_accel').data == pytest.approx([0, 0, LUNAR_GRAVITY], abs=0.01)


@pytest.mark.parametrize('profile', PROFILES)
def test_differential_turns_the_rockers_opposite_ways(profile):
    """Lift the front-left wheel: the left rocker pitches nose up and the right one the other way."""
    model, data, _ = _on_plane(profile)
    _run(model, data, 0.5)
    body = model.body('wheel_fl_link').id
    weight = model.body_subtreemass[model.body('base_link').id] * LUNAR_GRAVITY
    data.xfrc_applied[body, 2] = 0.2 * weight  # more than that wheel's share (1/6) of the weight

    _run(model, data, 3.0)
    left, right = data.joint('rocker_l_joint').qpos[0], data.joint('rocker_r_joint').qpos[0]
    assert left < -0.05  # front of the left rocker went up
    assert right == pytest.approx(-left, rel=0.02, abs=1e-3)
    # and without the lift they come back level together
    data.xfrc_applied[body, 2] = 0.0
    _run(model, data, 4.0)
    left2, right2 = data.joint('rocker_l_joint').qpos[0], data.joint('rocker_r_joint').qpos[0]
    assert abs(left2) < 0.01 and right2 == pytest.approx(-left2, abs=1e-3)


@pytest.mark.parametrize('profile', PROFILES)
def test_does_not_tip_on_a_20_degree_slope_in_any_heading(profile):
    """Parked (wheels held, steering straight) on a 20 degree plane for 8 s, downhill every 30 degrees:
    all six wheels stay on the ground and the body stays parallel to the slope."""
    slope = math.radians(20.0)
    for k in range(12):
        heading = 2 * math.pi * k / 12
        model, data, rot = _on_plane(profile, slope=slope, downhill_heading=heading)
        start = data.qpos[:3].copy()
        _run(model, data, 8.0)
        assert _wheels_touching(model, data) == set(WHEEL_GEOMS), f'heading {math.degrees(heading):.0f} deg'
        body_z = data.xmat[model.body('base_link').id].reshape(3, 3)[:, 2]
        tilt_vs_slope = math.degrees(math.acos(min(1.0, float(body_z @ rot[:, 2]))))
        assert tilt_vs_slope < 1.0, f'heading {math.degrees(heading):.0f} deg: body tilted {tilt_vs_slope:.2f} deg'
        assert np.linalg.norm(data.qpos[:3] - start) < 0.1  # parked, not sliding away


def test_positive_wheel_speed_drives_forward_and_positive_steer_turns_left():
    model, data, _ = _on_plane('yutu2')
    speed = 0.5  # rad/s
    for name in WHEEL_JOINTS:
        data.actuator(name).ctrl = speed
    _run(model, data, 5.0)
    radius = load_geometry('yutu2').wheel_radius
    assert data.qpos[0] == pytest.approx(speed * radius * 5.0, rel=0.15)
    assert abs(data.qpos[1]) < 0.01
    for name in STEER_JOINTS:
        data.actuator(name).ctrl = 0.3
    _run(model, data, 3.0)
    fork_x = data.xmat[model.body('steer_fl_link').id].reshape(3, 3)[:, 0]
    base_x = data.xmat[model.body('base_link').id].reshape(3, 3)[:, 0]
    steer = math.atan2(fork_x[1], fork_x[0]) - math.atan2(base_x[1], base_x[0])
    assert steer == pytest.approx(0.3, abs=0.03)
    assert data.joint('steer_fl_joint').qpos[0] == pytest.approx(steer, abs=1e-3)


def test_cylinder_wheels_option_and_argument_checks():
    model, data, _ = _on_plane('yutu2', wheel_collider='cylinder')
    assert model.geom('wheel_fl_link_collision').type == mujoco.mjtGeom.mjGEOM_CYLINDER
    _run(model, data, 2.0)
    assert _wheels_touching(model, data) == set(WHEEL_GEOMS)
    with pytest.raises(ValueError, match='wheel_collider'):
        build_rover_spec('yutu2', wheel_collider='mesh')
    with pytest.raises(ValueError, match='gravity'):
        build_rover_spec('yutu2', gravity=float('nan'))
    with pytest.raises(ValueError, match='unknown rover profile'):
        build_rover_spec('rover3000')


def test_mjcf_text_round_trips():
    xml = rover_mjcf('hobby')
    model = mujoco.MjModel.from_xml_string(xml)
    assert model.nu == 10 and model.neq == 1
