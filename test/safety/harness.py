"""One chain node in its own rclpy context, driven over DDS by a RosProbe on simulated time.

The test owns /clock: `set_clock(t)` publishes it and spins until the node's clock reads t, so
watchdog timers fire at known simulated times and every judgement is made on stamps, not on
how fast a loaded machine happens to run the callbacks.
"""

from __future__ import annotations

import math
from typing import Any

from builtin_interfaces.msg import Time
from geometry_msgs.msg import TwistStamped
from helpers.probe import RosProbe
from helpers.processes import wait_until
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, PointCloud2, PointField
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos
from rover_nav.safety.cloud import pack_xyz


def stamp(t: float) -> Time:
    ns = int(round(t * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def seconds(time_msg: Time) -> float:
    return time_msg.sec + time_msg.nanosec * 1e-9


def quat_from_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


def cloud_msg(points: np.ndarray, frame: str, t: float) -> PointCloud2:
    fields, data, step = pack_xyz(points)
    msg = PointCloud2()
    msg.header.stamp = stamp(t)
    msg.header.frame_id = frame
    msg.height, msg.width = 1, len(points)
    msg.fields = [PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count) for f in fields]
    msg.is_bigendian = False
    msg.point_step, msg.row_step = step, step * len(points)
    msg.data = data
    msg.is_dense = False
    return msg


class Harness:
    """The node under test (its own context) + a probe; call close() in finally."""

    def __init__(self, node_cls: type, overrides: dict[str, Any] | None = None, **node_kwargs: Any) -> None:
        self.probe = RosProbe('safety_probe')
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        params = [Parameter('use_sim_time', value=True)]
        params += [Parameter(k, value=v) for k, v in (overrides or {}).items()]
        self.node = None
        self.node = node_cls(context=self.context, parameter_overrides=params, **node_kwargs)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.clock_pub = self.probe.publisher('/clock', Clock, qos.CLOCK)
        self.cmd_pub = self.probe.publisher('cmd_vel_in', TwistStamped, qos.COMMAND)
        self.estop_pub = self.probe.publisher('estop', Bool, qos.LATCHED)
        self.imu_pub = self.probe.publisher('imu', Imu, qos.SENSOR_PUB)
        self.cloud_pub = self.probe.publisher('hazcam/points', PointCloud2, qos.SENSOR_PUB)
        self.out = self.probe.subscribe('cmd_vel_out', TwistStamped, qos.COMMAND)
        self.events = self.probe.subscribe('events', String, qos.EVENTS)
        self.t = 0.0
        self._serial = 0
        self.set_clock(1.0)
        self.probe.wait_for_subscribers(self.cmd_pub)

    # -- spinning --------------------------------------------------------------------------
    def spin(self, duration_s: float = 0.01) -> None:
        """Process callbacks of both sides for about `duration_s` (wall)."""
        self.executor.spin_once(timeout_sec=0.0)
        self.probe.spin(duration_s / 2)
        self.executor.spin_once(timeout_sec=duration_s / 2)

    def wait_for(self, predicate, timeout_s: float = 10.0, what: str = 'condition') -> None:
        wait_until(predicate, timeout_s, spin=self.spin, what=what)

    def set_clock(self, t: float) -> None:
        """Publish /clock = t and spin until the node's clock shows it (timers then fire)."""
        self.t = t
        msg = Clock(clock=stamp(t))
        target = int(round(t * 1e9))

        def seen() -> bool:
            if self.node.get_clock().now().nanoseconds >= target:
                return True
            self.clock_pub.publish(msg)
            return False

        self.wait_for(seen, 10.0, f'node clock at {t:.3f} s')
        for _ in range(3):  # let timers that became due run
            self.executor.spin_once(timeout_sec=0.0)

    def advance(self, until: float, step: float = 0.01) -> None:
        while self.t + step <= until + 1e-9:
            self.set_clock(round(self.t + step, 9))

    # -- inputs --------------------------------------------------------------------------
    def command(self, v: float, w: float, t: float | None = None, wait: bool = True) -> TwistStamped | None:
        """Publish one command stamped `t` (default: now); return the output it caused."""
        self._serial += 1
        tag = f'base_link_cmd{self._serial}'  # the node copies the frame: tells its answer from a watchdog zero
        msg = TwistStamped()
        msg.header.stamp = stamp(self.t if t is None else t)
        msg.header.frame_id = tag
        msg.twist.linear.x = v
        msg.twist.angular.z = w
        before = len(self.out)
        self.cmd_pub.publish(msg)
        if not wait:
            return None

        def answer() -> TwistStamped | None:
            return next((r.msg for r in self.out[before:] if r.msg.header.frame_id == tag), None)

        self.wait_for(lambda: answer() is not None, 10.0, 'an output for the command')
        return answer()

    def imu(self, roll: float = 0.0, pitch: float = 0.0) -> None:
        msg = Imu()
        msg.header.stamp = stamp(self.t)
        msg.header.frame_id = 'imu_link'
        q = quat_from_rpy(roll, pitch, 0.0)
        msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = q
        msg.linear_acceleration.z = 1.62
        self.imu_pub.publish(msg)

    def estop(self, value: bool) -> None:
        self.estop_pub.publish(Bool(data=value))

    def event_kinds(self) -> list[str]:
        import json

        return [json.loads(r.msg.data)['kind'] for r in self.events]

    def close(self) -> None:
        try:
            self.executor.shutdown()
            if self.node is not None:
                self.node.destroy_node()
        finally:
            rclpy.try_shutdown(context=self.context)
            self.probe.close()
