"""Safety chain benchmark: latency and CPU the three chain nodes add between operator and drive.

`run_benchmarks()` starts speed_limiter, slope_guard and obstacle_guard as separate processes
(wired teleop/cmd_vel -> ... -> cmd_vel, shared rover.yaml) plus one bare rclpy relay process,
keeps the guards' sensors fresh (IMU 20 Hz, a 64 x 48 ground cloud at 5 Hz, odometry 10 Hz)
and sends TwistStamped commands at 20 Hz, matching answers by their copied stamps:
- one bare DDS hop: publisher and subscriber in two contexts of this process (one-way);
- the chain: teleop/cmd_vel to cmd_vel through the three processes (4 hops, 3 nodes);
- CPU of each chain node over the run, against the bare relay under the same command stream.
Everything runs in a private ROS domain (`rover_nav.runtime.ros_domain.claim_domain`, localhost
discovery), so a running rover or a parallel test is not disturbed.
No test asserts on these numbers; `rover bench` prints them.
"""

from __future__ import annotations

import os
from pathlib import Path
import statistics
import subprocess
import sys
import time
from typing import Any

from rover_nav.runtime.benchmarking import BenchResult

CHAIN = (
    ('speed_limiter', 'rover_nav.safety.speed_limiter_node', 'teleop/cmd_vel', 'safety/limited_cmd_vel'),
    ('slope_guard', 'rover_nav.safety.slope_guard_node', 'safety/limited_cmd_vel', 'safety/slope_checked_cmd_vel'),
    ('obstacle_guard', 'rover_nav.safety.obstacle_guard_node', 'safety/slope_checked_cmd_vel', 'cmd_vel'),
)
RATE_HZ = 20.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time (s) of a process, from /proc (Linux)."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _spawn(module: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', module, *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _ground_cloud() -> Any:
    """A flat ground cloud of the hazcam's size (64 x 48 points) in base_link."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 64 * 48
    return np.c_[rng.uniform(0.7, 4.0, n), rng.uniform(-2.0, 2.0, n), rng.normal(-0.15, 0.01, n)]


class _Driver:
    """Publishes commands and sensors from one context; times answers in a second context."""

    def __init__(self, domain_id: int) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.contexts = [rclpy.Context(), rclpy.Context()]
        for ctx in self.contexts:
            rclpy.init(context=ctx, domain_id=domain_id)
        self.tx = rclpy.create_node('bench_tx', context=self.contexts[0])
        self.rx = rclpy.create_node('bench_rx', context=self.contexts[1])
        self.executors = []
        for node, ctx in ((self.tx, self.contexts[0]), (self.rx, self.contexts[1])):
            ex = SingleThreadedExecutor(context=ctx)
            ex.add_node(node)
            self.executors.append(ex)
        self.sent: dict[tuple[str, int], float] = {}
        self.latency: dict[str, list[float]] = {'hop': [], 'relay': [], 'chain': []}

    def setup(self) -> None:
        from geometry_msgs.msg import TwistStamped
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import Imu, PointCloud2

        from rover_nav.runtime import qos

        self.pubs = {name: self.tx.create_publisher(TwistStamped, topic, qos.COMMAND)
                     for name, topic in (('hop', 'bench/hop'), ('relay', 'bench/relay_in'),
                                         ('chain', 'teleop/cmd_vel'))}
        for name, topic in (('hop', 'bench/hop'), ('relay', 'bench/relay_out'), ('chain', 'cmd_vel')):
            self.rx.create_subscription(TwistStamped, topic, lambda m, n=name: self._answer(n, m), qos.COMMAND)
        self.imu = self.tx.create_publisher(Imu, 'imu', qos.SENSOR_PUB)
        self.cloud = self.tx.create_publisher(PointCloud2, 'hazcam/points', qos.SENSOR_PUB)
        self.odom = self.tx.create_publisher(Odometry, 'odom', qos.STATE)
        self._cloud_points = _ground_cloud()

    def _answer(self, name: str, msg: Any) -> None:
        key = (name, msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec)
        sent = self.sent.pop(key, None)
        if sent is not None and msg.twist.linear.x != 0.0:
            self.latency[name].append(time.perf_counter() - sent)

    def spin(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while True:
            for ex in self.executors:
                ex.spin_once(timeout_sec=0.0)
            if time.perf_counter() >= end:
                return
            time.sleep(0.0005)

    def send(self, name: str) -> None:
        from geometry_msgs.msg import TwistStamped

        msg = TwistStamped()
        now = self.tx.get_clock().now()
        msg.header.stamp = now.to_msg()
        msg.twist.linear.x = 0.05
        self.sent[(name, now.nanoseconds)] = time.perf_counter()
        self.pubs[name].publish(msg)

    def sensors(self, k: int) -> None:
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import Imu, PointCloud2, PointField

        from rover_nav.safety.cloud import pack_xyz

        stamp = self.tx.get_clock().now().to_msg()
        imu = Imu()
        imu.header.stamp = stamp
        imu.orientation.w = 1.0
        self.imu.publish(imu)
        if k % 2 == 0:
            odom = Odometry()
            odom.header.stamp = stamp
            odom.pose.pose.orientation.w = 1.0
            self.odom.publish(odom)
        if k % 4 == 0:
            fields, data, step = pack_xyz(self._cloud_points)
            cloud = PointCloud2()
            cloud.header.stamp = stamp
            cloud.header.frame_id = 'base_link'
            cloud.height, cloud.width = 1, len(self._cloud_points)
            cloud.fields = [PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count)
                            for f in fields]
            cloud.point_step, cloud.row_step, cloud.data = step, step * cloud.width, data
            self.cloud.publish(cloud)

    def run(self, seconds: float) -> None:
        period = 1.0 / RATE_HZ
        k = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.sensors(k)
            for name in ('hop', 'relay', 'chain'):
                self.send(name)
                self.spin(period / 3)
            k += 1

    def close(self) -> None:
        import rclpy

        for ex in self.executors:
            ex.shutdown()
        self.tx.destroy_node()
        self.rx.destroy_node()
        for ctx in self.contexts:
            rclpy.try_shutdown(context=ctx)


def run_benchmarks(seconds: float = 10.0) -> list[BenchResult]:
    """Latency of the chain vs one bare hop, and CPU of each node vs a bare relay (see module doc)."""
    from rover_description.paths import data_file
    from rover_nav.runtime.ros_domain import claim_domain

    domain_id = claim_domain()  # a locked private domain, localhost discovery, exported to the children
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    params = data_file('config', 'rover.yaml')  # the source tree, or share/rover_testbed on tier 1
    procs: dict[str, subprocess.Popen] = {}
    driver = None
    try:
        for name, module, src, dst in CHAIN:
            args = ['--ros-args', '-r', f'__node:={name}', '-r', f'cmd_vel_in:={src}', '-r', f'cmd_vel_out:={dst}',
                    '-p', 'max_linear_accel:=100.0']
            args[1:1] = ['--params-file', str(params)]
            procs[name] = _spawn(module, args, env)
        relay_args = ['relay', '--ros-args', '-r', 'cmd_vel_in:=bench/relay_in', '-r', 'cmd_vel_out:=bench/relay_out']
        procs['bare_relay'] = _spawn('rover_nav.safety.bench', relay_args, env)
        driver = _Driver(domain_id)
        driver.setup()
        # warm up until every path answers (discovery, imports, first clouds)
        deadline = time.perf_counter() + 60.0
        while not all(driver.latency.values()):
            if time.perf_counter() > deadline:
                missing = [k for k, v in driver.latency.items() if not v]
                raise RuntimeError(f'bench: no answers on {missing} within 60 s')
            driver.run(0.5)
        for values in driver.latency.values():
            values.clear()
        cpu0 = {name: _cpu_seconds(p.pid) for name, p in procs.items()}
        wall0 = time.perf_counter()
        driver.run(seconds)
        wall = time.perf_counter() - wall0
        cpu = {name: (_cpu_seconds(p.pid) - cpu0[name]) / wall for name, p in procs.items()}
    finally:
        if driver is not None:
            driver.close()
        for proc in procs.values():
            _stop(proc)
    hop = statistics.median(driver.latency['hop'])
    chain = statistics.median(driver.latency['chain'])
    relay = statistics.median(driver.latency['relay'])
    n = len(driver.latency['chain'])
    p95 = sorted(driver.latency['chain'])[int(0.95 * (n - 1))]
    results = [
        BenchResult('safety chain latency teleop/cmd_vel -> cmd_vel (median)', chain * 1e3, hop * 1e3, 'ms',
                    'one bare DDS hop', f'{n} commands at {RATE_HZ:.0f} Hz; p95 {p95 * 1e3:.2f} ms; the chain '
                    f'adds {(chain - hop) * 1e3:.2f} ms over a direct hop'),
        BenchResult('bare rclpy relay process latency (median)', relay * 1e3, hop * 1e3, 'ms', 'one bare DDS hop',
                    'two hops through a do-nothing relay process: what one chain stage costs at least'),
    ]
    for name, *_ in CHAIN:
        results.append(BenchResult(f'{name} CPU', cpu[name] * 100.0, cpu['bare_relay'] * 100.0, '% of one core',
                                   'bare rclpy relay at the same command rate',
                                   f'{RATE_HZ:.0f} Hz commands, IMU 20 Hz, 64x48 cloud 5 Hz, odom 10 Hz'))
    return results


def _relay_main() -> int:
    """A do-nothing relay (cmd_vel_in -> cmd_vel_out) as the CPU and latency baseline."""
    from geometry_msgs.msg import TwistStamped
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from rover_nav.runtime import qos

    rclpy.init(args=sys.argv)
    node = rclpy.create_node('bare_relay')
    pub = node.create_publisher(TwistStamped, 'cmd_vel_out', qos.COMMAND)
    node.create_subscription(TwistStamped, 'cmd_vel_in', pub.publish, qos.COMMAND)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main() -> None:
    """`python -m rover_nav.safety.bench` prints the results; `... relay` runs the baseline relay."""
    if len(sys.argv) > 1 and sys.argv[1] == 'relay':
        sys.exit(_relay_main())
    for r in run_benchmarks():
        print(f'{r.name}: {r.value:.3f} {r.unit} vs {r.baseline:.3f} ({r.baseline_name}) = x{r.ratio:.2f}  {r.note}')


if __name__ == '__main__':
    main()
