"""The three chain executables as separate processes, wired as `rover run` wires them, plus
`rover estop`: cap end to end, e-stop latch and reset, stale IMU, clean SIGINT, bad config -> 2."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys
import time

from geometry_msgs.msg import TwistStamped
from helpers.processes import NodeProcess
from nav_msgs.msg import Odometry
import pytest
from safety.harness import cloud_msg, stamp
from safety.synthetic import Terrain
from sensor_msgs.msg import Imu, PointCloud2

from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / 'rover_bringup' / 'config' / 'rover.yaml'
CHAIN = (
    ('rover_nav.safety.speed_limiter_node', 'teleop/cmd_vel', 'safety/limited_cmd_vel'),
    ('rover_nav.safety.slope_guard_node', 'safety/limited_cmd_vel', 'safety/slope_checked_cmd_vel'),
    ('rover_nav.safety.obstacle_guard_node', 'safety/slope_checked_cmd_vel', 'cmd_vel'),
)


class Inputs:
    """The operator and the sensors, published from the probe at their own rates (wall time)."""

    def __init__(self, probe) -> None:
        self.probe = probe
        self.cmd = probe.publisher('teleop/cmd_vel', TwistStamped, qos.COMMAND)
        self.imu = probe.publisher('imu', Imu, qos.SENSOR_PUB)
        self.cloud = probe.publisher('hazcam/points', PointCloud2, qos.SENSOR_PUB)
        self.odom = probe.publisher('odom', Odometry, qos.STATE)
        self.ground = Terrain(seed=7).ground(1500)
        self.imu_on = True
        self.next = {'cmd': 0.0, 'imu': 0.0, 'cloud': 0.0}

    def tick(self) -> None:
        now = time.monotonic()
        t = stamp(self.probe.node.get_clock().now().nanoseconds * 1e-9)
        if now >= self.next['cmd']:
            msg = TwistStamped()
            msg.header.stamp = t
            msg.twist.linear.x = 1.0
            self.cmd.publish(msg)
            odom = Odometry()
            odom.header.stamp = t
            odom.pose.pose.orientation.w = 1.0
            self.odom.publish(odom)
            self.next['cmd'] = now + 0.1
        if self.imu_on and now >= self.next['imu']:
            imu = Imu()
            imu.header.stamp = t
            imu.orientation.w = 1.0
            self.imu.publish(imu)
            self.next['imu'] = now + 0.05
        if now >= self.next['cloud']:
            self.cloud.publish(cloud_msg(self.ground, 'base_link', t.sec + t.nanosec * 1e-9))
            self.next['cloud'] = now + 0.2

    def until(self, predicate, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f'timed out after {timeout_s} s waiting for {what}')
            self.tick()
            self.probe.spin(0.01)


def rover_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', 'rover_bringup.cli', *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_chain_of_three_processes_caps_stops_and_exits_cleanly(tmp_path, probe):
    out = probe.subscribe('cmd_vel', TwistStamped, qos.COMMAND)
    nodes = [NodeProcess.module(mod, ['--ros-args', '--params-file', str(PARAMS), '-r', f'cmd_vel_in:={src}',
                                      '-r', f'cmd_vel_out:={dst}'], tmp_path / f'{mod.rsplit(".", 1)[1]}.log')
             for mod, src, dst in CHAIN]
    inputs = Inputs(probe)
    try:
        def moving_at_cap() -> bool:
            return bool(out) and out[-1].msg.twist.linear.x == pytest.approx(0.0559)

        inputs.until(moving_at_cap, 60.0, '/cmd_vel at the 0.0559 m/s cap')
        assert max(r.msg.twist.linear.x for r in out) <= 0.0559

        chain = 'speed_limiter,slope_guard,obstacle_guard'  # no drive_controller in this test
        estop = rover_cli('estop', '--timeout', '20', '--expect', chain)
        inputs.until(lambda: estop.poll() is not None, 60.0, 'rover estop to finish')
        assert estop.returncode == 0, estop.stdout.read()
        count = len(out)
        inputs.until(lambda: len(out) > count + 5, 20.0, 'commands after the e-stop')
        assert all(r.msg.twist.linear.x == 0.0 for r in out[count + 1:])

        reset = rover_cli('estop', '--reset', '--timeout', '20', '--expect', chain)
        inputs.until(lambda: reset.poll() is not None, 60.0, 'rover estop --reset to finish')
        assert reset.returncode == 0, reset.stdout.read()
        inputs.until(moving_at_cap, 30.0, 'motion after the reset')

        inputs.imu_on = False  # IMU dies: the slope guard blocks within imu_timeout
        count = len(out)
        inputs.until(lambda: len(out) > count + 3 and out[-1].msg.twist.linear.x == 0.0, 20.0,
                     'zero after the IMU went stale')
    finally:
        codes = [n.stop() for n in nodes]
    assert codes == [0, 0, 0], '\n'.join(n.output() for n in nodes)
    # each node left a zero on its way out (on_shutdown), never a traceback
    assert not any('Traceback' in n.output() for n in nodes)


def test_bad_thresholds_exit_2_naming_the_key(tmp_path):
    node = NodeProcess.module('rover_nav.safety.slope_guard_node',
                              ['--ros-args', '-p', 'resume_tilt_deg:=25.0'], tmp_path / 'bad.log')
    try:
        node.proc.wait(timeout=60)
    finally:
        code = node.stop()
    assert code == 2
    assert 'resume_tilt_deg' in node.output()


@pytest.mark.parametrize(('module', 'key', 'value', 'limit'), [
    ('rover_nav.safety.speed_limiter_node', 'max_linear_speed', '0.1', '0.0559'),
    ('rover_nav.safety.slope_guard_node', 'stop_tilt_deg', '24.0', '23.0'),
    ('rover_nav.safety.obstacle_guard_node', 'max_step_height', '0.3', '0.2'),
])
def test_a_value_above_the_hard_limit_exits_2_naming_key_and_limit(tmp_path, module, key, value, limit):
    args = ['--ros-args', '--params-file', str(PARAMS), '-p', f'{key}:={value}']
    if key == 'stop_tilt_deg':
        args += ['-p', 'resume_tilt_deg:=22.0']  # keep the guard's own ordering rule satisfied
    node = NodeProcess.module(module, args, tmp_path / 'above.log')
    try:
        node.proc.wait(timeout=60)
    finally:
        code = node.stop()
    assert code == 2, node.output()
    assert f"'{key}' = {value} is above the hard limit {limit}" in node.output()


def test_estop_with_nobody_listening_fails_loudly():
    cli = rover_cli('estop', '--timeout', '1')
    output, _ = cli.communicate(timeout=60)
    assert cli.returncode == 1 and 'reached no node' in output



def test_a_node_killed_and_restarted_after_a_one_shot_estop_comes_back_latched(spare_domain, tmp_path, probe):
    import signal

    from diagnostic_msgs.msg import DiagnosticArray
    from std_msgs.msg import Bool

    out = probe.subscribe('cmd_vel', TwistStamped, qos.COMMAND)
    diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)

    def start(mod: str, src: str, dst: str, tag: str = '') -> NodeProcess:
        return NodeProcess.module(mod, ['--ros-args', '--params-file', str(PARAMS), '-r', f'cmd_vel_in:={src}',
                                        '-r', f'cmd_vel_out:={dst}'], tmp_path / f'{mod.rsplit(".", 1)[1]}{tag}.log')

    nodes = [start(*link) for link in CHAIN]
    inputs = Inputs(probe)
    try:
        inputs.until(lambda: bool(out) and out[-1].msg.twist.linear.x > 0.05, 60.0, '/cmd_vel moving')
        estop = rover_cli('estop', '--timeout', '20', '--expect', 'speed_limiter,slope_guard,obstacle_guard')
        inputs.until(lambda: estop.poll() is not None, 60.0, 'rover estop to finish')
        assert estop.returncode == 0, estop.stdout.read()  # the one-shot command has exited: its sample is gone
        nodes[2].signal_group(signal.SIGKILL)  # the obstacle guard dies...
        nodes[2].proc.wait(timeout=10)
        nodes[2].stop()
        mark = len(diags)
        nodes[2] = start(*CHAIN[2], tag='_respawned')  # ...and is respawned

        def respawned_latched() -> bool:
            return any(s.name == '/obstacle_guard' and any(kv.key == 'estop' and kv.value == 'True' for kv in s.values)
                       for r in diags[mark:] for s in r.msg.status)

        inputs.until(respawned_latched, 60.0, 'the respawned obstacle guard to report estop True')
        plain = probe.publisher('estop', Bool, qos.LATCHED)
        probe.wait_for_subscribers(plain, count=3)
        plain.publish(Bool(data=False))  # from anyone: clears nothing
        count = len(out)
        inputs.until(lambda: len(out) > count + 20, 60.0, 'commands after the plain false')
        assert all(r.msg.twist.linear.x == 0.0 for r in out[count:])
    finally:
        codes = [n.stop() for n in nodes]
    assert codes == [0, 0, 0], '\n'.join(n.output() for n in nodes)
