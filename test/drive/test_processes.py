"""The drive executables as real processes: bad configuration exits 2 naming the key; SIGINT exits 0 after a stop."""

from __future__ import annotations

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
import pytest
from sensor_msgs.msg import JointState

from rover_bringup.runner import executable_argv
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros


def _script(name: str) -> str:
    return executable_argv(name)[0]  # the installed console script, on either tier


@pytest.mark.parametrize('exe, args, key', [
    ('drive_controller', ['-p', 'max_wheel_speed:=-1.0'], 'max_wheel_speed'),
    ('drive_controller', ['-p', 'v_eps:=0.01', '-p', 'v_eps_exit:=0.005'], 'v_eps_exit'),
    ('drive_controller', ['-p', "profile:='moon_buggy'"], 'profile'),
    ('wheel_odometry', ['-p', "imu_fusion:='magic'"], 'imu_fusion'),
])
def test_bad_configuration_exits_2_naming_the_key(tmp_path, exe, args, key):
    proc = NodeProcess([_script(exe), '--ros-args', *args], tmp_path / f'{exe}.log')
    try:
        proc.proc.wait(timeout=60.0)
    finally:
        code = proc.stop()
    assert code == 2, proc.output()
    assert key in proc.output()


def test_drive_controller_stops_the_wheels_on_sigint(tmp_path, probe):
    out = probe.subscribe('joint_commands', JointState, qos.COMMAND)
    cmd = probe.publisher('cmd_vel', TwistStamped, qos.COMMAND)
    # cmd_vel_timeout at its hard limit, 1.0 s (above it the node exits 2)
    proc = NodeProcess([_script('drive_controller'), '--ros-args', '-p', 'cmd_vel_timeout:=1.0'],
                       tmp_path / 'drive.log')
    try:
        moving = TwistStamped()
        moving.twist.linear.x = 0.05
        probe.publish_for(cmd, lambda: moving, 60.0, rate_hz=10.0,
                          until=lambda: any(r.msg.velocity and r.msg.velocity[-1] > 0 for r in out))
        assert any(r.msg.velocity[-1] > 0 for r in out), proc.output()
        n = len(out)
        code = proc.stop()
        # the node has exited: its last (zero) command was acknowledged and is delivered in order; wait for it,
        # not just for any newer message (the probe may take a still-queued moving command first)
        probe.wait_for(lambda: any(all(v == 0.0 for v in r.msg.velocity[4:]) for r in out[n:]), 30.0,
                       'the last joint_commands')
    finally:
        code = proc.stop()
    assert code == 0, proc.output()
    assert all(v == 0.0 for v in out[-1].msg.velocity[4:])
