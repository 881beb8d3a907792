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
