"""The emulated Earth-Moon link beside a simulated rover (full ROS 2 tier).

    ros2 launch rover_testbed link.launch.py ground_domain:=43 profile:=earth

Run it in the rover's ROS domain, next to `sim.launch.py` (whose chain then takes its commands
from `plan_executor` on teleop/cmd_vel). It starts the link (`earth_link`: a node in the rover's
domain and one in the ground station's, the only path between the two, with the profile's delay,
jitter, loss and blackouts) and `plan_executor`, which runs the drive plans and late commands
that come up the link. The ground station (`teleop.launch.py use_sim_time:=true`, `rover plan`)
runs with ROS_DOMAIN_ID set to `ground_domain`. The link moves messages on the simulator's
/clock, so this is for simulated drives; docs/link.md has the topics and the profiles.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from rover_bringup import graph

PACKAGE = 'rover_testbed'


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument('ground_domain',
                              description="ROS_DOMAIN_ID of the ground station (required; not the rover's): "
                                          'run teleop.launch.py or `rover plan` there.'),
        DeclareLaunchArgument('profile', default_value='earth',
                              description='Link profile: earth (Queqiao relay, ~1.75 s one way, 1 % loss, '
                                          'blackouts), ideal (no delay) or a profile YAML file (docs/link.md).'),
        DeclareLaunchArgument('seed', default_value='0',
                              description="Seed of the link's jitter and loss (with the profile's own)."),
    ]
    link = Node(package=PACKAGE, executable=graph.LINK_EXECUTABLE, output='screen',
                arguments=['--profile', LaunchConfiguration('profile'),
                           '--ground-domain', LaunchConfiguration('ground_domain'),
                           '--seed', LaunchConfiguration('seed')])
    spec = graph.PLAN_EXECUTOR
    executor = Node(package=PACKAGE, executable=spec.executable, name=spec.name, output='screen',
                    parameters=[PathJoinSubstitution([share, 'config', 'rover.yaml']), {'use_sim_time': True}],
                    remappings=list(spec.remappings))
    return LaunchDescription([*arguments, link, executor])
