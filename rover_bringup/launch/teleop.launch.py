"""Joystick teleop (full ROS 2 tier): a gamepad driver and joy_teleop -> /teleop/cmd_vel.

    ros2 launch rover_testbed teleop.launch.py driver:=joystick gamepad:=xbox

`driver` chooses who reads the pad: our evdev `joystick` (no `joy` package needed), ROS's
`joy_linux` (both publish joydev order) or `joy`'s SDL `game_controller_node` (SDL order: use
gamepad:=sdl_game_controller). `gamepad` picks the button/axis mapping from
config/gamepads/. Hold the enable button (LB on an Xbox pad) with the sticks centred to drive.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import LaunchConfigurationEquals
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'rover_testbed'


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    device = LaunchConfiguration('device')
    use_sim_time = LaunchConfiguration('use_sim_time')
    rover_yaml = PathJoinSubstitution([share, 'config', 'rover.yaml'])
    gamepad_yaml = PathJoinSubstitution([share, 'config', 'gamepads', [LaunchConfiguration('gamepad'), '.yaml']])

    arguments = [
        DeclareLaunchArgument('driver', default_value='joystick', choices=['joystick', 'joy_linux', 'sdl'],
                              description='Gamepad reader: joystick (ours, evdev), joy_linux (joydev order) or '
                                          'sdl (joy game_controller_node, SDL order).'),
        DeclareLaunchArgument('gamepad', default_value='xbox',
                              choices=['xbox', 'playstation', 'f710', 'sdl_game_controller'],
                              description='Button/axis profile from config/gamepads (sdl_game_controller for '
                                          'driver:=sdl).'),
        DeclareLaunchArgument('device', default_value='',
                              description='Gamepad device: /dev/input/eventN for joystick, /dev/input/jsN for '
                                          'joy_linux; empty = auto-detect the first pad.'),
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the rover to drive (multi-rover runs).'),
        DeclareLaunchArgument('use_sim_time', default_value='false', choices=['true', 'false'],
                              description='true when driving a simulated rover (Gazebo /clock).'),
    ]
    readers = [
        Node(package=PACKAGE, executable='joystick', name='joystick', output='screen',
             parameters=[{'device_path': device, 'use_sim_time': use_sim_time}],
             condition=LaunchConfigurationEquals('driver', 'joystick')),
        Node(package='joy_linux', executable='joy_linux_node', name='joy_linux', output='screen',
             parameters=[{'dev': device, 'autorepeat_rate': 20.0, 'deadzone': 0.05, 'use_sim_time': use_sim_time}],
             condition=LaunchConfigurationEquals('driver', 'joy_linux')),
        Node(package='joy', executable='game_controller_node', name='game_controller', output='screen',
             parameters=[{'autorepeat_rate': 20.0, 'deadzone': 0.05, 'use_sim_time': use_sim_time}],
             condition=LaunchConfigurationEquals('driver', 'sdl')),
    ]
    teleop = Node(package=PACKAGE, executable='joy_teleop', name='joy_teleop', output='screen',
                  parameters=[rover_yaml, gamepad_yaml, {'use_sim_time': use_sim_time}])
    return LaunchDescription([*arguments, PushRosNamespace(LaunchConfiguration('namespace')), *readers, teleop])
