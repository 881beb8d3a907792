"""The real rover board (full ROS 2 tier): hardware driver, drive, odometry, safety chain, logger.

    ros2 launch rover_testbed rover.launch.py teleop:=joystick

Starts `hardware_driver` (RoboClaws, steering servos, BNO055 -> imu, GPIO e-stop; it configures
and activates itself, `autostart` in config/hardware.yaml), `drive_controller`, `wheel_odometry`,
the safety chain (speed_limiter -> slope_guard [-> obstacle_guard] -> cmd_vel, wired as in
`rover_bringup.graph`), `track_logger` (track from odometry), robot_state_publisher with the hobby
description, the diagnostic aggregator and, optionally, joystick teleop. Every node reads
config/rover.yaml then config/hardware.yaml (which selects the hobby profile). The reference build
has no hazard depth sensor, so the obstacle guard is off by default: with it on and no
hazcam/points, it blocks all motion (fail safe). `ros2 launch -s` lists the arguments.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import Command, EqualsSubstitution, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from rover_bringup import graph

PACKAGE = 'rover_testbed'


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    rover_yaml = PathJoinSubstitution([share, 'config', 'rover.yaml'])
    hardware_yaml = LaunchConfiguration('hardware_params')
    params = [rover_yaml, hardware_yaml]
    obstacle = LaunchConfiguration('obstacle_guard')

    arguments = [
        DeclareLaunchArgument('hardware_params', default_value=PathJoinSubstitution([share, 'config', 'hardware.yaml']),
                              description='Board parameter file (ports, addresses, wheel channels, encoder counts, '
                                          'battery limits, servo calibration); applied after rover.yaml.'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace for every node and topic of this rover (multi-rover setups).'),
        DeclareLaunchArgument('log_dir', default_value='runs/board',
                              description='Folder where the track logger writes bag/, track.csv and summary.json '
                                          '(relative to the working directory).'),
        DeclareLaunchArgument('obstacle_guard', default_value='false', choices=['true', 'false'],
                              description='true only with a hazard depth sensor publishing hazcam/points; without '
                                          'one the guard sees a stale cloud and blocks all motion.'),
        DeclareLaunchArgument('teleop', default_value='none', choices=['none', 'joystick'],
                              description='joystick: start our evdev gamepad reader and joy_teleop on this board '
                                          '(hold LB to drive); none: drive from another machine or a script.'),
        DeclareLaunchArgument('gamepad', default_value='xbox', choices=['xbox', 'playstation', 'f710'],
                              description='Button/axis profile from config/gamepads for teleop:=joystick.'),
    ]

    robot_description = ParameterValue(
        Command(['xacro ', PathJoinSubstitution([share, 'urdf', 'rover.urdf.xacro']), ' profile:=hobby']),
        value_type=str)
    state_publisher = Node(package='robot_state_publisher', executable='robot_state_publisher', output='screen',
                           parameters=[{'robot_description': robot_description}])

    driver = Node(package=PACKAGE, executable='hardware_driver', name='hardware_driver', output='screen',
                  parameters=params)

    def node(spec: graph.NodeSpec, remappings=None, extra=None, condition=None) -> Node:
        return Node(package=PACKAGE, executable=spec.executable, name=spec.name, output='screen',
                    parameters=[*params, {**spec.parameters, **(extra or {})}],
                    remappings=list(spec.remappings if remappings is None else remappings), condition=condition)

    limiter, slope, obstacle_guard = graph.CHAIN
    slope_to_cmd_vel = [(src, 'cmd_vel' if src == 'cmd_vel_out' else dst) for src, dst in slope.remappings]
    chain = [
        node(limiter),
        node(slope, condition=IfCondition(obstacle)),
        node(obstacle_guard, condition=IfCondition(obstacle)),
        node(slope, remappings=slope_to_cmd_vel, condition=UnlessCondition(obstacle)),
    ]
    drive = [node(spec) for spec in graph.DRIVE]
    logger = node(graph.LOGGER, extra={'output_dir': LaunchConfiguration('log_dir'), 'track_source': 'odom',
                                       'world': 'flat'})

    # config/gamepads/<gamepad>.yaml; the suffix is concatenated outside the PathJoinSubstitution
    # (launch before 3.4.5 rejects a nested list inside it).
    gamepad_yaml = [PathJoinSubstitution([share, 'config', 'gamepads', LaunchConfiguration('gamepad')]), '.yaml']
    joystick = IfCondition(EqualsSubstitution(LaunchConfiguration('teleop'), 'joystick'))
    teleop = [
        Node(package=PACKAGE, executable='joystick', name='joystick', output='screen', condition=joystick),
        Node(package=PACKAGE, executable='joy_teleop', name='joy_teleop', output='screen',
             parameters=[rover_yaml, gamepad_yaml], condition=joystick),
    ]
    aggregator = Node(package='diagnostic_aggregator', executable='aggregator_node', output='screen',
                      parameters=[PathJoinSubstitution([share, 'config', 'diagnostics_aggregator.yaml'])])

    return LaunchDescription([
        *arguments,
        PushRosNamespace(LaunchConfiguration('namespace')),
        state_publisher,
        driver,
        *drive,
        *chain,
        logger,
        *teleop,
        aggregator,
    ])
