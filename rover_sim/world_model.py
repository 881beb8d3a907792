"""Compose the rover model and a terrain into one MuJoCo model, and name everything the stepper needs.

What is added to `rover_description.mujoco_model.build_rover_spec(profile)`:
- the terrain as a heightfield (`terrain`, contype bit 0) at the grid's own resolution, normalised
  with room below the lowest point for ruts and headroom above the highest (MuJoCo ignores
  values above the field's top), and a coarse copy (`terrain_coarse`, every `coarse_factor`-th
  node, the max of the fine nodes around it) that only the chassis box collides with: a box on
  the fine field costs as much as all six wheels.
- per wheel a *tread* body inside the wheel on a coaxial hinge `<wheel>_slip`: the motor hub
  (`wheel_*_joint`, what encoders and joint_states report) drives the tread through that hinge,
  whose damping the terramechanics sets (slip = the hub turning faster than the tread rolls).
  The tread carries the sphere collider and a touch sensor (`<wheel>_load`: normal load, N).
  Joint equalities `<wheel>_lock` (tread to hub) and `<wheel>_brake` (hub to its carrier), inactive
  until the wheel is parked, make a parked wheel rigid where it stopped.
  A fixed tendon `<wheel>_roll` = hub + slip angle (the tread's rolling angle) carries the
  compaction resistance as dry friction.
- the steering servos are slewed: each steering actuator becomes an integrating servo (MuJoCo
  `intvelocity`: ctrl = the rate of its position reference in rad/s, limited to the description's
  `max_steer_rate`; the reference is clamped to the joint range; the description's position and
  damping gains and its torque limit are kept). A corner then swings at the URDF steering velocity
  limit instead of as fast as the torque allows (~4 rad/s for yutu2, against 0.5 rad/s).
- lunar (or the world's) gravity; the timestep from `physics_rate`.
Collision bits: wheels (contype 2, conaffinity 1) touch only the fine field (contype 1); the
chassis (conaffinity 4) touches only the coarse field (contype 4); rover parts never touch each other.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_description.geometry import STEER_JOINTS, SUSPENSION_JOINTS, WHEEL_JOINTS, WHEEL_NAMES, load_geometry
from rover_sim.materials import SOIL_CONTACT_FRICTION
from rover_sim.terrain import Terrain
from rover_sim.terrain.grid import Grid

FINE_CONTYPE = 1
COARSE_CONTYPE = 4
CHASSIS_CONAFFINITY = 4
RUT_ROOM_M = 0.2  # room below the lowest terrain point for ruts (m; a spinning wheel digs to half of it)
HEADROOM_M = 0.1  # room above the highest point (m); heights above the top are ignored by MuJoCo
TREAD_MASS = 0.2  # kg of the tread body (taken from the hub, total mass unchanged)
SLIP_ARMATURE = 0.01  # kg m^2 on the slip hinge: keeps an unloaded tread well conditioned
# contact friction on regolith (the slip hinge, soil shear, limits traction before it); on rock and metal
# the simulator sets each tread's friction to the material's (rover_sim.materials); the heightfield's own
# friction is 0, so the tread's wins MuJoCo's max
TREAD_FRICTION = SOIL_CONTACT_FRICTION
#: Torsional friction (m) of a tread's contact while it rolls straight; turning, the scrub sets it (rover_sim.scrub).
TREAD_TORSION = 0.005
# The wheel servo gives full effort at this fraction of the wheel speed limit (kv = effort / (fraction *
# limit): 133 N m s/rad for yutu2). The description's 0.02 (kv 1000) is so stiff against the hub's
# inertia that MuJoCo's contact solve, which sees the servo's force at the start of each step while
# the implicit integrator then applies it damped, pushed the treads forward over the ground at every
# spin-up: the rover slid 1.8 cm ahead of its rolling wheels in its first second at 200 Hz (0.9 cm
# at 400 Hz; the slide scales with kv * timestep, and contact solref, impratio or noslip iterations
# do not change it). At kv 133 it slides 0.26 cm at 200 Hz. The simulator's position loop
# (`SimConfig.hold_gain`) removes the larger speed error a softer servo leaves under load.
WHEEL_SERVO_SLACK_FRACTION = 0.15
JOINT_STATE_JOINTS = WHEEL_JOINTS + STEER_JOINTS + SUSPENSION_JOINTS


@dataclass(frozen=True)
class HeightfieldMap:
    """How metres map to a MuJoCo heightfield's normalised data: h = z_lo + data * (z_hi - z_lo)."""

    hfield_id: int
    grid: Grid
    z_lo: float
    z_hi: float

    def normalise(self, heights: np.ndarray) -> np.ndarray:
        return np.clip((heights - self.z_lo) / (self.z_hi - self.z_lo), 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class WorldLayout:
    """Indices into the compiled model (arrays in wheel order fl, ml, rl, fr, mr, rr)."""

    base_body: int
    hub_qpos: np.ndarray
    hub_dof: np.ndarray
    slip_dof: np.ndarray
    slip_qpos: np.ndarray
    roll_tendon: np.ndarray
    lock_eq: np.ndarray
    brake_eq: np.ndarray
    tread_body: np.ndarray
    tread_geom: np.ndarray
    load_sensor_adr: np.ndarray
    wheel_act: np.ndarray
    steer_act: np.ndarray
    steer_act_adr: np.ndarray  # index into data.act: each steering servo's position reference (rad)
    steer_qpos: np.ndarray
    steer_dof: np.ndarray
    joint_names: tuple[str, ...]
    joint_qpos: np.ndarray
    joint_dof: np.ndarray
    joint_act: np.ndarray  # actuator id per reported joint, -1 for passive joints
    imu_site: int
    gyro_adr: int
    hazcam_site: int
    fine: HeightfieldMap
    wheel_radius: float


def coarse_heights(heights: np.ndarray, factor: int) -> np.ndarray:
    """Every `factor`-th node (edges kept) carrying the max of the fine nodes within factor/2 of it.

    Conservative for the chassis: a rock never disappears under the coarse field, it only grows.
    """
    if factor < 1:
        raise ValueError(f'coarse_heights: factor must be >= 1, got {factor}')
    if factor == 1:
        return heights.copy()
    ny, nx = heights.shape
    half = factor // 2
    padded = np.pad(heights, half, mode='edge')
    # evenly spread nodes including both edges (within half a fine cell of a uniform coarse grid)
    rows = np.round(np.linspace(0, ny - 1, math.ceil((ny - 1) / factor) + 1)).astype(int)
    cols = np.round(np.linspace(0, nx - 1, math.ceil((nx - 1) / factor) + 1)).astype(int)
    out = np.empty((len(rows), len(cols)))
    for a, i in enumerate(rows):
        band = padded[i:i + 2 * half + 1].max(axis=0)
        windows = np.lib.stride_tricks.sliding_window_view(band, 2 * half + 1)
        out[a] = windows[cols].max(axis=1)
    return out


def _add_field(spec, name: str, heights: np.ndarray, extent: tuple[float, float, float, float],
               z_lo: float, z_hi: float, contype: int, visible: bool,
               friction: tuple[float, float, float] = (1.0, 0.005, 0.0001)) -> None:
    """A heightfield geom spanning `extent` (x0, x1, y0, y1) whose data are written after compiling."""
    import mujoco

    nrow, ncol = heights.shape
    x0, x1, y0, y1 = extent
    spec.add_hfield(name=name, nrow=nrow, ncol=ncol, size=[(x1 - x0) / 2.0, (y1 - y0) / 2.0, z_hi - z_lo, 0.5],
                    userdata=[float(v) for v in np.linspace(0.0, 1.0, nrow * ncol)])
    spec.worldbody.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname=name,
                            pos=[(x0 + x1) / 2.0, (y0 + y1) / 2.0, z_lo], contype=contype, conaffinity=0,
                            friction=friction,
                            rgba=[0.62, 0.6, 0.56, 1.0] if visible else [0.0, 0.0, 0.0, 0.0],
                            group=0 if visible else 3)


def _add_treads(spec, wheel_radius: float) -> None:
    import mujoco

    for name in WHEEL_NAMES:
        hub = spec.body(f'wheel_{name}_link')
        joint = spec.joint(f'wheel_{name}_joint')
        collider = spec.geom(f'wheel_{name}_link_collision')
        collider.contype = 0
        collider.conaffinity = 0
        hub.mass = max(hub.mass - TREAD_MASS, 0.1 * hub.mass)
        tread = hub.add_body(name=f'wheel_{name}_tread', pos=list(collider.pos))
        tread.mass = TREAD_MASS
        inertia = 0.4 * TREAD_MASS * wheel_radius ** 2
        tread.inertia = [inertia, inertia, inertia]
        tread.explicitinertial = True
        tread.add_joint(name=f'wheel_{name}_slip', type=mujoco.mjtJoint.mjJNT_HINGE, axis=list(joint.axis),
                        armature=SLIP_ARMATURE, damping=1.0)
        tread.add_geom(name=f'wheel_{name}_tread_collision', type=mujoco.mjtGeom.mjGEOM_SPHERE,
                       size=[wheel_radius, 0, 0], contype=collider.contype or 2, conaffinity=1,
                       condim=3, friction=[TREAD_FRICTION, TREAD_TORSION, 0.0001], solref=list(collider.solref),
                       solimp=list(collider.solimp), density=0.0, group=3, rgba=[0.9, 0.3, 0.3, 0.3])
        tread.add_site(name=f'wheel_{name}_load_site', type=mujoco.mjtGeom.mjGEOM_SPHERE,
                       size=[wheel_radius + 0.05, 0, 0], group=4)
        spec.add_sensor(name=f'wheel_{name}_load', type=mujoco.mjtSensor.mjSENS_TOUCH,
                        objtype=mujoco.mjtObj.mjOBJ_SITE, objname=f'wheel_{name}_load_site')
        # the parking lock: tread fixed to the hub while the wheel is held (activated at run time)
        lock = spec.add_equality(name=f'wheel_{name}_lock', type=mujoco.mjtEq.mjEQ_JOINT,
                                 name1=f'wheel_{name}_slip')
        lock.active = False
        brake = spec.add_equality(name=f'wheel_{name}_brake', type=mujoco.mjtEq.mjEQ_JOINT,
                                  name1=f'wheel_{name}_joint')
        brake.active = False
        tendon = spec.add_tendon(name=f'wheel_{name}_roll')
        tendon.wrap_joint(f'wheel_{name}_joint', 1.0)
        tendon.wrap_joint(f'wheel_{name}_slip', 1.0)


def _slew_steering(spec, max_steer_rate: float) -> None:
    """Turn each steering position servo into an integrating one whose reference moves at <= max_steer_rate.

    The description's servo jumps its reference to the command, and its torque (not its rate) is
    what limits the swing. Here ctrl is the reference's rate (rad/s, clamped to +/- max_steer_rate),
    integrated exactly by MuJoCo into the actuator's activation (the reference, rad, clamped to the
    joint range); the gains (stiffness, damping) and the torque limit stay the description's.
    """
    import mujoco

    if not (math.isfinite(max_steer_rate) and max_steer_rate > 0.0):
        raise ValueError(f'max_steer_rate must be > 0 rad/s, got {max_steer_rate!r}')
    for name in STEER_JOINTS:
        act = spec.actuator(name)
        lo, hi = (float(v) for v in spec.joint(name).range)
        kp, kv = float(act.gainprm[0]), float(-act.biasprm[2])
        act.set_to_intvelocity(kp=kp, kv=kv)
        act.actrange = [lo, hi]
        act.actlimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.ctrlrange = [-max_steer_rate, max_steer_rate]
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE


def build_world(terrain: Terrain, profile: str = 'yutu2', physics_rate: float = 200.0, coarse_factor: int = 4,
                wheel_collider: str = 'sphere'):
    """Compile rover + terrain; returns (mujoco.MjModel, WorldLayout).

    The rover is placed by the caller (see `spawn_pose`); gravity is the terrain's.
    Raises ValueError for a physics rate outside 100..2000 Hz.
    """
    import mujoco

    from rover_description.mujoco_model import build_rover_spec

    if not (math.isfinite(physics_rate) and 100.0 <= physics_rate <= 2000.0):
        raise ValueError(f'physics_rate must be in [100, 2000] Hz, got {physics_rate!r}')
    spec = build_rover_spec(profile, wheel_collider=wheel_collider, gravity=terrain.gravity,
                            timestep=1.0 / physics_rate)
    accel = spec.sensor('imu_accel')
    if accel is not None:  # needs the post-constraint pass every step; the IMU model differentiates instead
        spec.delete(accel)
    spec.geom('chassis_collision').conaffinity = CHASSIS_CONAFFINITY
    geometry = load_geometry(profile)
    for joint in WHEEL_JOINTS:
        # A clamped stiff servo is no longer linear, and the implicit integrator then rings at the
        # step rate (seen as +/-effort every step). The soil caps the torque a wheel can use
        # (r * H <= ~6 N m, below the 20 N m effort), so the wheel servos run unclamped.
        act = spec.actuator(joint)
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_FALSE
        effort, limit = float(act.forcerange[1]), float(act.ctrlrange[1])
        act.set_to_velocity(kv=effort / (WHEEL_SERVO_SLACK_FRACTION * limit))
    _slew_steering(spec, geometry.max_steer_rate)
    wheel_radius = float(spec.geom('wheel_fl_link_collision').size[0])
    _add_treads(spec, wheel_radius)
    grid = terrain.grid
    h = terrain.heights
    z_lo = float(h.min()) - RUT_ROOM_M
    z_hi = float(h.max()) + HEADROOM_M
    extent = grid.extent
    # the wheels' field: its friction is 0 so each tread's own (its material's) is the contact's
    _add_field(spec, 'terrain', h, extent, z_lo, z_hi, FINE_CONTYPE, visible=True, friction=(0.0, 0.0, 0.0))
    coarse_factor = max(1, min(coarse_factor, (min(h.shape) - 1) // 2))
    coarse = coarse_heights(h, coarse_factor)
    _add_field(spec, 'terrain_coarse', coarse, extent, z_lo, z_hi, COARSE_CONTYPE, visible=False)
    spec.worldbody.add_light(name='sun', pos=[0, 0, 50], dir=[0.3, 0.2, -1.0], diffuse=[0.9, 0.9, 0.85],
                             type=int(mujoco.mjtLightType.mjLIGHT_DIRECTIONAL))
    model = spec.compile()
    fine = HeightfieldMap(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, 'terrain'), grid, z_lo, z_hi)
    # MuJoCo normalises user data to [0, 1]: write our own mapping (with rut room and headroom) back
    write_heights(model, fine, h)
    x0, x1, y0, y1 = extent
    coarse_grid = Grid(x0, y0, (x1 - x0) / (coarse.shape[1] - 1), coarse.shape[1], coarse.shape[0])
    coarse_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, 'terrain_coarse')
    write_heights(model, HeightfieldMap(coarse_id, coarse_grid, z_lo, z_hi), coarse)
    return model, _layout(model, fine, wheel_radius)


def write_heights(model, field: HeightfieldMap, heights: np.ndarray, rows: slice | None = None,
                  cols: slice | None = None) -> None:
    """Copy metres (the whole grid, or one window of it) into the model's heightfield data in place."""
    adr = int(model.hfield_adr[field.hfield_id])
    nrow, ncol = int(model.hfield_nrow[field.hfield_id]), int(model.hfield_ncol[field.hfield_id])
    view = model.hfield_data[adr:adr + nrow * ncol].reshape(nrow, ncol)
    rows = rows or slice(0, nrow)
    cols = cols or slice(0, ncol)
    view[rows, cols] = field.normalise(heights[rows, cols])


def _layout(model, fine: HeightfieldMap, wheel_radius: float) -> WorldLayout:
    import mujoco

    def jid(name: str) -> int:
        i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        if i < 0:
            raise ValueError(f'the rover model has no joint {name!r}')
        return i

    def aid(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, name)

    hubs = [jid(j) for j in WHEEL_JOINTS]
    slips = [jid(f'wheel_{n}_slip') for n in WHEEL_NAMES]
    steers = [jid(j) for j in STEER_JOINTS]
    reported = [jid(j) for j in JOINT_STATE_JOINTS]
    sensor = {mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_SENSOR, i): int(model.sensor_adr[i])
              for i in range(model.nsensor)}
    return WorldLayout(
        base_body=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, 'base_link'),
        hub_qpos=model.jnt_qposadr[hubs].copy(), hub_dof=model.jnt_dofadr[hubs].copy(),
        slip_dof=model.jnt_dofadr[slips].copy(), slip_qpos=model.jnt_qposadr[slips].copy(),
        roll_tendon=np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_TENDON, f'wheel_{n}_roll')
                              for n in WHEEL_NAMES]),
        lock_eq=np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_EQUALITY, f'wheel_{n}_lock')
                          for n in WHEEL_NAMES]),
        brake_eq=np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_EQUALITY, f'wheel_{n}_brake')
                           for n in WHEEL_NAMES]),
        tread_body=np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f'wheel_{n}_tread')
                             for n in WHEEL_NAMES]),
        tread_geom=np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, f'wheel_{n}_tread_collision')
                             for n in WHEEL_NAMES]),
        load_sensor_adr=np.array([sensor[f'wheel_{n}_load'] for n in WHEEL_NAMES]),
        wheel_act=np.array([aid(j) for j in WHEEL_JOINTS]), steer_act=np.array([aid(j) for j in STEER_JOINTS]),
        steer_act_adr=model.actuator_actadr[[aid(j) for j in STEER_JOINTS]].copy(),
        steer_qpos=model.jnt_qposadr[steers].copy(), steer_dof=model.jnt_dofadr[steers].copy(),
        joint_names=JOINT_STATE_JOINTS,
        joint_qpos=model.jnt_qposadr[reported].copy(), joint_dof=model.jnt_dofadr[reported].copy(),
        joint_act=np.array([aid(j) for j in JOINT_STATE_JOINTS]),
        imu_site=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, 'imu'), gyro_adr=sensor['imu_gyro'],
        hazcam_site=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, 'hazcam'),
        fine=fine, wheel_radius=wheel_radius)
