"""Joystick teleop (full ROS 2 tier): a gamepad driver and joy_teleop -> /teleop/cmd_vel.

    ros2 launch rover_testbed teleop.launch.py driver:=joystick gamepad:=xbox

`driver` chooses who reads the pad: our evdev `joystick` (no `joy` package needed), ROS's
`joy_linux` (both publish joydev order) or `joy`'s SDL `game_controller_node` (SDL order: use
gamepad:=sdl_game_controller). `gamepad` picks the button/axis mapping from
config/gamepads/. Hold the enable button (LB on an Xbox pad) with the sticks centred to drive.

`device` empty (the default): our reader takes the first pad it finds; joy_linux gets no `dev`
and opens its own default, /dev/input/js0 (joy_linux's only other choice is `dev_name`, the exact
name the pad reports, given here as `device_name`). An empty `dev` would make joy_linux retry
opening '' forever.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import (
    AllSubstitution,
    EqualsSubstitution,
    LaunchConfiguration,
    NotEqualsSubstitution,
    PathJoinSubstitution,
)
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'rover_testbed'


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    driver = LaunchConfiguration('driver')
    device = LaunchConfiguration('device')
    device_name = LaunchConfiguration('device_name')
    use_sim_time = LaunchConfiguration('use_sim_time')
    rover_yaml = PathJoinSubstitution([share, 'config', 'rover.yaml'])
    # config/gamepads/<gamepad>.yaml; the suffix is concatenated outside the PathJoinSubstitution
    # (launch before 3.4.5 rejects a nested list inside it).
    gamepad_yaml = [PathJoinSubstitution([share, 'config', 'gamepads', LaunchConfiguration('gamepad')]), '.yaml']

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
                                          'joy_linux; empty: joystick takes the first pad, joy_linux its '
                                          'default /dev/input/js0 (or the pad named by device_name).'),
        DeclareLaunchArgument('device_name', default_value='',
                              description='With device empty, the pad by name: joystick takes an exact name or '
                                          "a part of one (e.g. 'X-Box 360'); joy_linux needs the exact name its "
                                          "pad reports (its dev_name), else it opens /dev/input/js0."),
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the rover to drive (multi-rover runs).'),
        DeclareLaunchArgument('use_sim_time', default_value='false', choices=['true', 'false'],
                              description='true when driving a simulated rover (Gazebo /clock).'),
    ]
    joy_linux = EqualsSubstitution(driver, 'joy_linux')
    joy_common = {'autorepeat_rate': 20.0, 'deadzone': 0.05, 'use_sim_time': use_sim_time}

    def when(*conditions) -> IfCondition:
        return IfCondition(conditions[0] if len(conditions) == 1 else AllSubstitution(*conditions))

    readers = [
        Node(package=PACKAGE, executable='joystick', name='joystick', output='screen',
             parameters=[{'device_path': device, 'device_name': device_name, 'use_sim_time': use_sim_time}],
             condition=when(EqualsSubstitution(driver, 'joystick'))),
        # joy_linux: `dev` only when a device is given ...
        Node(package='joy_linux', executable='joy_linux_node', name='joy_linux', output='screen',
             parameters=[{'dev': device, **joy_common}],
             condition=when(joy_linux, NotEqualsSubstitution(device, ''))),
        # ... otherwise its default /dev/input/js0, or the pad with that exact name.
        Node(package='joy_linux', executable='joy_linux_node', name='joy_linux', output='screen',
             parameters=[{'dev_name': device_name, **joy_common}],
             condition=when(joy_linux, EqualsSubstitution(device, ''), NotEqualsSubstitution(device_name, ''))),
        Node(package='joy_linux', executable='joy_linux_node', name='joy_linux', output='screen',
             parameters=[joy_common],
             condition=when(joy_linux, EqualsSubstitution(device, ''), EqualsSubstitution(device_name, ''))),
        Node(package='joy', executable='game_controller_node', name='game_controller', output='screen',
             parameters=[joy_common],
             condition=when(EqualsSubstitution(driver, 'sdl'))),
    ]
    teleop = Node(package=PACKAGE, executable='joy_teleop', name='joy_teleop', output='screen',
                  parameters=[rover_yaml, gamepad_yaml, {'use_sim_time': use_sim_time}])
    return LaunchDescription([*arguments, PushRosNamespace(LaunchConfiguration('namespace')), *readers, teleop])
