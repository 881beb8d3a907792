"""Shared pieces of the track logger tests: a synthetic drive published from a RosProbe."""

from __future__ import annotations

import json
import math

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
import pytest
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos

NS = 1_000_000_000


def _stamp(msg_stamp, t: float) -> None:
    msg_stamp.sec = int(math.floor(t))
    msg_stamp.nanosec = int(round((t - math.floor(t)) * 1e9)) % NS


class SyntheticDrive:
    """Publishes /clock, /ground_truth and /odom as a simulator and odometry would.

    Ground truth drives a circle of `radius` at `speed` from the origin heading +x; odometry
    over-reports the distance by `odom_scale` (wheel slip). Sim time starts at `t0` and advances
    one tick per step; `run()` paces the steps at about `rate_hz` real time.
    """

    def __init__(self, probe, rate_hz: float = 20.0, speed: float = 0.2, radius: float = 3.0, t0: float = 1000.0,
                 odom_scale: float = 1.05) -> None:
        self.probe = probe
        self.rate_hz, self.speed, self.radius, self.t0, self.odom_scale = rate_hz, speed, radius, t0, odom_scale
        self.clock = probe.publisher('/clock', Clock, qos.CLOCK)
        self.gt = probe.publisher('ground_truth', Odometry, qos.STATE)
        self.odom = probe.publisher('odom', Odometry, qos.STATE)
        self.events = probe.publisher('events', String, qos.EVENTS)
        self.diag = probe.publisher('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
        self.estop = probe.publisher('estop', Bool, qos.LATCHED)
        self.k = 0
        self.published: list[tuple[float, float, float]] = []  # (t, x, y) of ground truth

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        for pub in (self.gt, self.odom, self.clock, self.events, self.diag):
            self.probe.wait_for_subscribers(pub, 1, timeout_s)

    @property
    def t(self) -> float:
        return self.t0 + self.k / self.rate_hz

    def pose(self, t: float, scale: float = 1.0) -> tuple[float, float, float]:
        a = self.speed * (t - self.t0) * scale / self.radius
        return self.radius * math.sin(a), self.radius * (1.0 - math.cos(a)), a

    def _odometry(self, frame: str, t: float, x: float, y: float, yaw: float) -> Odometry:
        m = Odometry()
        _stamp(m.header.stamp, t)
        m.header.frame_id = frame
        m.child_frame_id = 'base_link'
        m.pose.pose.position.x, m.pose.pose.position.y = x, y
        m.pose.pose.orientation.z, m.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        return m

    def step(self) -> None:
        t = self.t
        c = Clock()
        _stamp(c.clock, t)
        self.clock.publish(c)
        x, y, yaw = self.pose(t)
        self.gt.publish(self._odometry('world', t, x, y, yaw))
        ox, oy, oyaw = self.pose(t, self.odom_scale)
        self.odom.publish(self._odometry('odom', t, ox, oy, oyaw))
        self.published.append((t, x, y))
        self.k += 1

    def event(self, kind: str, detail: str) -> None:
        self.events.publish(String(data=json.dumps({'t': self.t, 'kind': kind, 'detail': detail, 'source': 'test'})))

    def diagnostic(self, level: int, name: str, message: str) -> None:
        arr = DiagnosticArray()
        _stamp(arr.header.stamp, self.t)
        arr.status = [DiagnosticStatus(level=bytes([level]), name=name, message=message)]
        self.diag.publish(arr)

    def run(self, duration_s: float, on_step=None) -> None:
        for _ in range(int(round(duration_s * self.rate_hz))):
            self.step()
            if on_step is not None:
                on_step(self.k)
            self.probe.spin(1.0 / self.rate_hz)

    def arc_length(self) -> float:
        return self.speed * (self.published[-1][0] - self.published[0][0])


@pytest.fixture
def drive(probe):
    return SyntheticDrive(probe)
