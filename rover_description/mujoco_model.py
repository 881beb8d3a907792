"""The rover's MuJoCo twin, generated from the expanded URDF (not a second hand-written model).

`build_rover_spec(profile)` returns a `mujoco.MjSpec` holding only the rover (no ground, no
lights): the simulator adds its terrain to `spec.worldbody` (or attaches this spec to its own)
and compiles. Every number (masses, inertias, joint origins, axes, limits, damping, friction,
wheel radius, sensor poses, actuator effort and speed limits, wheel friction) comes from the
URDF; the few numbers chosen here are numerical (gains, contact softness) and named below.

What the rest of the code may rely on (names are stable):
- bodies: `base_link` (free-floating, freejoint `base_free`; the URDF's fixed links chassis,
  mast, sensors are merged into it), `rocker_{l,r}_link`, `bogie_{l,r}_link`,
  `steer_{fl,rl,fr,rr}_link`, `wheel_{fl,ml,rl,fr,mr,rr}_link`.
- joints: the URDF names (`wheel_fl_joint`, `steer_fl_joint`, `rocker_l_joint`, ...).
- actuators, named exactly like their joint: a velocity actuator per wheel joint (ctrl in rad/s,
  clamped to the URDF velocity limit, torque clamped to the URDF effort), a position actuator
  per steering joint (ctrl in rad, clamped to the joint limits, torque clamped to the effort).
- the differential: a joint equality `differential` (rocker_r_joint = -rocker_l_joint), from the
  URDF `<mimic>`.
- sites: `imu` (imu_link), `hazcam` (hazcam_link, x forward), `hazcam_optical` and `mastcam`
  (optical frames, z forward); cameras `hazcam` and `mastcam` (MuJoCo cameras look along -z),
  and `chase` (a view from behind-left, for pictures).
- sensors: `imu_accel` (accelerometer, includes the gravity reaction: +g on z at rest),
  `imu_gyro`, `imu_quat` (orientation of imu_link in the world frame).
- geoms: collision geoms are named `<link>_collision` (wheels: `wheel_fl_link_collision` ...,
  body: `chassis_collision`), in group COLLISION_GROUP; visuals are in group VISUAL_GROUP and
  never collide.
- collision bits: rover collision geoms have contype = ROVER_CONTYPE (2) and conaffinity =
  TERRAIN_BIT (1). Terrain geoms with contype bit 0 set (MuJoCo's default contype=1) collide with
  them; rover parts never collide with each other ((2 & 1) == 0 both ways).
"""

from __future__ import annotations

import math

import numpy as np

from rover_description.description import urdf_model
from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS
from rover_description.urdf_model import Link, Shape, UrdfModel, transform

LUNAR_GRAVITY = 1.62  # m/s^2
TERRAIN_BIT = 1  # conaffinity of rover colliders: collide with geoms whose contype has this bit
ROVER_CONTYPE = 2  # contype of rover colliders: a bit no rover geom listens to -> no self-collision
VISUAL_GROUP = 1
COLLISION_GROUP = 3
FREE_JOINT = 'base_free'

# Links whose collision shapes go into MuJoCo: the wheels and a coarse body box. Rocker and bogie
# bars, mast and camera head stay visual (the body box and the 0.31 m belly clearance cover them).
_COLLIDING_LINKS = ('chassis_link',)
# Numerical choices (not geometry):
TIMESTEP = 0.005  # s; contact and actuator settings below stay valid up to 0.01 s
CONTACT_SOLREF = (0.02, 1.0)  # time constant (s, >= 2 timesteps) and damping ratio: critically damped
CONTACT_SOLIMP = (0.9, 0.99, 0.002, 0.5, 2.0)
STEER_STIFFNESS_RAD = 0.05  # the steering servo gives full effort at this position error (rad)
WHEEL_SLACK_FRACTION = 0.02  # the wheel servo gives full effort at this fraction of the speed limit
ARMATURE_FRACTION = 1.0  # reflected motor inertia added to a drive joint, x the child link's axial inertia


def _quat(rot: np.ndarray) -> list[float]:
    """MuJoCo quaternion (w, x, y, z) of a 3x3 rotation."""
    import mujoco

    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(rot, dtype=float).reshape(9))
    return [float(v) for v in q]


def _merged_inertia(parts: list[tuple[float, np.ndarray, np.ndarray]]) -> tuple[float, np.ndarray, np.ndarray]:
    """Combine (mass, com (3,), inertia about com (3x3)) parts expressed in one frame (parallel axes)."""
    mass = sum(m for m, _, _ in parts)
    com = sum(m * c for m, c, _ in parts) / mass
    inertia = np.zeros((3, 3))
    for m, c, i in parts:
        d = c - com
        inertia += i + m * (float(d @ d) * np.eye(3) - np.outer(d, d))
    return mass, com, inertia


def _gazebo_float(model: UrdfModel, link: str, tag: str, default: float) -> float:
    for elem in model.gazebo_refs.get(link, ()):
        child = elem.find(tag)
        if child is not None and child.text:
            return float(child.text)
    return default


def _add_shape(body, name: str, shape: Shape, pose: np.ndarray, **kwargs):
    """Add a URDF primitive as a MuJoCo geom at `pose` (4x4 in the body frame)."""
    import mujoco

    kinds = {'box': mujoco.mjtGeom.mjGEOM_BOX, 'cylinder': mujoco.mjtGeom.mjGEOM_CYLINDER,
             'sphere': mujoco.mjtGeom.mjGEOM_SPHERE}
    if shape.kind == 'box':
        size = [s / 2 for s in shape.size]
    elif shape.kind == 'cylinder':
        size = [shape.size[0], shape.size[1] / 2, 0.0]
    else:
        size = [shape.size[0], 0.0, 0.0]
    size = (list(size) + [0.0, 0.0, 0.0])[:3]
    return body.add_geom(name=name, type=kinds[shape.kind], size=size, pos=list(pose[:3, 3]),
                         quat=_quat(pose[:3, :3]), **kwargs)


def _look_at(eye: np.ndarray, target: np.ndarray) -> list[float]:
    """MuJoCo camera xyaxes (x right, y up; the camera looks along -z) for a camera at eye looking at target."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return [float(v) for v in (*right, *up)]


def _optical_camera_pose(optical: np.ndarray) -> np.ndarray:
    """MuJoCo camera pose (looks along -z, y up) of a ROS optical frame (z forward, y down)."""
    return optical @ transform(rpy=(math.pi, 0.0, 0.0))


def build_rover_spec(profile: str = 'yutu2', *, wheel_collider: str = 'sphere',
                     gravity: float = LUNAR_GRAVITY, timestep: float = TIMESTEP):
    """Build the MuJoCo model of the rover of `profile` as a `mujoco.MjSpec` (rover only, no ground).

    wheel_collider: 'sphere' (radius = wheel radius; about 2x faster on heightfields, contact at
    the lowest point only) or 'cylinder' (the URDF's wheel cylinder, edges included).
    gravity: m/s^2 along -z (lunar by default, also for the hobby profile; set 9.81 for Earth).
    The base starts with its wheels touching z = 0 (base_link at z = wheel radius).
    Raises ValueError for an unknown profile or collider.
    """
    import mujoco

    if wheel_collider not in ('sphere', 'cylinder'):
        raise ValueError(f"wheel_collider must be 'sphere' or 'cylinder', got {wheel_collider!r}")
    if not (math.isfinite(gravity) and gravity >= 0.0):
        raise ValueError(f'gravity must be a finite non-negative number (m/s^2), got {gravity!r}')
    if not (math.isfinite(timestep) and 0.0 < timestep <= 0.01):
        raise ValueError(f'timestep must be in (0, 0.01] s, got {timestep!r}')
    model = urdf_model(profile)
    spec = mujoco.MjSpec()
    spec.modelname = f'rover_{profile}'
    spec.compiler.degree = False
    spec.compiler.autolimits = True
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_FALSE
    spec.option.timestep = timestep
    spec.option.gravity = [0.0, 0.0, -gravity]
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 960

    root = model.root
    poses0 = model.link_transforms()
    wheel_radius = max(s.size[0] for s in model.links['wheel_fl_link'].collisions if s.kind == 'cylinder')
    rover_bodies: dict[str, object] = {}

    def link_group(first: str) -> list[tuple[Link, np.ndarray]]:
        """The link and every link hanging below it on fixed joints, with poses in `first`'s frame."""
        out, stack = [], [(first, np.eye(4))]
        while stack:
            name, pose = stack.pop()
            out.append((model.links[name], pose))
            for j in model.child_joints(name):
                if j.type == 'fixed':
                    stack.append((j.child, pose @ j.origin))
        return out

    def fill_body(body, first: str) -> None:
        group = link_group(first)
        parts = []
        for link, pose in group:
            if link.inertial is not None:
                frame = pose @ link.inertial.origin
                rot = frame[:3, :3]
                parts.append((link.inertial.mass, frame[:3, 3], rot @ link.inertial.inertia @ rot.T))
            for k, shape in enumerate(link.visuals):
                _add_shape(body, f'{link.name}_visual_{k}', shape, pose @ shape.origin, contype=0, conaffinity=0,
                           group=VISUAL_GROUP, density=0.0, rgba=list(shape.rgba or (0.7, 0.7, 0.7, 1.0)))
            colliding = link.name.startswith('wheel_') or link.name in _COLLIDING_LINKS
            for shape in link.collisions if colliding else ():
                common = dict(contype=ROVER_CONTYPE, conaffinity=TERRAIN_BIT, group=COLLISION_GROUP,
                              density=0.0, solref=list(CONTACT_SOLREF), solimp=list(CONTACT_SOLIMP),
                              rgba=[0.9, 0.3, 0.3, 0.4])
                name = f'{link.name}_collision' if link.name != 'chassis_link' else 'chassis_collision'
                if link.name.startswith('wheel_'):
                    mu = _gazebo_float(model, link.name, 'mu1', 0.7)
                    common['friction'] = [mu, 0.005, 0.0001]
                    common['condim'] = 3
                    if wheel_collider == 'sphere':
                        shape = Shape('sphere', (shape.size[0],), shape.origin)
                _add_shape(body, name, shape, pose @ shape.origin, **common)
            for site_name, frame in (('imu', 'imu_link'), ('hazcam', 'hazcam_link'),
                                     ('hazcam_optical', 'hazcam_optical_frame'), ('mastcam', 'mastcam_optical_frame')):
                if link.name == frame:
                    body.add_site(name=site_name, pos=list(pose[:3, 3]), quat=_quat(pose[:3, :3]),
                                  size=[0.02, 0.02, 0.02], group=VISUAL_GROUP)
                    if site_name in ('hazcam_optical', 'mastcam'):
                        cam = _optical_camera_pose(pose)
                        fovy = _camera_fovy(model, site_name)
                        body.add_camera(name=site_name.replace('_optical', ''), pos=list(cam[:3, 3]),
                                        quat=_quat(cam[:3, :3]), fovy=fovy)
        mass, com, inertia = _merged_inertia(parts)
        body.mass = mass
        body.ipos = list(com)
        body.fullinertia = [inertia[0, 0], inertia[1, 1], inertia[2, 2], inertia[0, 1], inertia[0, 2], inertia[1, 2]]
        body.explicitinertial = True
        rover_bodies[first] = body

    def add_children(body, first: str) -> None:
        for link, pose in link_group(first):
            for j in model.child_joints(link.name):
                if j.type == 'fixed':
                    continue
                frame = pose @ j.origin
                child = body.add_body(name=j.child, pos=list(frame[:3, 3]), quat=_quat(frame[:3, :3]))
                jt = child.add_joint(name=j.name, type=mujoco.mjtJoint.mjJNT_HINGE, axis=list(j.axis),
                                     damping=j.damping, frictionloss=j.friction)
                if j.lower is not None and j.upper is not None:
                    jt.range = [j.lower, j.upper]
                    jt.limited = mujoco.mjtLimited.mjLIMITED_TRUE
                else:
                    jt.limited = mujoco.mjtLimited.mjLIMITED_FALSE
                fill_body(child, j.child)
                if j.name in WHEEL_JOINTS or j.name in STEER_JOINTS:
                    inertia_axial = float(j.axis @ _axial_inertia(model, j.child) @ j.axis)
                    jt.armature = ARMATURE_FRACTION * inertia_axial
                add_children(child, j.child)

    base = spec.worldbody.add_body(name=root, pos=[0.0, 0.0, wheel_radius])
    base.add_freejoint(name=FREE_JOINT)
    fill_body(base, root)
    add_children(base, root)
    # a picture view from front-left, scaled with the rover (footprint half length)
    half = max(abs(poses0[f'wheel_{w}_link'][0, 3]) for w in ('fl', 'rl')) + wheel_radius
    eye = np.array([2.6, 2.2, 1.6]) * half
    base.add_camera(name='chase', pos=list(eye), xyaxes=_look_at(eye, np.array([0.0, 0.0, 0.3 * half])), fovy=40.0)

    for j in model.joints.values():
        if j.mimic is not None:
            eq = spec.add_equality(name='differential' if j.name.startswith('rocker') else f'{j.name}_mimic',
                                   type=mujoco.mjtEq.mjEQ_JOINT, name1=j.name, name2=j.mimic.joint)
            eq.data = [j.mimic.offset, j.mimic.multiplier, 0.0, 0.0, 0.0] + [0.0] * (len(eq.data) - 5)
            eq.solref = [0.01, 1.0]
    for name in WHEEL_JOINTS:
        j = model.joints[name]
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_velocity(kv=j.effort / (WHEEL_SLACK_FRACTION * j.velocity))
        act.ctrlrange = [-j.velocity, j.velocity]
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-j.effort, j.effort]
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for name in STEER_JOINTS:
        j = model.joints[name]
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        # damping gain: at full effort the servo turns at the URDF velocity limit
        act.set_to_position(kp=j.effort / STEER_STIFFNESS_RAD, kv=j.effort / j.velocity)
        act.ctrlrange = [j.lower, j.upper]
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-j.effort, j.effort]
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    spec.add_sensor(name='imu_accel', type=mujoco.mjtSensor.mjSENS_ACCELEROMETER,
                    objtype=mujoco.mjtObj.mjOBJ_SITE, objname='imu')
    spec.add_sensor(name='imu_gyro', type=mujoco.mjtSensor.mjSENS_GYRO, objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname='imu')
    spec.add_sensor(name='imu_quat', type=mujoco.mjtSensor.mjSENS_FRAMEQUAT, objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname='imu')
    return spec


def _axial_inertia(model: UrdfModel, link: str) -> np.ndarray:
    """3x3 inertia of one link about its own frame origin (parallel axis from its COM), in link axes."""
    inertial = model.links[link].inertial
    if inertial is None:
        return np.zeros((3, 3))
    rot, c = inertial.origin[:3, :3], inertial.origin[:3, 3]
    return rot @ inertial.inertia @ rot.T + inertial.mass * (float(c @ c) * np.eye(3) - np.outer(c, c))


def _camera_fovy(model: UrdfModel, site: str) -> float:
    """Vertical field of view (deg) of a MuJoCo camera from the URDF's Gazebo sensor block."""
    if site == 'mastcam':
        _, sensor = model.gazebo_sensors['mastcam']
        hfov = float(sensor.find('camera/horizontal_fov').text)
        w = float(sensor.find('camera/image/width').text)
        h = float(sensor.find('camera/image/height').text)
        return math.degrees(2.0 * math.atan(math.tan(hfov / 2.0) * h / w))
    _, sensor = model.gazebo_sensors['hazcam']
    v0 = float(sensor.find('lidar/scan/vertical/min_angle').text)
    v1 = float(sensor.find('lidar/scan/vertical/max_angle').text)
    return math.degrees(v1 - v0)


def add_ground_plane(spec, *, slope: float = 0.0, downhill_heading: float = 0.0, friction: float = 0.7,
                     place_rover: bool = True) -> np.ndarray:
    """Add a plane through the origin to `spec` (tests, pictures): tilted by `slope` (rad) so that it
    descends along `downhill_heading` (rad from world +x), with a light and a grid texture.

    With place_rover the free base is posed on the plane (level with it, wheels touching).
    Returns the plane's 3x3 rotation in the world frame (its z column is the plane normal).
    """
    import mujoco

    from rover_description.urdf_model import axis_rotation

    rot = axis_rotation(np.array([-math.sin(downhill_heading), math.cos(downhill_heading), 0.0]), slope)[:3, :3]
    spec.add_texture(name='ground_grid', type=mujoco.mjtTexture.mjTEXTURE_2D,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, width=512, height=512,
                     rgb1=[0.52, 0.5, 0.47], rgb2=[0.46, 0.44, 0.42])
    mat = spec.add_material(name='ground', texrepeat=[10.0, 10.0], reflectance=0.0)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = 'ground_grid'
    spec.worldbody.add_geom(name='ground', type=mujoco.mjtGeom.mjGEOM_PLANE, size=[20.0, 20.0, 0.1],
                            quat=_quat(rot), friction=[friction, 0.005, 0.0001], material='ground')
    spec.worldbody.add_light(name='sun', pos=[3.0, -2.0, 6.0], dir=[-0.4, 0.3, -1.0],
                             type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, castshadow=True,
                             diffuse=[0.9, 0.9, 0.85], specular=[0.1, 0.1, 0.1])
    if place_rover:
        base = spec.body('base_link')
        z0 = float(np.asarray(base.pos)[2])
        base.pos = list(rot @ np.array([0.0, 0.0, z0]))
        base.quat = _quat(rot)
    return rot


def rover_mjcf(profile: str = 'yutu2', **kwargs) -> str:
    """The generated model as MJCF XML text (for inspection or `mujoco.viewer`)."""
    spec = build_rover_spec(profile, **kwargs)
    spec.compile()
    return spec.to_xml()
