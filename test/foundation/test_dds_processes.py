"""Two real processes exchange geometry_msgs/TwistStamped over DDS, and both exit 0 on SIGINT."""

from __future__ import annotations

import os
from pathlib import Path
import sys

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
import pytest

TEST_DIR = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.ros


def _node(kind: str, tmp_path: Path, *ros_args: str) -> NodeProcess:
    env = {'PYTHONPATH': os.pathsep.join([str(TEST_DIR), os.environ.get('PYTHONPATH', '')])}
    return NodeProcess([sys.executable, '-m', 'helpers.twist_nodes', kind, '--ros-args', *ros_args],
                       tmp_path / f'{kind}.log', env=env)


def test_talker_to_relay_across_processes(tmp_path, probe):
    out = probe.subscribe('relayed', TwistStamped, 1)
    talker = _node('talker', tmp_path, '-r', 'cmd_vel_out:=talked')
    relay = _node('relay', tmp_path, '-r', 'cmd_vel_in:=talked', '-r', 'cmd_vel_out:=relayed', '-p', 'gain:=0.5')
    try:
        probe.wait_for(lambda: len(out) >= 3, timeout_s=30.0, what='relayed TwistStamped')
        assert out[-1].msg.twist.linear.x == pytest.approx(0.025)
        assert out[-1].msg.header.stamp.sec > 0
    finally:
        codes = (talker.stop(), relay.stop())
    assert codes == (0, 0), talker.output() + relay.output()
