"""The rover geometry the rest of the code uses, read from the rover description (one source of truth).

Kinematics, odometry, guards, the simulator and the hardware driver take a `RoverGeometry`
instead of copying numbers. `load_geometry(profile)` builds it from the xacro/URDF of that
profile (`rover_description/urdf/`), so changing a xacro property changes every consumer.

Conventions (REP-103): positions in `base_link` metres, x forward, y left, z up; `base_link` is
on the middle-wheel axle line, centred between the middle wheels, at axle height, with the
suspension at its nominal (level) stance. Angles in radians, positive counter-clockwise about z.
Wheel order everywhere: fl, ml, rl, fr, mr, rr.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
import math

WHEEL_NAMES = ('fl', 'ml', 'rl', 'fr', 'mr', 'rr')
STEERED_WHEELS = ('fl', 'rl', 'fr', 'rr')
WHEEL_JOINTS = tuple(f'wheel_{n}_joint' for n in WHEEL_NAMES)
STEER_JOINTS = tuple(f'steer_{n}_joint' for n in STEERED_WHEELS)
SUSPENSION_JOINTS = ('rocker_l_joint', 'rocker_r_joint', 'bogie_l_joint', 'bogie_r_joint')
PROFILES = ('yutu2', 'hobby')


@dataclass(frozen=True)
class Wheel:
    """One wheel at nominal stance.

    x, y: the wheel's contact patch centre (= steering axis for corner wheels) in base_link.
    z: the wheel axle height in base_link (about 0 for all wheels at nominal stance).
    steer_joint: None for the fixed middle wheels; steer limits are then (0, 0).
    """

    name: str
    joint: str
    steer_joint: str | None
    x: float
    y: float
    z: float
    radius: float
    width: float
    steer_min: float = 0.0
    steer_max: float = 0.0
    grouser_height: float = 0.0  # m the grousers stand out of the rim (radius is the rim's)
    grouser_count: int = 0

    @property
    def steerable(self) -> bool:
        return self.steer_joint is not None


@dataclass(frozen=True)
class Pose:
    """A frame's pose in base_link: translation (m) and roll-pitch-yaw (rad, fixed axes)."""

    frame: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float]


@dataclass(frozen=True)
class DepthSensor:
    """The forward-looking hazard depth sensor (`hazcam_link`, x forward).

    Rays fan out over `h_fov` x `v_fov` (rad) around the link's x axis, `width` x `height`
    samples, returning points between `min_range` and `max_range` (m).
    """

    pose: Pose
    h_fov: float
    v_fov: float
    width: int
    height: int
    min_range: float
    max_range: float
    rate_hz: float


@dataclass(frozen=True)
class HardLimits:
    """The rover's safety ratings from the description's `<rover_limits>` (inf = none given).

    top_speed, wheel_speed: m/s (|v| of base_link, wheel surface speed); stop_tilt_deg: the
    latest tilt at which climbing must be refused; max_tilt_deg: the roll-over limit (all
    motion blocked); step_height: m; command_timeout: s. Nothing may command the rover beyond
    them and no runtime parameter change may raise a limit above them.
    """

    top_speed: float = math.inf
    wheel_speed: float = math.inf
    stop_tilt_deg: float = math.inf
    max_tilt_deg: float = math.inf
    step_height: float = math.inf
    command_timeout: float = math.inf

    def ceilings(self) -> dict[str, float]:
        """Parameter name -> hard ceiling, for the parameters these limits bound."""
        return {'max_linear_speed': self.top_speed, 'max_wheel_speed': self.wheel_speed,
                'stop_tilt_deg': self.stop_tilt_deg, 'max_tilt_deg': self.max_tilt_deg,
                'max_step_height': self.step_height, 'command_timeout': self.command_timeout}


def limits_from_xml(xml: str) -> HardLimits:
    """`HardLimits` from the `<rover_limits>` element of URDF text (all inf if it has none)."""
    import xml.etree.ElementTree as ET

    elem = ET.fromstring(xml).find('rover_limits')
    if elem is None:
        return HardLimits()
    values = {}
    for name in HardLimits.__dataclass_fields__:
        text = elem.get(name)
        if text is not None:
            value = float(text)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f'<rover_limits {name}="{text}">: must be a finite number > 0')
            values[name] = value
    return HardLimits(**values)


@dataclass(frozen=True)
class RoverGeometry:
    """Everything a consumer needs to know about the rover's shape.

    footprint: (x_min, x_max, y_min, y_max) in base_link of the whole rover seen from above,
    wheels included. belly_z: the lowest point of the body in base_link (negative: below the
    axle line); belly clearance on flat ground = belly_z + wheel radius.
    """

    profile: str
    mass: float
    wheels: tuple[Wheel, ...]
    footprint: tuple[float, float, float, float]
    belly_z: float
    imu: Pose
    hazcam: DepthSensor
    max_steer_rate: float
    # added with the URDF loader (defaults keep hand-built geometries in tests valid)
    com: tuple[float, float, float] = (0.0, 0.0, 0.0)  # whole-rover centre of mass at stance, base_link, m
    max_wheel_rate: float = math.inf  # rad/s, the wheel joints' velocity limit
    mast_camera: Pose | None = None  # mastcam_optical_frame (z forward) in base_link
    limits: HardLimits = HardLimits()  # the safety ratings (<rover_limits>)

    def wheel(self, name: str) -> Wheel:
        for w in self.wheels:
            if w.name == name:
                return w
        raise KeyError(f'no wheel {name!r}; wheels are {WHEEL_NAMES}')

    @property
    def wheel_radius(self) -> float:
        return self.wheels[0].radius

    @property
    def belly_clearance(self) -> float:
        return self.belly_z + self.wheel_radius

    @property
    def front_x(self) -> float:
        """The rover's front-most point (m, base_link x), wheels included."""
        return self.footprint[1]


def _pose(frame: str, t) -> Pose:
    from rover_description.rotations import matrix_rpy

    xyz = tuple(float(v) for v in t[:3, 3])
    return Pose(frame, xyz, matrix_rpy(t[:3, :3]))


def _sensor_float(sensor, path: str, link: str) -> float:
    elem = sensor.find(path)
    if elem is None or elem.text is None:
        raise ValueError(f'sensor {sensor.get("name")!r} on {link!r} has no <{path}> in the URDF gazebo block')
    return float(elem.text)


@functools.cache
def load_geometry(profile: str = 'yutu2') -> RoverGeometry:
    """The `RoverGeometry` of a description profile ('yutu2' or 'hobby'), read from its expanded URDF.

    Wheel positions compose the joint origins at nominal stance (all joints at 0); radius and
    width come from each wheel's collision cylinder (the rim), grouser height and count from its
    `grouser` plates (box visuals whose radial size is the height they stand out of the rim);
    steering limits and rates from the steering
    joints; footprint is the top view bounding box of every collision shape; belly_z the lowest
    point of the chassis collision; the hazcam parameters from its `<gazebo><sensor>` block.
    Cached per profile. Raises ValueError for an unknown profile or a description lacking a part.
    """
    import numpy as np

    from rover_description.description import urdf_model, urdf_xml

    model = urdf_model(profile)
    poses = model.link_transforms()
    wheels = []
    for name in WHEEL_NAMES:
        joint = model.joints[f'wheel_{name}_joint']
        cylinders = [s for s in model.links[joint.child].collisions if s.kind == 'cylinder']
        if len(cylinders) != 1:
            raise ValueError(f'wheel link {joint.child!r} must have exactly one collision cylinder')
        radius, width = cylinders[0].size
        grousers = [v for v in model.links[joint.child].visuals if v.material == 'grouser' and v.kind == 'box']
        heights = {round(v.size[0], 9) for v in grousers}
        if len(heights) > 1:
            raise ValueError(f'wheel link {joint.child!r}: grousers of different heights {sorted(heights)}')
        grouser_height = float(grousers[0].size[0]) if grousers else 0.0
        centre = poses[joint.child][:3, 3]
        steer_name = f'steer_{name}_joint' if name in STEERED_WHEELS else None
        lo = hi = 0.0
        if steer_name is not None:
            steer = model.joints[steer_name]
            lo, hi = steer.lower, steer.upper
        wheels.append(Wheel(name, joint.name, steer_name, float(centre[0]), float(centre[1]), float(centre[2]),
                            float(radius), float(width), float(lo), float(hi), grouser_height, len(grousers)))

    lows, highs = [math.inf, math.inf], [-math.inf, -math.inf]
    for link in model.links.values():
        for shape in link.collisions:
            frame = poses[link.name] @ shape.origin
            for i, axis in enumerate((np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))):
                lo_i, hi_i = shape.extent_along(frame, axis)
                lows[i], highs[i] = min(lows[i], lo_i), max(highs[i], hi_i)
    footprint = (lows[0], highs[0], lows[1], highs[1])
    belly = min(s.extent_along(poses['chassis_link'] @ s.origin, np.array([0, 0, 1.0]))[0]
                for s in model.links['chassis_link'].collisions)

    link, sensor = model.gazebo_sensors['hazcam']
    h0, h1 = (_sensor_float(sensor, f'lidar/scan/horizontal/{k}', link) for k in ('min_angle', 'max_angle'))
    v0, v1 = (_sensor_float(sensor, f'lidar/scan/vertical/{k}', link) for k in ('min_angle', 'max_angle'))
    hazcam = DepthSensor(
        pose=_pose(link, poses[link]), h_fov=h1 - h0, v_fov=v1 - v0,
        width=int(_sensor_float(sensor, 'lidar/scan/horizontal/samples', link)),
        height=int(_sensor_float(sensor, 'lidar/scan/vertical/samples', link)),
        min_range=_sensor_float(sensor, 'lidar/range/min', link),
        max_range=_sensor_float(sensor, 'lidar/range/max', link),
        rate_hz=_sensor_float(sensor, 'update_rate', link))
    com = tuple(float(v) for v in model.centre_of_mass())
    return RoverGeometry(
        profile=profile, mass=float(model.total_mass()), wheels=tuple(wheels),
        footprint=tuple(float(v) for v in footprint), belly_z=float(belly),
        imu=_pose('imu_link', poses['imu_link']), hazcam=hazcam,
        max_steer_rate=min(model.joints[j].velocity for j in STEER_JOINTS),
        com=com, max_wheel_rate=min(model.joints[j].velocity for j in WHEEL_JOINTS),
        mast_camera=_pose('mastcam_optical_frame', poses['mastcam_optical_frame']),
        limits=limits_from_xml(urdf_xml(profile)))
