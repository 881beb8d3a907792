"""The Earth-Moon link between two ROS domains: one process, two rclpy contexts, one `Link` core.

`LinkBridge` holds a node in the rover's domain (`earth_link`) and one in the ground station's
domain (`ground_link`). Only it passes messages between them (ROVER_SPEC section 5):
- uplink (ground -> rover): `teleop/cmd_vel` (delivered on the rover side as
  `uplink/teleop/cmd_vel`, for the onboard `plan_executor` to hold or ignore), `estop` (latched
  on arrival), `drive_plan`, `estop/reset` calls (the ground's call is answered at once, "sent";
  the rover's answer comes down as an event), and a heartbeat every `heartbeat_period_s`
  (`link/heartbeat`, std_msgs/Header stamped at sending);
- downlink (rover -> ground): `odom`, `imu`, `battery`, `/diagnostics`, `events`,
  `hazcam/points` (thinned to fit the bandwidth), `track`.
Time: the rover side's simulator `/clock` is the one clock. The bridge forwards it to the ground
side at once (time is shared, not a message about the rover), and every send and delivery is
judged on it: a message sent at t is published on the other side at the first clock tick at
or after its due time (at once if it is already due: a zero-delay link adds nothing), with its
stamp untouched. Link statistics go on `/diagnostics` (both
sides) every `diagnostic_period` and into the run summary (`Link.summary()`).
"""

from __future__ import annotations

from collections.abc import Callable
import math
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
import numpy as np
from rclpy.serialization import serialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, Imu, PointCloud2
from std_msgs.msg import Bool, Header, String
from std_srvs.srv import Trigger

from rover_nav.link.channel import Delivery, Link
from rover_nav.link.profile import LinkProfile
from rover_nav.runtime import qos
from rover_nav.runtime.checks import seconds_to_time, stamp_seconds
from rover_nav.runtime.params import NoParams
from rover_nav.runtime.rover_node import DIAG_OK, DIAG_WARN, RoverNode

NODE_NAMES = ('earth_link', 'ground_link')  # the rover side's node, the ground side's (one process: distinct names)
UPLINK_CMD = 'uplink/teleop/cmd_vel'
HEARTBEAT = 'link/heartbeat'
PLAN_QOS = qos.EVENTS  # reliable, depth 50: a burst of plan parts is not cut short by the history

#: uplink: ground topic -> (type, rover-side topic, QoS)
UPLINK = {
    '/teleop/cmd_vel': (TwistStamped, UPLINK_CMD, qos.COMMAND),
    '/estop': (Bool, 'estop', qos.LATCHED),
    '/drive_plan': (String, 'drive_plan', PLAN_QOS),
}
#: downlink: rover topic -> (type, subscription QoS, ground publisher QoS)
DOWNLINK = {
    '/odom': (Odometry, qos.STATE, qos.STATE),
    '/imu': (Imu, qos.SENSOR_SUB, qos.SENSOR_PUB),
    '/battery': (BatteryState, qos.STATE, qos.STATE),
    '/diagnostics': (DiagnosticArray, qos.DIAGNOSTICS, qos.DIAGNOSTICS),
    '/events': (String, qos.EVENTS, qos.EVENTS),
    '/hazcam/points': (PointCloud2, qos.SENSOR_SUB, qos.SENSOR_PUB),
    '/track': (PathMsg, qos.LATCHED, qos.LATCHED),
}
RESET = '/estop/reset'
MIN_CLOUD_POINTS = 64  # a thinner cloud than this is useless to the ground: dropped instead
DIAG_PERIOD_S = 1.0


def thin_cloud(msg: PointCloud2, max_bytes: float) -> tuple[PointCloud2, int] | None:
    """Every k-th point of `msg` so that it fits `max_bytes` (unorganised, height 1), or None."""
    step = int(msg.point_step)
    data = np.frombuffer(memoryview(msg.data), dtype=np.uint8)
    n = data.size // step if step else 0
    overhead = 96
    room = int((max_bytes - overhead) // step) if step else 0
    if n == 0 or room < MIN_CLOUD_POINTS:
        return None
    k = max(1, math.ceil(n / room))
    kept = data[:n * step].reshape(n, step)[::k].tobytes()
    out = PointCloud2(header=msg.header, height=1, width=len(kept) // step, fields=msg.fields,
                      is_bigendian=msg.is_bigendian, point_step=step, row_step=len(kept), is_dense=False)
    out.data = kept
    return out, len(kept) + overhead


_FIXED_SIZES: dict[type, int] = {}
_FIXED = (Imu, Odometry, TwistStamped, Header, Bool, BatteryState)  # CDR size set by the frame ids only


def message_size(msg: Any) -> int:
    """Bytes on the link (CDR); clouds and fixed-layout types without serialising each message."""
    if isinstance(msg, PointCloud2):
        return len(msg.data) + 96
    if isinstance(msg, String):
        return len(msg.data) + 8
    cls = type(msg)
    if cls in _FIXED:
        size = _FIXED_SIZES.get(cls)
        if size is None:
            size = _FIXED_SIZES[cls] = len(serialize_message(msg))
        return size
    return len(serialize_message(msg))


class _Side(RoverNode[NoParams]):
    """One side's node: a RoverNode (diagnostics, events) with the link's endpoints."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, (), **kwargs)


class LinkBridge:
    """Both nodes and the core; call `destroy()` when done (see the module docstring)."""

    def __init__(self, profile: LinkProfile, ground_context: Any, rover_context: Any, seed: int = 0,
                 parameter_overrides: list[Any] | None = None, cli_args: list[str] | None = None,
                 after_clock: Callable[[], Any] | None = None) -> None:
        self.link = Link(profile, seed)
        self.profile = profile
        self.after_clock = after_clock
        kwargs: dict[str, Any] = {'parameter_overrides': parameter_overrides or [],
                                  'cli_args': cli_args, 'use_global_arguments': False}
        self.rover = _Side(NODE_NAMES[0], context=rover_context, **kwargs)
        self.ground = _Side(NODE_NAMES[1], context=ground_context, **kwargs)
        self._now = 0.0
        self._next_diag = 0.0
        self._reset_calls: list[Any] = []
        # rover side: uplink publishers, downlink subscriptions, the clock
        self._rover_pubs = {topic: self.rover.create_publisher(t, rover_topic, q)
                            for topic, (t, rover_topic, q) in UPLINK.items()}
        self._heartbeat_pub = self.rover.create_publisher(Header, HEARTBEAT, qos.STATE)
        self._reset_client = self.rover.create_client(Trigger, RESET)
        for topic, (msg_type, sub_qos, _) in DOWNLINK.items():
            self.rover.create_subscription(msg_type, topic, self._downlink_callback(topic), sub_qos)
        self.rover.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)
        # ground side: downlink publishers, uplink subscriptions, the shared clock, the reset service
        self._ground_pubs = {topic: self.ground.create_publisher(t, topic, pub_qos)
                             for topic, (t, _, pub_qos) in DOWNLINK.items()}
        self._ground_clock = self.ground.create_publisher(Clock, '/clock', qos.CLOCK)
        for topic, (msg_type, _, sub_qos) in UPLINK.items():
            self.ground.create_subscription(msg_type, topic, self._uplink_callback(topic), sub_qos)
        self.ground.create_service(Trigger, RESET, self._on_reset)

    # ---- time ---------------------------------------------------------------------------------
    def now(self) -> float:
        """The shared clock: the rover side's sim time (the simulator's /clock)."""
        return self.rover.get_clock().now().nanoseconds * 1e-9

    def _on_clock(self, msg: Clock) -> None:
        self._ground_clock.publish(msg)
        self.pump(stamp_seconds(msg.clock))

    def pump(self, now: float) -> None:
        """One clock tick: deliver what is due both ways, let the ground side run, send heartbeats."""
        self._now = now
        for delivery in self.link.downlink.due(now):
            self._ground_pubs[delivery.topic].publish(delivery.payload)
        if self.after_clock is not None:
            self.after_clock()  # in one process: the ground side reacts to this tick now
        if self.link.heartbeat_due(now):
            header = Header(frame_id='ground', stamp=seconds_to_time(now))
            self.link.uplink.send(HEARTBEAT, header, now, size=message_size(header))
        self._flush_up(now)
        if now + 1e-9 >= self._next_diag:
            self._next_diag = now + DIAG_PERIOD_S
            self._publish_diagnostics()

    # ---- uplink -------------------------------------------------------------------------------
    def _uplink_callback(self, topic: str) -> Callable[[Any], None]:
        def send(msg: Any) -> None:
            now = self.now()
            self.link.uplink.send(topic, msg, now, size=message_size(msg))
            self._flush_up(now)
        return send

    def _flush_up(self, now: float) -> None:
        """Deliver what is already due (a zero-delay link passes a message on at once, not a tick later)."""
        for delivery in self.link.uplink.due(now):
            self._deliver_up(delivery)

    def _on_reset(self, _request: Any, response: Any) -> Any:
        now = self.now()
        self.link.uplink.send(RESET, None, now, size=16)
        self._flush_up(now)
        response.success = True
        response.message = (f'reset sent up the {self.profile.name} link; the rover acts on it in about '
                            f'{self.profile.uplink.delay_s:.2f} s (its answer comes down on /events)')
        return response

    def _deliver_up(self, delivery: Delivery) -> None:
        if delivery.topic == HEARTBEAT:
            self._heartbeat_pub.publish(delivery.payload)
        elif delivery.topic == RESET:
            if self._reset_client.service_is_ready():
                future = self._reset_client.call_async(Trigger.Request())
                future.add_done_callback(self._reset_done)
                self._reset_calls.append(future)
            else:
                self.rover.publish_event('link_reset_failed', 'e-stop reset arrived but no estop/reset service')
        else:
            self._rover_pubs[delivery.topic].publish(delivery.payload)

    def _reset_done(self, future: Any) -> None:
        if future in self._reset_calls:
            self._reset_calls.remove(future)
        result = future.result()
        if result is not None:
            self.rover.publish_event('estop_reset' if result.success else 'estop_reset_refused',
                                     f'reset from the ground: {result.message}')

    # ---- downlink -----------------------------------------------------------------------------
    def _downlink_callback(self, topic: str) -> Callable[[Any], None]:
        is_cloud = DOWNLINK[topic][0] is PointCloud2

        def send(msg: Any) -> None:
            now = self.now()
            self.link.downlink.send(topic, msg, now, size=message_size(msg), thin=thin_cloud if is_cloud else None)
            for delivery in self.link.downlink.due(now):  # zero delay: at once
                self._ground_pubs[delivery.topic].publish(delivery.payload)
        return send

    # ---- statistics ---------------------------------------------------------------------------
    def diagnostic_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {'profile': self.profile.name}
        for name, channel in (('uplink', self.link.uplink), ('downlink', self.link.downlink)):
            stats = channel.stats
            pct = stats.delay_percentiles()
            values.update({f'{name}_delivered': stats.delivered, f'{name}_lost': stats.lost,
                           f'{name}_in_flight': channel.in_flight,
                           f'{name}_delay_p50_s': pct.get('p50', ''), f'{name}_delay_p95_s': pct.get('p95', ''),
                           f'{name}_blackout': channel.cfg.in_blackout(self._now)})
        return values

    def _publish_diagnostics(self) -> None:
        values = self.diagnostic_values()
        blackout = values['uplink_blackout'] or values['downlink_blackout']
        level, message = (DIAG_WARN, 'blackout: no link') if blackout else (DIAG_OK, f'{self.profile.name} link up')
        for node in (self.rover, self.ground):
            node.publish_diagnostic(level, message, values, name=f'link: {self.profile.name}')

    def destroy(self) -> None:
        for node in (self.rover, self.ground):
            node.destroy_node()
