"""Progress of a drive as the runner shows it: sim time, distance, speed, tilt, last event.

Distance is the one the summary and track.csv use (`rover_nav.tracklog.sampling.Odometer`):
the 3-D path length of the ground-truth base_link position, taken at every simulator tick
(10 Hz), counted in straight steps of at least 1 cm (so a parked rover's jitter adds nothing).

`DriveProgress` is the pure part (fed numbers); `MonitorNode` feeds it from `/clock`,
`ground_truth` (pose and tilt: the simulator's truth, one message per tick, not the 50 Hz IMU)
and `events`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import json
import math

from nav_msgs.msg import Odometry
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from rover_nav.runtime import qos
from rover_nav.runtime.checks import stamp_seconds
from rover_nav.runtime.clock_guard import ClockGuard
from rover_nav.runtime.intra_process import IntraProcessMixin
from rover_nav.tracklog.sampling import Odometer


@dataclass
class DriveProgress:
    """Running figures of one drive (world frame, SI units)."""

    sim_time: float = 0.0
    distance: float = 0.0
    speed: float = 0.0
    tilt_deg: float = 0.0
    guard: str = '-'
    last_xy: tuple[float, float] | None = None
    _recent: deque = field(default_factory=lambda: deque(maxlen=200))
    _odometer: Odometer = field(default_factory=Odometer)

    def on_pose(self, t: float, x: float, y: float, z: float = 0.0) -> None:
        self._odometer.update(x, y, z)
        self.distance = self._odometer.total_with_tail()
        self.last_xy = (x, y)
        self._recent.append((t, x, y))
        while len(self._recent) > 2 and t - self._recent[0][0] > 1.0:
            self._recent.popleft()
        t0, x0, y0 = self._recent[0]
        self.speed = math.hypot(x - x0, y - y0) / (t - t0) if t > t0 else 0.0

    def on_orientation(self, qx: float, qy: float, qz: float, qw: float) -> None:
        # body z in world: third column of the rotation matrix; tilt = angle to world up
        zz = 1.0 - 2.0 * (qx * qx + qy * qy)
        self.tilt_deg = math.degrees(math.acos(max(-1.0, min(1.0, zz))))

    def on_event(self, kind: str) -> None:
        self.guard = kind

    def line(self) -> str:
        return (f't={self.sim_time:7.1f} s  distance={self.distance:6.2f} m  speed={self.speed:.4f} m/s  '
                f'tilt={self.tilt_deg:5.1f} deg  last event={self.guard}')


class MonitorNode(IntraProcessMixin, Node):
    """Collects DriveProgress for the runner (uses the simulated clock)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__('run_monitor', **kwargs)
        self.progress = DriveProgress()
        self.clock_guard = ClockGuard()  # a foreign /clock at 2^31 s must not end the drive
        self.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)
        self.create_subscription(Odometry, 'ground_truth', self._on_truth, qos.STATE)
        self.create_subscription(String, 'events', self._on_event, qos.EVENTS)

    def domain_conflict(self) -> str | None:
        """Why this ROS domain is not this run's alone, or None.

        Two runs started with the same exported ROS_DOMAIN_ID drive each other's simulators (each
        simulator steps on the other chain's commands): a second /clock publisher, i.e. a second
        simulator, gives it away.
        """
        infos = self.get_publishers_info_by_topic('/clock')
        if len(infos) <= 1:
            return None
        names = ', '.join(sorted(f'{i.node_namespace.rstrip("/")}/{i.node_name}' for i in infos))
        return (f'{len(infos)} /clock publishers on this ROS domain ({names}): another simulator or run shares '
                'it, and the two would drive each other; use another ROS_DOMAIN_ID (or leave it unset: '
                'rover run then claims a private one)')

    def _on_clock(self, msg: Clock) -> None:
        t = stamp_seconds(msg.clock)
        if self.clock_guard.accept(t):
            self.progress.sim_time = self.clock_guard.last
        elif self.clock_guard.rejected in (1, 10, 100, 1000):
            self.get_logger().warning(f'/clock at {t:.9g} s ignored: a jump from {self.progress.sim_time:.3f} s '
                                      f'(a foreign /clock publisher?); {self.clock_guard.rejected} rejected so far')

    def _on_truth(self, msg: Odometry) -> None:
        p = msg.pose.pose.position
        t = stamp_seconds(msg.header.stamp)
        self.progress.on_pose(t, p.x, p.y, p.z)
        q = msg.pose.pose.orientation
        self.progress.on_orientation(q.x, q.y, q.z, q.w)

    def _on_event(self, msg: String) -> None:
        try:
            self.progress.on_event(str(json.loads(msg.data).get('kind', '?')))
        except (ValueError, AttributeError, RecursionError):  # not JSON, not an object, nested too deep
            self.progress.on_event('?')
