"""One chain node in its own rclpy context, driven over DDS by a RosProbe on simulated time
(helpers.node_bench.NodeBench wired to the chain's topics), and the chain's message builders."""

from __future__ import annotations

import math
from typing import Any

from geometry_msgs.msg import TwistStamped
from helpers.node_bench import NodeBench
import numpy as np
from sensor_msgs.msg import Imu, PointCloud2, PointField
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos
from rover_nav.runtime.checks import seconds_to_time, stamp_seconds
from rover_nav.safety.cloud import pack_xyz

stamp = seconds_to_time
seconds = stamp_seconds


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


class Harness(NodeBench):
    """A chain node (its own context) + a probe wired to its topics; call close() in finally."""

    probe_name = 'safety_probe'

    def __init__(self, node_cls: type, overrides: dict[str, Any] | None = None, **node_kwargs: Any) -> None:
        super().__init__(node_cls, overrides, **node_kwargs)
        self.probe.wait_for_subscribers(self.cmd_pub)

    def wire(self) -> None:
        self.cmd_pub = self.probe.publisher('cmd_vel_in', TwistStamped, qos.COMMAND)
        self.estop_pub = self.probe.publisher('estop', Bool, qos.LATCHED)
        self.imu_pub = self.probe.publisher('imu', Imu, qos.SENSOR_PUB)
        self.cloud_pub = self.probe.publisher('hazcam/points', PointCloud2, qos.SENSOR_PUB)
        self.out = self.probe.subscribe('cmd_vel_out', TwistStamped, qos.COMMAND)
        self.events = self.probe.subscribe('events', String, qos.EVENTS)
        self._serial = 0

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

        # 10 s ran out once in a CI run (two workers, e2e drives beside): the answer is awaited, not timed
        self.wait_for(lambda: answer() is not None, 30.0, 'an output for the command')
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
