"""The launch tests' probes, run here against `rover run` (and joy_teleop's executable).

`test/launch/` runs the same `helpers.chain_probes` checks against sim.launch.py + Gazebo on the
full ROS 2 tier; here the stack is the embedded one, the simulator free-running on simulated
time with no scripted operator: the probe is the operator. Twice: every node in its own process
(`--processes`), and every node in one process on the intra-process bus, where the probe, an
outside process, must still reach the composed nodes and hear them over DDS.
"""

from __future__ import annotations

import sys

from helpers.chain_probes import ChainProbe, check_bag_appears, check_teleop_publishes_zero_without_joy
from helpers.probe import RosProbe
from helpers.processes import NodeProcess
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.ros]


@pytest.fixture(params=['--processes', 'composed'])
def stack(tmp_path, request):
    """`rover run [--processes] --no-operator --realtime` on the flat world, stopped after the test."""
    out = tmp_path / 'run'
    mode = [request.param] if request.param.startswith('--') else []
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', '--world', 'flat', *mode,
                        '--no-operator', '--realtime', '--duration', '600', '--out', str(out), '--quiet'],
                       tmp_path / 'rover_run.log')
    try:
        yield proc, out
    finally:
        code = proc.stop(grace_s=30.0)
        assert code == 0, proc.output()[-3000:]


def test_launch_probes_against_the_embedded_stack(stack):
    proc, out = stack
    probe = RosProbe('e2e_chain_probe', use_sim_time=True)
    try:
        chain = ChainProbe(probe)
        chain.wait_ready(timeout_s=90.0)
        peak = chain.check_cmd_vel_capped()
        delay = chain.check_stale_teleop_stops()
        check_bag_appears(out)
    finally:
        probe.close()
    assert proc.alive(), proc.output()[-3000:]
    print(f'cap reached {peak:.4f} m/s; stale operator -> zero after {delay:.3f} s (stamps)')


def test_joy_teleop_without_a_pad_publishes_zero(tmp_path):
    node = NodeProcess([sys.executable, '-m', 'rover_nav.teleop.joy_teleop_node'], tmp_path / 'joy_teleop.log')
    probe = RosProbe('e2e_teleop_probe')
    try:
        check_teleop_publishes_zero_without_joy(probe)
    finally:
        probe.close()
        code = node.stop()
    assert code == 0, node.output()
