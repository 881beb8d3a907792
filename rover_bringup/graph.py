"""The node graph of a simulated drive, in one place.

`rover run` (in one process or with `--processes`) and `sim.launch.py` both build the graph
from this table, so the embedded tier and the ROS 2 tier wire the same nodes with the same
remappings and the same YAML. Topic names are relative: a namespace moves everything.

Chain: teleop/cmd_vel -> speed_limiter -> slope_guard -> obstacle_guard -> cmd_vel -> drive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIMITED = 'safety/limited_cmd_vel'
SLOPE_CHECKED = 'safety/slope_checked_cmd_vel'


@dataclass(frozen=True)
class NodeSpec:
    """One node: its console script, node name, in-process class and wiring."""

    executable: str
    name: str
    node_class: str  # 'module:Class', for in-process composition
    remappings: tuple[tuple[str, str], ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    uses_geometry: bool = False  # declares `profile` and reads the rover description
    hard_limited: bool = False  # refuses values above the description's hard limits (RoverNode.apply_hard_limits)

    @property
    def module(self) -> str:
        return self.node_class.split(':')[0]


SIMULATOR = NodeSpec('lunar_sim', 'lunar_sim', 'rover_sim.sim_node:LunarSim', uses_geometry=True)
OPERATOR = NodeSpec('scenario_operator', 'scenario_operator', 'rover_bringup.operator_node:ScenarioOperator')

CHAIN = (
    NodeSpec('speed_limiter', 'speed_limiter', 'rover_nav.safety.speed_limiter_node:SpeedLimiterNode',
             remappings=(('cmd_vel_in', 'teleop/cmd_vel'), ('cmd_vel_out', LIMITED)), hard_limited=True),
    NodeSpec('slope_guard', 'slope_guard', 'rover_nav.safety.slope_guard_node:SlopeGuardNode',
             remappings=(('cmd_vel_in', LIMITED), ('cmd_vel_out', SLOPE_CHECKED)), uses_geometry=True,
             hard_limited=True),
    NodeSpec('obstacle_guard', 'obstacle_guard', 'rover_nav.safety.obstacle_guard_node:ObstacleGuardNode',
             remappings=(('cmd_vel_in', SLOPE_CHECKED), ('cmd_vel_out', 'cmd_vel')), uses_geometry=True,
             hard_limited=True),
)

DRIVE = (
    NodeSpec('drive_controller', 'drive_controller', 'rover_nav.drive.controller_node:DriveControllerNode',
             uses_geometry=True, hard_limited=True),
    NodeSpec('wheel_odometry', 'wheel_odometry', 'rover_nav.drive.odometry_node:WheelOdometryNode',
             uses_geometry=True),
)

LOGGER = NodeSpec('track_logger', 'track_logger', 'rover_nav.tracklog.logger_node:TrackLoggerNode',
                  uses_geometry=True)


# Under the Earth-Moon link (`rover run --link`, `link.launch.py`): the rover's command source in the
# operator's place, and the link itself, a process that holds a node in each of two ROS domains (no
# node class of its own, no parameters: its command line configures it).
PLAN_EXECUTOR = NodeSpec('plan_executor', 'plan_executor', 'rover_nav.link.executor_node:PlanExecutorNode')
LINK_EXECUTABLE = 'earth_link'

# Executables that are not part of a simulated drive's graph, for in-process use and the launch checks.
OTHER_NODE_CLASSES = {
    'gz_joint_adapter': 'rover_bringup.gz_joint_adapter:GzJointAdapter',
    'joystick': 'rover_nav.teleop.joystick_node:Joystick',
    'joy_teleop': 'rover_nav.teleop.joy_teleop_node:JoyTeleop',
    'hardware_driver': 'rover_nav.hardware.driver_node:HardwareDriverNode',
}


def node_classes() -> dict[str, str]:
    """Executable -> 'module:Class' for every node executable of the package."""
    specs = (SIMULATOR, OPERATOR, *CHAIN, *DRIVE, LOGGER, PLAN_EXECUTOR)
    return {**{s.executable: s.node_class for s in specs}, **OTHER_NODE_CLASSES}


def simulated_drive(with_operator: bool = True) -> tuple[NodeSpec, ...]:
    """Every node of a simulated drive, simulator first, logger last."""
    nodes = (SIMULATOR, *((OPERATOR,) if with_operator else ()), *CHAIN, *DRIVE, LOGGER)
    return nodes


def ros_args(spec: NodeSpec, params_files: list[str], overrides: dict[str, Any]) -> list[str]:
    """The `--ros-args ...` a process of `spec` gets: name, params files, remaps, overrides."""
    args = ['--ros-args', '-r', f'__node:={spec.name}']
    for path in params_files:
        args += ['--params-file', path]
    for src, dst in spec.remappings:
        args += ['-r', f'{src}:={dst}']
    for key, value in {**spec.parameters, **overrides}.items():
        args += ['-p', f'{key}:={_yaml_value(value)}']
    return args


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return f"'{value}'"  # quoted: 'true' or '1.0' stay strings
    return repr(value)
