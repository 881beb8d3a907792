"""Gazebo Harmonic simulation of the lunar rover with the whole chain (full ROS 2 tier).

    ros2 launch rover_testbed sim.launch.py world:=change4 headless:=false

Starts gz sim with a lunar world from `worlds/`, robot_state_publisher with the xacro,
`ros_gz_sim create` to spawn the rover where the world's metadata says, ros_gz_bridge with
`config/gz_bridge.yaml`, the joint-command adapter, and the same nodes as `rover run` (the
graph in `rover_bringup.graph`: safety chain, drive, odometry, track logger) with
`config/rover.yaml`, all on simulated time. `ros2 launch -s` lists the arguments.

One rover per Gazebo world: the model name (`rover`) and the Gazebo topics of the description and
of `config/gz_bridge.yaml` are fixed, so this file offers no `namespace` (a second rover could not
spawn under the same name). Paths are built without nested lists inside PathJoinSubstitution,
which launch accepts only from 3.4.5 on: this file runs on every Jazzy release.
"""

import json
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (
    AppendEnvironmentVariable,
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    OpaqueFunction,
)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import Command, LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from rover_bringup import graph
from rover_description.geometry import load_geometry

PACKAGE = 'rover_testbed'


def _spawn(context, *args, **kwargs):
    """Spawn the rover at the world's spawn pose (from the world's metadata file).

    The metadata gives the ground height at the spawn point; base_link sits one wheel radius
    above it (taken from the rover description), plus a few centimetres to settle from.
    """
    world = LaunchConfiguration('world').perform(context)
    profile = LaunchConfiguration('profile').perform(context)
    share = get_package_share_directory(PACKAGE)
    with open(os.path.join(share, 'worlds', 'terrain', f'{world}.json')) as handle:
        spawn = json.load(handle)['spawn']
    z = spawn['z'] + load_geometry(profile).wheel_radius + 0.03
    return [Node(
        package='ros_gz_sim', executable='create', output='screen',
        arguments=['-name', 'rover', '-topic', 'robot_description',
                   '-x', str(spawn['x']), '-y', str(spawn['y']), '-z', str(z), '-Y', str(spawn['yaw'])],
    )]


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    world = LaunchConfiguration('world')
    profile = LaunchConfiguration('profile')
    log_dir = LaunchConfiguration('log_dir')
    rover_yaml = PathJoinSubstitution([share, 'config', 'rover.yaml'])
    sim_time = {'use_sim_time': True}

    arguments = [
        DeclareLaunchArgument('world', default_value='change4',
                              description='World name in share/rover_testbed/worlds (change4, flat, rock_test, '
                                          'slope_test); the rover spawns at the spawn pose of the world.'),
        DeclareLaunchArgument('profile', default_value='yutu2', choices=['yutu2', 'hobby'],
                              description='Rover description profile: yutu2 (135 kg lunar rover) or hobby.'),
        DeclareLaunchArgument('log_dir', default_value='runs/gazebo',
                              description='Folder where the track logger writes bag/, track.csv, summary.json.'),
        DeclareLaunchArgument('headless', default_value='false', choices=['true', 'false'],
                              description='true: run the Gazebo server only, no GUI.'),
    ]

    gz_args = PythonExpression(["'-s -r ' if '", LaunchConfiguration('headless'), "' == 'true' else '-r '"])
    # share/worlds/<world>.sdf: the suffix is concatenated outside the PathJoinSubstitution (a nested
    # list inside it is rejected by launch before 3.4.5).
    world_sdf = [PathJoinSubstitution([share, 'worlds', world]), '.sdf']
    gazebo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch',
                                                            'gz_sim.launch.py'])),
        launch_arguments={'gz_args': [gz_args, *world_sdf]}.items(),
    )

    robot_description = ParameterValue(
        Command(['xacro ', PathJoinSubstitution([share, 'urdf', 'rover.urdf.xacro']), ' profile:=', profile]),
        value_type=str)
    state_publisher = Node(package='robot_state_publisher', executable='robot_state_publisher', output='screen',
                           parameters=[{'robot_description': robot_description, **sim_time}])

    bridge = Node(package='ros_gz_bridge', executable='parameter_bridge', output='screen',
                  parameters=[{'config_file': PathJoinSubstitution([share, 'config', 'gz_bridge.yaml']),
                               **sim_time}])

    adapter = Node(package=PACKAGE, executable='gz_joint_adapter', name='gz_joint_adapter', output='screen',
                   parameters=[rover_yaml, sim_time])

    rover_nodes = []
    for spec in (*graph.CHAIN, *graph.DRIVE, graph.LOGGER):
        extra = {'output_dir': log_dir, 'world': world} if spec is graph.LOGGER else {}
        if spec.uses_geometry:
            extra['profile'] = profile
        rover_nodes.append(Node(package=PACKAGE, executable=spec.executable, name=spec.name, output='screen',
                                parameters=[rover_yaml, {**sim_time, **spec.parameters, **extra}],
                                remappings=list(spec.remappings)))

    aggregator = Node(package='diagnostic_aggregator', executable='aggregator_node', output='screen',
                      parameters=[PathJoinSubstitution([share, 'config', 'diagnostics_aggregator.yaml']),
                                  sim_time])

    # The world SDFs refer to their terrain meshes relative to share/rover_testbed/worlds.
    resource_path = AppendEnvironmentVariable('GZ_SIM_RESOURCE_PATH', PathJoinSubstitution([share, 'worlds']))

    return LaunchDescription([
        *arguments,
        resource_path,
        gazebo,
        state_publisher,
        OpaqueFunction(function=_spawn),
        bridge,
        adapter,
        *rover_nodes,
        aggregator,
    ])
