"""The stepping core of the lunar simulator: MuJoCo + terramechanics + ruts + sensors, no rclpy.

Time is explicit: `advance(duration)` steps the physics by whole physics steps and runs every
slower process on its own grid of step counts (so the same inputs always give the same states):
- soil coupling and motor control every `soil_rate` (terramechanics look-up for 6 wheels, the
  slip hinges' damping and friction, the wheel servos' references, ruts);
- IMU samples every `imu_rate`, hazcam scans every `hazcam_rate`; they queue in `imu_out` /
  `cloud_out` with their stamps until the caller takes them.
Rigid zones (the lander's metal deck and ramp, `rover_sim.terrain.lander_surfaces`) are not soil:
a wheel on one has its tread locked to the hub by a joint equality (no
terramechanics slip or skid, no compaction resistance, no sinkage; only MuJoCo's contact
friction), and no rut is pressed into them (ruts fade in over a wheel radius next to them).
Wheels are position-tracking speed servos, like geared motors with encoders: the hub follows the
integral of the commanded rate, so a wheel commanded to 0 (or stopped by a timeout or the
e-stop) holds its angle on a slope instead of creeping downhill like a bare velocity servo.
Steering servos swing at most at the description's `max_steer_rate` (the URDF steering velocity
limit): each soil update moves a servo's position reference toward the commanded angle at that
rate (see `rover_sim.world_model`), and the joint follows its reference; joint_states report the
joint's simulated angle, not the command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
import math
from pathlib import Path

import numpy as np

from rover_description.geometry import load_geometry
from rover_sim.materials import METAL, REGOLITH, contact_friction, distance_to_cells
from rover_sim.ruts import RutPress, fade_near
from rover_sim.scrub import patch_length, scrub_moment
from rover_sim.sensors import HeightfieldScanner, ImuModel, ImuSample, quat_from_matrix, ray_directions
from rover_sim.soils import load_soil
from rover_sim.terrain import Rect, Terrain, WorldConfig, build_terrain, lander_surfaces, save_terrain
from rover_sim.terramechanics import Soil, TractionTable, WheelSoilParams
from rover_sim.world_model import RUT_ROOM_M, TREAD_TORSION, build_world, write_heights


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings (rates in Hz, noise as standard deviations in SI units)."""

    profile: str = 'yutu2'
    physics_rate: float = 200.0
    soil_rate: float = 50.0
    imu_rate: float = 50.0
    hazcam_rate: float = 0.0  # 0: the rate of the rover description's sensor
    seed: int = 0
    imu_accel_noise: float = 0.005
    imu_gyro_noise: float = 0.0005
    imu_orientation_noise: float = 0.0
    cloud_noise: float = 0.005
    hazcam_samples: int = 40
    hazcam_decimation: int = 2
    ruts: bool = True
    rut_rate: float = 5.0
    soil: Soil | None = None  # None: the terrain's (the world's `soil:`, rover_sim/soils.py)
    hold_gain: float = 2.0  # 1/s: how fast a wheel servo removes its angle error
    park_delay: float = 1.0  # s a wheel must have been commanded 0 before it is locked
    settle_time: float = 1.0  # s of physics before t = 0, wheels held, so the rover starts at rest

    def __post_init__(self) -> None:
        for name in ('physics_rate', 'soil_rate', 'imu_rate', 'rut_rate'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f'SimConfig.{name} must be > 0 Hz, got {value!r}')
        if self.soil_rate > self.physics_rate or self.imu_rate > self.physics_rate:
            raise ValueError('SimConfig: soil_rate and imu_rate must not exceed physics_rate')
        if not (math.isfinite(self.hazcam_rate) and self.hazcam_rate >= 0.0):
            raise ValueError(f'SimConfig.hazcam_rate must be >= 0 Hz, got {self.hazcam_rate!r}')
        if self.hazcam_decimation < 1:
            raise ValueError(f'SimConfig.hazcam_decimation must be >= 1, got {self.hazcam_decimation!r}')
        if not (math.isfinite(self.settle_time) and self.settle_time >= 0.0):
            raise ValueError(f'SimConfig.settle_time must be >= 0 s, got {self.settle_time!r}')


@dataclass(frozen=True)
class JointStates:
    """Reported joints (wheels, steering, suspension): rad, rad/s, N m (actuated joints only)."""

    names: tuple[str, ...]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray


@dataclass(frozen=True)
class GroundTruth:
    """base_link in the world: position (m), orientation (x, y, z, w), body-frame twist (m/s, rad/s)."""

    position: np.ndarray
    orientation: np.ndarray
    linear: np.ndarray
    angular: np.ndarray

    @property
    def yaw(self) -> float:
        x, y, z, w = self.orientation
        return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


# On rock or metal the tread is locked to its hub (`Simulation._grip_rigid`: grousers on a plate do not shear,
# the soil-slip hinge has nothing to model), and the slip hinge keeps only this nominal damping (N m s/rad,
# the model's own). A stiff damper held it there before (2000 N m s/rad): MuJoCo's contact solve sees a
# damper's force at the start of a step while the implicit integrator applies it damped, so a wheel switching
# from regolith to rock at a rock's face with hub and tread turning 1 rad/s apart got a 10 kN contact impulse,
# its hub spun back at 10 rad/s, its speed servo answered with 1450 N m and the wheel left at 6 m/s: the
# rover reared up at a 0.15 m step. The lock is a joint equality, solved together with the contacts.
RIGID_SLIP_DAMPING = 1.0
#: Below this yaw rate (rad/s) a wheel rolls straight for the scrub (R > 11 m at top speed: < 1/11 of a 1 m arc)
SCRUB_MIN_YAW_RATE = 0.005
#: Steering commands (rad) below this on every corner wheel are driving straight (no scrub)
SCRUB_MIN_STEER = 0.01
# s: the lag with which a wheel's rut follows its (slip-dependent) sinkage (see `Simulation._press_ruts`)
RUT_DIG_TIME = 2.0
# Slip sinkage (see `Simulation._dig`): the fraction of a slipping wheel's grouser pockets' soil carried out
# of its contact patch, and the driving slip above which they empty faster than they refill. Both assumed
# (no published values for this wheel). With an onset of 50 % the rear wheels on 20 degrees (slip ~50 %,
# their loads 2.3x the front ones') dug in and the rover stalled (100 % slip against the model's 50 %).
EXCAVATION_EFFICIENCY = 1.0
DIG_SLIP = 0.8
# MuJoCo noslip iterations while all six wheels are parked (see `Simulation._update_brakes`)
PARKED_NOSLIP_ITERATIONS = 10


def rigid_distance(zones: Sequence[Rect], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Horizontal distance (m) from world points to the nearest zone, 0 inside one; inf without zones.

    x and y broadcast together (e.g. grid.x[None, :] and grid.y[:, None] for a whole grid).
    """
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    out = np.full(x.shape, np.inf)
    for z in zones:
        h = math.radians(z.heading_deg)
        dx, dy = x - z.x, y - z.y
        along = dx * math.cos(h) + dy * math.sin(h)
        across = -dx * math.sin(h) + dy * math.cos(h)
        gap_along = np.maximum(np.maximum(z.along_lo - along, along - z.along_hi), 0.0)
        gap_across = np.maximum(np.abs(across) - z.half_width, 0.0)
        out = np.minimum(out, np.hypot(gap_along, gap_across))
    return out


_SOIL, _RUTS, _IMU, _CLOUD = 1, 2, 4, 8  # the slower processes of a step (bits; run in this order)
_MAX_SCHEDULE = 100_000  # steps; a longer common period of their grids is not tabulated


def _index(idx: np.ndarray) -> slice | np.ndarray:
    """An index array as the equal slice when its entries are evenly spaced and increasing, else as it is."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.size == 0 or idx[0] < 0:
        return idx
    step = int(idx[1] - idx[0]) if idx.size > 1 else 1
    if step < 1 or not np.array_equal(idx, np.arange(idx[0], idx[0] + step * idx.size, step)):
        return idx
    return slice(int(idx[0]), int(idx[0]) + step * idx.size, step)


def _every(rate: float, physics_rate: float) -> int:
    return max(1, round(physics_rate / rate))


class Simulation:
    """One rover on one terrain. Commands in, states and sensor samples out; no ROS.

    rigid_zones: areas of rigid (metal) ground, world-frame rectangles; everything else is regolith.
    `Simulation.for_world` passes the world's lander deck and ramp.
    """

    def __init__(self, terrain: Terrain, config: SimConfig | None = None, rigid_zones: Sequence[Rect] = ()) -> None:
        import mujoco

        self._mj = mujoco
        self.config = config = config or SimConfig()
        self.terrain = terrain
        self.geometry = load_geometry(config.profile)
        self.model, self.layout = build_world(terrain, config.profile, config.physics_rate)
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep)
        lay = self.layout
        self.heights = terrain.heights.astype(float).copy()
        self.rigid_zones = tuple(rigid_zones)
        grid = terrain.grid
        r = lay.wheel_radius
        # the material map: the terrain's (rocks, the lander's metal), and the rigid zones given here as metal
        materials = (terrain.materials.copy() if terrain.materials is not None
                     else np.full(grid.shape, REGOLITH, dtype=np.uint8))
        if self.rigid_zones:
            materials[rigid_distance(self.rigid_zones, grid.x[None, :], grid.y[:, None]) <= 0.0] = METAL
        self.materials = materials
        self.rigid_mask = materials != REGOLITH
        # a wheel rolling off rock or metal sinks in over about its own radius (see RutPress)
        reach = r + grid.resolution  # a wheel's contacts lie within this of the node nearest its centre
        distance = distance_to_cells(self.rigid_mask, grid.resolution, reach)
        scale = fade_near(distance, r) if self.rigid_mask.any() else None
        # where a wheel centred over a node can touch only that node's material, its material needs no
        # look at the contacts (most of the time: the contacts cost ~0.1 ms per soil update)
        boundary = np.zeros(grid.shape, dtype=bool)
        if self.rigid_mask.any():
            boundary = ~self.rigid_mask & (distance <= reach)
            boundary |= self.rigid_mask & (distance_to_cells(~self.rigid_mask, grid.resolution, reach) <= reach)
        self._uniform_material = np.where(boundary, -1, materials).astype(np.int8)
        # Each wheel stands in its own rut: the disc is pressed under the contact point, leading it by
        # a quarter of the rut's radius, so the sphere collider (which touches a rut's front edge
        # only beyond sqrt(2 r z), ~6 cm ahead) sits at its sinkage on fresh soil as in the rut of
        # the wheel ahead. Left behind the wheel (the earlier placement), the front wheels rode on
        # the fresh surface and the others in the rut: a 0.8 deg nose-up bias on flat ground.
        width = self.geometry.wheels[0].width
        self.ruts = RutPress(grid, self.heights, width=width, max_depth=0.5 * RUT_ROOM_M, depth_scale=scale,
                             behind=-0.125 * width)
        # one wheel: radius, width and grousers as the rover description has them
        wheel = WheelSoilParams.from_wheel(self.geometry.wheels[0])
        if abs(wheel.radius - r) > 1e-9:
            raise ValueError(f"the MuJoCo wheel collider ({r} m) is not the description's rim ({wheel.radius} m)")
        self.soil = config.soil if config.soil is not None else load_soil(terrain.soil)
        weight = self.geometry.mass * terrain.gravity
        self.traction = TractionTable.cached(self.soil, wheel, max_load=max(weight, 1.0), gravity=terrain.gravity)
        self._wheel_width = wheel.width
        self._scrub = np.zeros(6)  # N m: the soil's moment against each wheel's yaw (`_turning_scrub`)
        seeds = np.random.SeedSequence(config.seed).spawn(2)
        self.imu = ImuModel(terrain.gravity, config.imu_accel_noise, config.imu_gyro_noise,
                            config.imu_orientation_noise, np.random.default_rng(seeds[0]))
        sensor = self.geometry.hazcam
        dec = config.hazcam_decimation
        dirs = ray_directions(sensor.h_fov, sensor.v_fov, max(1, sensor.width // dec), max(1, sensor.height // dec))
        self.scanner = HeightfieldScanner(dirs, sensor.min_range, sensor.max_range, config.hazcam_samples,
                                          config.cloud_noise, np.random.default_rng(seeds[1]))
        hazcam_rate = config.hazcam_rate or sensor.rate_hz
        self._soil_every = _every(config.soil_rate, config.physics_rate)
        self._imu_every = _every(config.imu_rate, config.physics_rate)
        self._cloud_every = _every(hazcam_rate, config.physics_rate)
        self._rut_every = _every(config.rut_rate, config.physics_rate)
        # the slower processes' schedule, over one common period of their grids: from each step,
        # the steps to the next event, and the processes due at each step (`_run_due` bits)
        self._everies = (self._soil_every, self._rut_every, self._imu_every, self._cloud_every)
        period = math.lcm(*self._everies)
        self._schedule: tuple[int, list[int], list[int]] | None = None
        if period <= _MAX_SCHEDULE:
            due = [self._due_at(r) for r in range(period)]
            gap = [min((r // e + 1) * e for e in self._everies) - r for r in range(period)]
            self._schedule = (period, gap, due)
        self._wheel_limit = np.array([self.model.actuator_ctrlrange[a, 1] for a in lay.wheel_act])
        # steering servos integrate their rate ctrl into a position reference clamped to the joint range
        self._steer_lo = self.model.actuator_actrange[lay.steer_act, 0].copy()
        self._steer_hi = self.model.actuator_actrange[lay.steer_act, 1].copy()
        self.max_steer_rate = self.model.actuator_ctrlrange[lay.steer_act, 1].copy()
        self.wheel_cmd = np.zeros(6)
        self.steer_cmd = np.zeros(4)
        self.hold = False
        self._loads = [0.0] * 6
        self._slip = [0.0] * 6
        self._sinkage = [0.0] * 6
        self._on_rigid = [False] * 6
        # index lists and constants of the hot path (see _soil_update)
        self._soil_dt = self._soil_every * self.dt
        # (evenly spaced indices as slices: a slice reads and writes MuJoCo's arrays ~3x faster)
        self._load_adr, self._hub_dof, self._slip_dof = (_index(i) for i in (lay.load_sensor_adr, lay.hub_dof,
                                                                             lay.slip_dof))
        self._hub_qpos, self._roll_tendon, self._lock_eq, self._brake_eq = (
            _index(i) for i in (lay.hub_qpos, lay.roll_tendon, lay.lock_eq, lay.brake_eq))
        self._steer_qpos, self._steer_dof = _index(lay.steer_qpos), _index(lay.steer_dof)
        self._wheel_act, self._steer_act, self._steer_act_adr = (_index(i) for i in (lay.wheel_act, lay.steer_act,
                                                                                     lay.steer_act_adr))
        self._tread_body = lay.tread_body
        self._imu_vel = np.zeros(6)
        self._imu_site, self._gyro = lay.imu_site, slice(lay.gyro_adr, lay.gyro_adr + 3)
        self._object_velocity, self._obj_site = self._mj.mj_objectVelocity, self._mj.mjtObj.mjOBJ_SITE
        self._wheel_limit_list = self._wheel_limit.tolist()
        self._max_steer_list = self.max_steer_rate.tolist()
        # the integrating servo pushes kp (reference - angle) - kv rate: free, it turns at kp/kv times its lead
        kp = self.model.actuator_gainprm[lay.steer_act, 0]
        kv = -self.model.actuator_biasprm[lay.steer_act, 2]
        self._steer_lead = (self.max_steer_rate * kv / kp).tolist()
        # which wheel a contact belongs to (by geom id), and each wheel's current material and contact friction
        self._geom_wheel = np.full(self.model.ngeom, -1, dtype=int)
        self._geom_wheel[lay.tread_geom] = np.arange(6)
        self._material = [REGOLITH] * 6
        self._effort = [float(e) for e in self.model.actuator_forcerange[lay.wheel_act, 1]]
        self._kv = [float(-b) for b in self.model.actuator_biasprm[lay.wheel_act, 2]]
        self._friction = [float(f) for f in self.model.geom_friction[lay.tread_geom, 0]]
        self.imu_out: list[ImuSample] = []
        self.cloud_out: list[tuple[float, np.ndarray]] = []
        self.steps = 0
        self._place_at_spawn()
        self._wheel_ref = self.data.qpos[lay.hub_qpos].tolist()
        self._last_target = [0.0] * 6
        self._zero_time = [0.0] * 6
        self._tread_xy = self.data.xpos[lay.tread_body, :2].copy()
        self._soil_update()
        # no ruts while the rover settles onto its wheels: on a slope it eases downhill by a few
        # millimetres, and a rut pressed 'behind' that motion lies uphill, under the wheels' path
        # (a 10 mm ditch across the track that stalled every climb after ~0.1 m)
        self._settling = True
        self.advance(config.settle_time, record=False)
        self._settling = False
        self._tread_xy = self.data.xpos[lay.tread_body, :2].copy()
        # the depth each wheel presses grows from nothing (see _press_ruts): starting it at the static
        # Bekker sinkage sank the rover ~1 cm within its first centimetres of travel, a short downhill that
        # lurched it forward (a 1 s average of 0.064 m/s on `flat` against the 0.0559 m/s cap)
        self._rut_depth = np.zeros(6)
        self._excavation = np.zeros(6)  # m each wheel has dug below its Bekker sinkage by spinning (slip sinkage)
        self.steps = 0
        self.imu_out.clear()
        self.cloud_out.clear()

    @classmethod
    def for_world(cls, world: WorldConfig, config: SimConfig | None = None) -> Simulation:
        """The simulation of a world definition: its terrain, with the lander's deck and ramp as rigid ground."""
        return cls(build_terrain(world), config, rigid_zones=lander_surfaces(world))

    # --- inputs ---------------------------------------------------------------------------------------
    def command(self, wheel_rates: np.ndarray | None = None, steer_angles: np.ndarray | None = None) -> None:
        """Set wheel rates (rad/s, 6, wheel order) and steering angles (rad, 4); NaN entries keep the old value.

        Values are clamped to the actuator limits; non-finite values other than NaN are ignored.
        """
        if wheel_rates is not None:
            w = np.asarray(wheel_rates, dtype=float)
            ok = np.isfinite(w)
            self.wheel_cmd[ok] = np.clip(w[ok], -self._wheel_limit[ok], self._wheel_limit[ok])
        if steer_angles is not None:
            s = np.asarray(steer_angles, dtype=float)
            ok = np.isfinite(s)
            self.steer_cmd[ok] = np.clip(s[ok], self._steer_lo[ok], self._steer_hi[ok])

    # per-wheel state of the last soil update, as arrays in wheel order
    @property
    def loads(self) -> np.ndarray:
        """Normal load per wheel (N, touch sensor, averaged over two soil updates)."""
        return np.array(self._loads)

    @property
    def slip(self) -> np.ndarray:
        """Slip ratio per wheel (hub against tread rate, -1..1)."""
        return np.array(self._slip)

    @property
    def scrub(self) -> np.ndarray:
        """The soil's moment against each wheel's yaw (N m; 0 rolling straight or on rock/metal)."""
        return self._scrub.copy()

    @property
    def sinkage(self) -> np.ndarray:
        """Bekker sinkage per wheel (m; 0 on rigid ground)."""
        return np.array(self._sinkage)

    @property
    def on_rigid(self) -> np.ndarray:
        """Per wheel: is it on rigid ground (rock or metal)?"""
        return np.array(self._on_rigid, dtype=bool)

    @property
    def wheel_materials(self) -> np.ndarray:
        """Per wheel: the material it stands on (rover_sim.materials: regolith 0, rock 1, metal 2)."""
        return np.array(self._material, dtype=int)

    @property
    def steer_reference(self) -> np.ndarray:
        """The steering servos' position references (rad, 4): the command, approached at max_steer_rate."""
        return self.data.act[self.layout.steer_act_adr].copy()

    def stop_wheels(self) -> None:
        """Command zero wheel rates: the servos then hold the wheels where they are (a brake)."""
        self.wheel_cmd[:] = 0.0

    # --- time -----------------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Simulated seconds since t = 0 (after settling), a whole number of physics steps."""
        return self.steps * self.dt

    def advance(self, duration: float, record: bool = True) -> None:
        """Step the physics for `duration` seconds (rounded to whole steps), running the slower processes."""
        if not (math.isfinite(duration) and duration >= 0.0):
            raise ValueError(f'advance: duration must be >= 0 s, got {duration!r}')
        n = round(duration / self.dt)
        mj, model, data = self._mj, self.model, self.data
        steps = self.steps
        end = steps + n
        if self._schedule is None:  # grids without a short common period: work the next event out each time
            while steps < end:
                nxt = min(end, *((steps // every + 1) * every for every in self._everies))
                mj.mj_step(model, data, nstep=nxt - steps)
                self.steps = steps = nxt
                self._run_due(self._due_at(steps), record)
            return
        period, gap, due = self._schedule
        while steps < end:
            nxt = steps + gap[steps % period]
            if nxt > end:
                nxt = end
            mj.mj_step(model, data, nstep=nxt - steps)
            self.steps = steps = nxt
            what = due[steps % period]
            if what:
                self._run_due(what, record)

    def _run_due(self, what: int, record: bool) -> None:
        """Run the processes due now (`_SOIL | _RUTS | _IMU | _CLOUD` bits), in that order."""
        if what & _SOIL:
            self._soil_update()
        if what & _RUTS and not self._settling:
            self._press_ruts()
        if record and what & _IMU:
            self.imu_out.append(self._imu_sample())
        if record and what & _CLOUD:
            self.cloud_out.append((self.time, self.scan()))

    def _due_at(self, step: int) -> int:
        """The processes due at a step, as `_run_due` bits (ruts only when they are on)."""
        what = 0
        for bit, every in zip((_SOIL, _RUTS, _IMU, _CLOUD), self._everies, strict=True):
            if step % every == 0 and (bit != _RUTS or self.config.ruts):
                what |= bit
        return what

    # --- the soil coupling and the motors ---------------------------------------------------------------
    # Six wheels and four corners: plain Python floats, one numpy read and one write per MuJoCo
    # array. Each numpy call on a 6-element array costs about as much as the arithmetic of all six.
    def _soil_update(self) -> None:
        m, d = self.model, self.data
        dt = self._soil_dt
        raw = d.sensordata[self._load_adr].tolist()
        self._loads = loads = [0.5 * a + 0.5 * b for a, b in zip(self._loads, raw, strict=True)]
        qvel = d.qvel
        omega_hub = qvel[self._hub_dof].tolist()
        omega_tread = [h + s for h, s in zip(omega_hub, qvel[self._slip_dof].tolist(), strict=True)]
        self._on_rigid = rigid = self._wheel_materials()
        # on rock or metal the tread follows the hub: no soil shear, no compaction resistance, no sinkage
        # (couple_wheels skips the soil look-ups there and returns 0.0)
        damping, rolling, sinkage, self._slip = self.traction.couple_wheels(loads, omega_hub, omega_tread, rigid)
        if any(rigid):
            damping = [RIGID_SLIP_DAMPING if r else v for r, v in zip(rigid, damping, strict=True)]
        m.dof_damping[self._slip_dof] = damping
        self._turning_scrub(loads, sinkage, rigid)
        m.tendon_damping[self._roll_tendon] = rolling
        self._sinkage = sinkage
        target = [0.0] * 6 if self.hold else self.wheel_cmd.tolist()
        parked = self._update_brakes(target, omega_hub, omega_tread)
        self._grip_rigid(rigid, parked)
        q = d.qpos[self._hub_qpos].tolist()
        gain = self.config.hold_gain
        refs, ctrl = self._wheel_ref, []
        for k in range(6):
            t, qk, ref, lim = target[k], q[k], refs[k], self._wheel_limit_list[k]
            if parked[k] or (t == 0.0 and self._last_target[k] != 0.0):
                # a wheel told to stop brakes where it is (no catching up on an old lag)
                ref = qk
            else:
                # the reference never runs more than 0.05 rad ahead of the hub (no wind-up while blocked)
                ref = min(max(ref + t * dt, qk - 0.05), qk + 0.05)
            refs[k] = ref
            c = min(max(t + gain * (ref - qk), -lim), lim)
            if rigid[k]:
                # on rock or metal nothing soft limits the torque: the velocity servo is unclamped (see
                # rover_sim.world_model), so its ask is held to the motor's torque, kv |c - omega| <= effort (a
                # wheel blocked by a rock's face otherwise pushed with 50 N m and launched the rover)
                reach = self._effort[k] / self._kv[k]
                c = min(max(c, omega_hub[k] - reach), omega_hub[k] + reach)
            ctrl.append(c)
        self._last_target = target
        d.ctrl[self._wheel_act] = ctrl
        # the reference's rate for the next soil period: lands exactly on the command, never faster
        # than max_steer_rate (MuJoCo integrates the ctrl exactly: reference += ctrl * dt each step), and
        # never further ahead of the joint (where it will be at the period's end) than the lead at which
        # the free servo turns at that rate (`_steer_lead`): a corner held back (a wheel pivoting in soil,
        # `_turning_scrub`) catches up at the servo's rate, not faster (it swung at 1.06x once it came free)
        ref = d.act[self._steer_act_adr].tolist()
        joint = (d.qpos[self._steer_qpos] + d.qvel[self._steer_dof] * dt).tolist()
        d.ctrl[self._steer_act] = [min(max((min(max(c, q - a), q + a) - r) / dt, -v), v) for c, r, q, a, v in
                                   zip(self.steer_cmd.tolist(), ref, joint, self._steer_lead, self._max_steer_list,
                                       strict=True)]

    def _turning_scrub(self, loads: list[float], sinkage: list[float], rigid: list[bool]) -> None:
        """Torsional contact friction of each tread on regolith from the scrub of its patch (`rover_sim.scrub`).

        MuJoCo's torsional friction (condim 4) caps the moment about the contact normal at mu_t N; per
        wheel mu_t = M(R) / N, with R the radius of the arc the wheel rolls on now (horizontal hub speed
        over its yaw rate), so it resists a turn as the soil would. Only while a turn is commanded (any
        steering angle): a straight drive keeps condim 3 and is exactly what it was, also when a stalled
        rover's chassis jitters in yaw (the slope tests' digging wheels). On rock or metal: condim 3 too.
        """
        steering = bool(np.any(np.abs(self.steer_cmd) > SCRUB_MIN_STEER))
        scrub = self._patch_scrub(loads, sinkage, rigid) if steering else np.zeros(6)
        if scrub.any() or self._scrub.any():  # the contact changes only while turning and right after
            m, lay = self.model, self.layout
            torsion = scrub / np.maximum(np.asarray(loads), 1e-6)  # scrub is 0 wherever the load is
            m.geom_condim[lay.tread_geom] = np.where(torsion > 0.0, 4, 3)
            m.geom_friction[lay.tread_geom, 1] = np.where(torsion > 0.0, torsion, TREAD_TORSION)
        self._scrub = scrub

    def _patch_scrub(self, loads: list[float], sinkage: list[float], rigid: list[bool]) -> np.ndarray:
        """Each tread's scrub moment (N m) on the arc it rolls on now; 0 yawing slower than SCRUB_MIN_YAW_RATE."""
        m, d, lay = self.model, self.data, self.layout
        body = lay.tread_body
        omega = d.cvel[body, :3]
        # velocity of each tread's centre from the com-based cvel (MuJoCo's spatial transform)
        lin = d.cvel[body, 3:] + np.cross(omega, d.xpos[body] - d.subtree_com[m.body_rootid[body]])
        axle = d.xmat[body].reshape(-1, 3, 3)[:, :, 1]
        normal = np.array([0.0, 0.0, 1.0]) - axle[:, 2:3] * axle  # vertical, made perpendicular to the axle
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
        yaw_rate = np.abs(np.einsum('ij,ij->i', omega, normal))
        speed = np.linalg.norm(lin - np.einsum('ij,ij->i', lin, normal)[:, None] * normal, axis=1)
        turning = (yaw_rate > SCRUB_MIN_YAW_RATE) & ~np.asarray(rigid)
        if not turning.any():
            return np.zeros(6)
        with np.errstate(divide='ignore'):
            radius = np.where(turning, speed / yaw_rate, np.inf)
        soil = self.soil
        return scrub_moment(radius, np.asarray(loads), patch_length(lay.wheel_radius, np.asarray(sinkage)),
                            self._wheel_width, soil.cohesion, soil.friction_deg, soil.shear_k)

    def _wheel_materials(self) -> list[bool]:
        """Per wheel: is it on rigid ground (rock or metal)? Sets each tread's contact friction to match.

        A wheel's material is that of its contacts with the ground, weighted by their penetration
        (a wheel pressing on a rock's face with part of its tread still in the regolith is on the
        material that carries more of it); a wheel without contact keeps its last material. The
        contact friction is the tread geom's (the heightfield's is 0, MuJoCo takes the larger).
        """
        d = self.data
        grid = self.terrain.grid
        x0, y0, res, nx, ny = grid.origin_x, grid.origin_y, grid.resolution, grid.nx - 1, grid.ny - 1
        field = self._uniform_material
        uniform = []
        for x, y in d.xpos[self._tread_body, :2].tolist():
            col, row = round((x - x0) / res), round((y - y0) / res)
            row = 0 if row < 0 else (ny if row > ny else row)
            uniform.append(int(field[row, 0 if col < 0 else (nx if col > nx else col)]))
        n = d.ncon
        if min(uniform) >= 0:
            self._material = uniform
        elif n:
            con = d.contact
            geoms = con.geom[:n]
            wheel = np.maximum(self._geom_wheel[geoms[:, 0]], self._geom_wheel[geoms[:, 1]])
            on = wheel >= 0
            if on.any():
                pos = con.pos[:n][on]
                cols = np.clip(np.rint((pos[:, 0] - grid.origin_x) / grid.resolution), 0, grid.nx - 1).astype(int)
                rows = np.clip(np.rint((pos[:, 1] - grid.origin_y) / grid.resolution), 0, grid.ny - 1).astype(int)
                mat = self.materials[rows, cols]
                weight = np.maximum(-con.dist[:n][on], 0.0) + 1e-9
                votes = np.bincount(wheel[on] * 3 + mat, weights=weight, minlength=18).reshape(6, 3)
                touched = votes.sum(axis=1) > 0.0
                best = votes.argmax(axis=1).tolist()
                self._material = [b if t else m for b, t, m in zip(best, touched.tolist(), self._material, strict=True)]
        friction = [contact_friction(m) for m in self._material]
        if friction != self._friction:
            self.model.geom_friction[self.layout.tread_geom, 0] = friction
            self._friction = friction
        return [m != REGOLITH for m in self._material]

    def _update_brakes(self, target: list[float], omega_hub: list[float], omega_tread: list[float]) -> list[bool]:
        """Park a wheel commanded to 0 once hub and tread have stopped; release it on any rate command.

        Geared rover motors do not back-drive: a parked wheel's hub is braked where it stopped (and
        its tread locked to the hub, by `_grip_rigid`, which owns that lock), so it holds on a slope
        and the six wheels never fight over a few milliradians of position error. Soil failure under
        a parked rover is not modelled. Returns the parked mask.
        """
        m, d, lay = self.model, self.data, self.layout
        dt = self._soil_dt
        delay = self.config.park_delay
        zero = self._zero_time
        active = d.eq_active[self._brake_eq].tolist()
        for k in range(6):
            zero[k] = zero[k] + dt if target[k] == 0.0 else 0.0
            if active[k]:
                if target[k] != 0.0:
                    d.eq_active[lay.brake_eq[k]] = 0
                    active[k] = 0
            # brake only after the suspension has settled on its dampers (a brake taken while stopping
            # would freeze the bogies mid-swing)
            elif zero[k] >= delay and abs(omega_hub[k]) < 0.02 and abs(omega_tread[k]) < 0.02:
                m.eq_data[lay.brake_eq[k], 0] = d.qpos[lay.hub_qpos[k]]
                d.eq_active[lay.brake_eq[k]] = 1
                active[k] = 1
        # A parked rover stands on static friction. MuJoCo's friction is a soft constraint without a
        # position term: under a steady sideways load (a slope) locked wheels creep over the ground
        # at a speed proportional to the load (20 cm in 10 min on 20 degrees, 2.6 cm on 1 degree in
        # the egress). The noslip pass removes that creep while every wheel is parked; it costs
        # nothing while driving (0 iterations) and releases with the first wheel command.
        m.opt.noslip_iterations = PARKED_NOSLIP_ITERATIONS if all(active) else 0
        return [bool(a) for a in active]

    def _grip_rigid(self, rigid: list[bool], parked: list[bool]) -> None:
        """Lock each tread to its hub while its wheel is on rock or metal, release it on regolith (unless parked).

        On rigid ground nothing shears under the rim: the soil-slip hinge has no business there. The lock is a
        joint equality, solved with the contacts in one constraint solve.
        """
        m, d, lay = self.model, self.data, self.layout
        locked = d.eq_active[self._lock_eq].tolist()
        for k in range(6):
            want = rigid[k] or parked[k]
            if want and not locked[k]:
                m.eq_data[lay.lock_eq[k], 0] = d.qpos[lay.slip_qpos[k]]
                d.eq_active[lay.lock_eq[k]] = 1
            elif locked[k] and not want:
                d.eq_active[lay.lock_eq[k]] = 0

    def _press_ruts(self) -> None:
        """Lower the grid under each moving wheel to its sinkage; the physics field is edited in place."""
        d, lay = self.data, self.layout
        xy = d.xpos[lay.tread_body, :2].copy()
        vel = (xy - self._tread_xy) / (self._rut_every * self.dt)
        self._tread_xy = xy
        # 'behind' is against the way the wheel rolls (its heading, signed by the hub's rate), and a
        # wheel presses only while it moves that way: a wheel jostled backwards (a stalling or pitching
        # bogie) would otherwise press its disc ahead of itself, under its own path, and dig a ditch
        # that stalls it for good
        axle = d.xmat[lay.tread_body].reshape(-1, 3, 3)[:, :, 1]
        hx, hy = axle[:, 1], -axle[:, 0]
        norm = np.maximum(np.hypot(hx, hy), 1e-9) * np.where(d.qvel[lay.hub_dof] >= 0.0, 1.0, -1.0)
        hx, hy = hx / norm, hy / norm
        along = np.maximum(vel[:, 0] * hx + vel[:, 1] * hy, 0.0)
        period = self._rut_every * self.dt
        alpha = 1.0 - math.exp(-period / RUT_DIG_TIME)
        digging = self._dig(along, period)
        # a wheel that spins in place presses where it stands (along its heading): it digs itself in
        along = np.where(digging & (along < 1e-4), 1e-3, along)
        if not np.any(along >= 1e-4):  # nothing rolls: nothing to press (RutPress's min_speed)
            self._rut_depth = self._rut_depth + alpha * (self.sinkage - self._rut_depth)
            return
        # the contact point: below the centre along the ground's normal (uphill of it on a slope);
        # the ground's gradient from one look-up of 4 points per wheel
        grid, e = self.ruts.grid, self.ruts.grid.resolution
        x, y = xy[:, 0], xy[:, 1]
        h = grid.bilinear(self.ruts.original, np.concatenate([x + e, x - e, x, x]),
                          np.concatenate([y, y, y + e, y - e])).reshape(4, -1)
        gx, gy = (h[0] - h[1]) / (2 * e), (h[2] - h[3]) / (2 * e)
        lean = self.layout.wheel_radius / np.sqrt(1.0 + gx * gx + gy * gy)
        cx, cy = x + lean * gx, y + lean * gy
        # A wheel digs to its slip-sinkage over time, not at once: the rut depth follows the model's
        # sinkage with a lag of RUT_DIG_TIME. The breakaway slip of a standing start lasts a few
        # tenths of a second and no longer presses a hole 2-3x the steady rut (38 mm against 12 on
        # `flat` before); a wheel held spinning still digs in within seconds.
        self._rut_depth = self._rut_depth + alpha * (self.sinkage - self._rut_depth)
        window = self.ruts.press(cx, cy, hx * along, hy * along, self._rut_depth)
        # the excavation is a hole under the contact, not ahead of it: a wheel that dug itself in has the hole's
        # front wall to climb (pressed ahead, like the rut, a spinning wheel crept forward into its own hole)
        dig = np.where(digging, self._rut_depth + self._excavation, 0.0)
        if np.any(dig > 0.0):
            hole = self.ruts.imprint(x, y, gx, gy, dig, self.layout.wheel_radius)
            if hole is not None:
                window = hole if window is None else (
                    slice(min(window[0].start, hole[0].start), max(window[0].stop, hole[0].stop)),
                    slice(min(window[1].start, hole[1].start), max(window[1].stop, hole[1].stop)))
        if window is not None:
            write_heights(self.model, self.layout.fine, self.heights, *window)

    def _dig(self, along: np.ndarray, period: float) -> np.ndarray:
        """Advance each wheel's excavation (slip sinkage) by `period` s; returns which wheels are digging.

        A grousered wheel that slips carries soil out of its contact patch: the rim slides over the ground at
        the slip speed v_s = s r omega, and the soil in its grouser pockets (height h) goes with it, a volume
        EXCAVATION_EFFICIENCY h b v_s per second taken from the patch (width b, length L = r theta_1). The wheel
        rolling on at ground speed v leaves its hole behind, so the excavation below the Bekker sinkage follows
        de/dt = (eta h v_s - e v) / L, with v_s counted beyond DIG_SLIP: steady e = 0 up to 80 % slip, 17 mm
        at 85 %, 50 mm at 90 %, growing without bound at 100 % slip until the rut's depth cap. On rock and
        metal nothing is dug.
        """
        hub = self.data.qvel[self._hub_dof]
        r = self.layout.wheel_radius
        # driving slip beyond DIG_SLIP (skid carries no soil out; below it the grousers' soil is re-filled)
        driving = np.maximum(np.array(self._slip) * np.sign(hub) - DIG_SLIP, 0.0) / (1.0 - DIG_SLIP)
        soil = ~np.array(self._on_rigid, dtype=bool)
        slip_speed = np.where(soil, driving * np.abs(hub) * r, 0.0)
        z = np.clip(self.sinkage, 1e-3, r)
        length = r * np.arccos(1.0 - z / r)
        rate = EXCAVATION_EFFICIENCY * self.traction.wheel.grouser_height * slip_speed / length
        decay = along / length
        e = self._excavation
        small = decay * period < 1e-9
        grown = np.where(small, e + rate * period,
                         e + (rate - decay * e) * -np.expm1(-decay * period) / np.where(small, 1.0, decay))
        self._excavation = np.where(soil, np.minimum(grown, self.ruts.max_depth), 0.0)
        return slip_speed > 1e-3

    # --- placing the rover ------------------------------------------------------------------------------
    def _place_at_spawn(self) -> None:
        """Put base_link over the spawn point, tilted to the plane through the ground under the wheels."""
        sp = self.terrain.spawn
        r = self.layout.wheel_radius
        local = np.array([[w.x, w.y] for w in self.geometry.wheels])
        c, s = math.cos(sp.yaw), math.sin(sp.yaw)
        world = local @ np.array([[c, s], [-s, c]]) + np.array([sp.x, sp.y])
        ground = self.terrain.height_at(world[:, 0], world[:, 1])
        # least-squares plane z = a + b x + c y in the rover's yaw frame
        design = np.column_stack([np.ones(len(local)), local])
        (a0, bx, cy), *_ = np.linalg.lstsq(design, ground, rcond=None)
        pitch = -math.atan(bx)  # ground rising ahead -> nose up -> negative pitch (REP-103)
        roll = math.atan(cy)
        quat = np.zeros(4)
        self._mj.mju_euler2Quat(quat, np.array([roll, pitch, sp.yaw]), 'XYZ')
        d = self.data
        d.qpos[0:3] = [sp.x, sp.y, a0 + r / max(math.cos(pitch) * math.cos(roll), 0.5) + 0.005]
        d.qpos[3:7] = quat
        self._mj.mj_forward(self.model, d)

    # --- outputs --------------------------------------------------------------------------------------
    def joint_states(self) -> JointStates:
        lay, d = self.layout, self.data
        effort = np.where(lay.joint_act >= 0, d.actuator_force[np.maximum(lay.joint_act, 0)], 0.0)
        return JointStates(lay.joint_names, d.qpos[lay.joint_qpos].copy(), d.qvel[lay.joint_dof].copy(), effort)

    def ground_truth(self) -> GroundTruth:
        d, body = self.data, self.layout.base_body
        vel = np.zeros(6)
        self._mj.mj_objectVelocity(self.model, d, self._mj.mjtObj.mjOBJ_XBODY, body, vel, 1)
        return GroundTruth(d.xpos[body].copy(), quat_from_matrix(d.xmat[body].reshape(3, 3)),
                           vel[3:].copy(), vel[:3].copy())

    def base_rotation(self) -> np.ndarray:
        return self.data.xmat[self.layout.base_body].reshape(3, 3).copy()

    def prime_sensors(self) -> None:
        """Queue one IMU sample and one hazcam scan at the current time (the state before stepping)."""
        self.imu_out.append(self._imu_sample())
        self.cloud_out.append((self.time, self.scan()))

    def _imu_sample(self) -> ImuSample:
        d, site, vel = self.data, self._imu_site, self._imu_vel
        self._object_velocity(self.model, d, self._obj_site, site, vel, 0)
        return self.imu.sample_floats(self.steps * self.dt, d.site_xmat[site].tolist(),
                                      d.sensordata[self._gyro].tolist(), vel[3:].tolist())

    def scan(self) -> np.ndarray:
        """One hazcam scan now: (rows, cols, 3) points in hazcam_link (x forward), NaN = no return."""
        site = self.layout.hazcam_site
        return self.scanner.scan(self.terrain.grid, self.heights, self.data.site_xpos[site],
                                 self.data.site_xmat[site].reshape(3, 3))

    def save_terrain(self, path: Path | str) -> tuple[Path, Path]:
        """Write the terrain with its ruts and its material map (`<path>.npz` + `.json`, the terrain store's format).

        The map is the simulator's (the terrain's rocks and metal, and the rigid zones it was given as metal).
        """
        rutted = replace(self.terrain, heights=self.heights.copy(), materials=self.materials.copy(), _slope=None)
        return save_terrain(rutted, path, extra={'ruts_max_depth_m': float(self.ruts.depth_map().max())})
