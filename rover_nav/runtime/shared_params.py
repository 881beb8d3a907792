"""The parameters several nodes declare: one `ParamSpec` each, imported by every node that uses it.

`rover.yaml`'s `/**` section hands one value of a key to every node, so a key read by several
nodes must mean one thing and accept one range everywhere: otherwise a value can start some
nodes and stop others with exit 2 (`max_clock_skew: 61` once did). A node that needs another
default or read-only flag derives it with `variant()`, which cannot change the type, range or
choices; `test/foundation/test_shared_params.py` checks that across every node.

Keys with different meanings have different names: `command_timeout` is the speed limiter's
operator-command timeout (ROVER_SPEC section 4), `cmd_vel_timeout` the drive controller's,
`joint_command_timeout` the actuators' (simulator, Gazebo adapter, hardware driver) and
`uplink_command_timeout` the link executor's hold of an uplinked command.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses

from rover_description.geometry import PROFILES
from rover_nav.runtime.params import ParamSpec

PROFILE = ParamSpec('profile', str, 'yutu2',
                    'Rover description profile the geometry (wheels, steering limits, sensor poses, footprint) '
                    'is read from; the wrong one steers the wrong angles and misplaces obstacles.',
                    choices=PROFILES, read_only=True)
FRAME_PREFIX = ParamSpec('frame_prefix', str, '',
                         "Prefix of this rover's frame ids when several rovers share a graph ('rover1/' -> "
                         'rover1/base_link, rover1/odom, ...).', read_only=True)
MAX_CLOCK_SKEW = ParamSpec('max_clock_skew', float, 0.5,
                           "s a message stamp may lie ahead of this node's clock before the message is rejected "
                           '(a wrong clock must not keep input fresh); too small drops good input from a publisher '
                           'whose clock runs ahead.', lo=0.0, hi=60.0)
MAX_LINEAR_SPEED = ParamSpec('max_linear_speed', float, 0.0559,
                             'm/s: hard cap on |v| reaching /cmd_vel; the teleops scale full stick to it and the '
                             'link executor refuses faster plan segments.', lo=0.001, hi=5.0)
MAX_ANGULAR_SPEED = ParamSpec('max_angular_speed', float, 0.1,
                              'rad/s: hard cap on |w|; the teleops scale full stick to it and the link executor '
                              'refuses faster turns.', lo=0.001, hi=5.0)
MAX_WHEEL_SPEED = ParamSpec('max_wheel_speed', float, 0.08,
                            'm/s wheel surface speed; commands above it scale all wheels down together (curvature '
                            'kept). Too high overdrives the motors, too low makes point turns crawl.',
                            lo=1e-4, hi=10.0)
IMU_TIMEOUT = ParamSpec('imu_timeout', float, 0.5,
                        's; an older IMU sample is stale: the slope guard blocks motion, the drive and the odometry '
                        'stop using the gyro.', lo=0.01, hi=30.0)
CLOUD_TIMEOUT = ParamSpec('cloud_timeout', float, 1.0,
                          's without a usable hazcam cloud before the guards treat it as stale (the obstacle guard '
                          'blocks motion; the slope guard stops looking ahead).', lo=0.05, hi=30.0)
COMMAND_TIMEOUT = ParamSpec('command_timeout', float, 0.5,
                            's without a fresh operator command (teleop/cmd_vel) before the speed limiter publishes '
                            'zero, every watchdog_period.', lo=0.01, hi=30.0)
CMD_VEL_TIMEOUT = ParamSpec('cmd_vel_timeout', float, 0.5,
                            's without a fresh cmd_vel (node clock, sim time aware) before the drive controller '
                            'stops the wheels. Too long lets a dead link keep the rover driving.', lo=0.01, hi=60.0)
JOINT_COMMAND_TIMEOUT = ParamSpec('joint_command_timeout', float, 0.5,
                                  's without joint_commands before the wheels stop (simulator, Gazebo adapter, '
                                  'hardware driver: its RoboClaws get the largest 0.1 s serial timeout at or below '
                                  'it).', lo=0.1, hi=25.5)
UPLINK_COMMAND_TIMEOUT = ParamSpec('uplink_command_timeout', float, 0.5,
                                   's an uplinked operator command is held after it arrived (link executor).',
                                   lo=0.01, hi=60.0)
WATCHDOG_PERIOD = ParamSpec('watchdog_period', float, 0.1,
                            's; period of the staleness check and of the zero commands published while stale or '
                            'e-stopped (node clock).', lo=0.005, hi=5.0, read_only=True)
DIAGNOSTICS_PERIOD = ParamSpec('diagnostics_period', float, 1.0, 's; period of the /diagnostics status (node clock).',
                               lo=0.05, hi=60.0, read_only=True)
PUBLISH_RATE = ParamSpec('publish_rate', float, 10.0,
                         'Hz of teleop/cmd_vel on the node clock (zero included); must be well above '
                         '1/command_timeout of the limiter.', lo=1.0, hi=100.0)
WORLD = ParamSpec('world', str, 'change4', 'World name (worlds/NAME.yaml) or YAML file of the drive.',
                  read_only=True)
OUTPUT_DIR = ParamSpec('output_dir', str, '', "The run's folder (bag/, track files, summary.json, "
                       "terrain_final.*); '' = none.", read_only=True)

#: the description's `command_timeout` hard limit (longest a command may be trusted) bounds each of these
COMMAND_TIMEOUT_KEYS = (COMMAND_TIMEOUT.name, CMD_VEL_TIMEOUT.name, JOINT_COMMAND_TIMEOUT.name,
                        UPLINK_COMMAND_TIMEOUT.name)


def parameter_ceilings(description_ceilings: Mapping[str, float]) -> dict[str, float]:
    """The description's hard limits by parameter key: its `command_timeout` bounds every command timeout."""
    ceilings = dict(description_ceilings)
    if COMMAND_TIMEOUT.name in ceilings:
        ceilings.update(dict.fromkeys(COMMAND_TIMEOUT_KEYS, ceilings[COMMAND_TIMEOUT.name]))
    return ceilings

SHARED = (PROFILE, FRAME_PREFIX, MAX_CLOCK_SKEW, MAX_LINEAR_SPEED, MAX_ANGULAR_SPEED, MAX_WHEEL_SPEED, IMU_TIMEOUT,
          CLOUD_TIMEOUT, COMMAND_TIMEOUT, CMD_VEL_TIMEOUT, JOINT_COMMAND_TIMEOUT, UPLINK_COMMAND_TIMEOUT,
          WATCHDOG_PERIOD, DIAGNOSTICS_PERIOD, PUBLISH_RATE, WORLD, OUTPUT_DIR)


def variant(spec: ParamSpec, *, default: object = dataclasses.MISSING, read_only: bool | None = None) -> ParamSpec:
    """`spec` with another default or read-only flag; type, range and choices stay the shared ones."""
    changes: dict[str, object] = {}
    if default is not dataclasses.MISSING:
        changes['default'] = default
    if read_only is not None:
        changes['read_only'] = read_only
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]
