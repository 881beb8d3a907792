"""launch_testing: teleop.launch.py on the full ROS 2 tier.

With no gamepad plugged in, joy_teleop must still publish zero on teleop/cmd_vel at its output
rate (never silence), and both nodes exit 0 on shutdown. Skipped without launch_testing; the
embedded tier runs the same probe in test/e2e/test_chain_probes.py.
"""

from pathlib import Path
import sys
import unittest

import pytest

pytest.importorskip(
    'launch_testing', reason='launch_testing is not installed (full ROS 2 tier only); the same probe runs '
    'against the joy_teleop executable in test/e2e')

import launch
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch_ros.substitutions import FindPackageShare
import launch_testing
import launch_testing.actions
import launch_testing.asserts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers.chain_probes import check_teleop_publishes_zero_without_joy
from helpers.probe import RosProbe


@pytest.mark.launch_test
def generate_test_description():
    teleop = IncludeLaunchDescription(
        PythonLaunchDescriptionSource([FindPackageShare('rover_testbed'), '/launch/teleop.launch.py']),
        launch_arguments={'driver': 'joystick', 'gamepad': 'xbox'}.items())
    return launch.LaunchDescription([teleop, launch_testing.actions.ReadyToTest()]), {}


class TestTeleopWithoutPad(unittest.TestCase):

    def test_zero_is_published_without_a_pad(self):
        probe = RosProbe('teleop_launch_probe')
        try:
            check_teleop_publishes_zero_without_joy(probe)
        finally:
            probe.close()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
