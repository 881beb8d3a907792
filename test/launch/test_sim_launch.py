"""launch_testing: sim.launch.py (Gazebo + the whole chain) on the full ROS 2 tier.

Skipped where launch_testing is not installed (the embedded tier). The probe logic lives in
`helpers.chain_probes`, which `test/e2e/test_chain_probes.py` also runs against
`rover run --processes`, so every assertion made here is exercised on both tiers.
"""

from pathlib import Path
import sys
import tempfile
import unittest

import pytest

pytest.importorskip(
    'launch_testing', reason='launch_testing is not installed (full ROS 2 tier only); the same probes run '
    'against `rover run --processes` in test/e2e')
pytest.importorskip('ros_gz_sim', reason='ros_gz_sim (Gazebo Harmonic bridge) is not installed')

import launch
from launch.actions import IncludeLaunchDescription, SetEnvironmentVariable
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch_ros.substitutions import FindPackageShare
import launch_testing
import launch_testing.actions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers.chain_probes import ChainProbe, check_bag_appears
from helpers.probe import RosProbe

OUR_PROCESSES = ('speed_limiter', 'slope_guard', 'obstacle_guard', 'drive_controller', 'wheel_odometry',
                 'track_logger', 'gz_joint_adapter')


@pytest.mark.launch_test
def generate_test_description():
    log_dir = tempfile.mkdtemp(prefix='rover_sim_launch_')
    sim = IncludeLaunchDescription(
        PythonLaunchDescriptionSource([FindPackageShare('rover_testbed'), '/launch/sim.launch.py']),
        launch_arguments={'world': 'flat', 'headless': 'true', 'log_dir': log_dir}.items())
    return launch.LaunchDescription([
        SetEnvironmentVariable('PYTHONUNBUFFERED', '1'),
        sim,
        launch_testing.actions.ReadyToTest(),
    ]), {'log_dir': log_dir}


class TestChainInGazebo(unittest.TestCase):
    """Active tests: the same probes as the embedded end-to-end tests."""

    def setUp(self):
        self.probe = RosProbe('launch_test_probe', use_sim_time=True)
        self.chain = ChainProbe(self.probe)
        self.chain.wait_ready(timeout_s=120.0)

    def tearDown(self):
        self.probe.close()

    def test_cmd_vel_is_capped(self):
        self.chain.check_cmd_vel_capped()

    def test_stale_teleop_stops_the_rover(self):
        self.chain.check_stale_teleop_stops()

    def test_bag_appears(self, log_dir):
        check_bag_appears(Path(log_dir))


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """Every node of ours exits 0 after launch's SIGINT (the main() shape of EXAMPLES practice 8)."""

    def test_our_nodes_exit_cleanly(self, proc_info):
        ours = [name for name in proc_info.process_names() if any(p in name for p in OUR_PROCESSES)]
        self.assertTrue(ours, 'none of our nodes was started')
        for name in ours:
            self.assertEqual(proc_info[name].returncode, 0, f'{name} exited with {proc_info[name].returncode}')
