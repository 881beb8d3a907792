"""`track_logger`: records every drive as a rosbag2 (MCAP) bag, a track, a map and a summary.

Thin shell: raw (serialized) subscriptions feed the bag writer thread unchanged; the few topics
the track needs (ground truth, odometry, IMU, events, diagnostics, clock) are also decoded and
handed to `TrackRecorder`. Nothing here touches a file: `RunWriter` does, in its own thread, with
a bounded queue, so a slow or full disk never blocks the executor that runs the control chain.
Publishes the sampled track as a bounded nav_msgs/Path on `track` (latched) and its own health
on /diagnostics (ERROR with the reason when a file cannot be written; the node keeps running).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import sys
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped, TwistStamped
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.clock import Clock
from rclpy.clock_type import ClockType
from rclpy.qos import QoSProfile
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import BatteryState, Imu, JointState, Joy, PointCloud2
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.clock_guard import ClockGuard, HoldUntilClock
from rover_nav.runtime.intra_process import bus_of, message_of
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_ERROR, DIAG_OK, DIAG_WARN, RoverNode
from rover_nav.tracklog import cdr, cdr_encode
from rover_nav.tracklog.bag import QosOffer, TopicInfo, header_stamp_ns
from rover_nav.tracklog.files import csv_line, track_geojson
from rover_nav.tracklog.geo import CHANGE4_LAT_DEG, CHANGE4_LON_DEG, tilt_deg_from_quaternion
from rover_nav.tracklog.io_thread import RunWriter, describe_errors, recording_report
from rover_nav.tracklog.msgdefs import type_name_of
from rover_nav.tracklog.recorder import SOURCES, TrackPoint, TrackRecorder, parse_event
from rover_nav.tracklog.sampling import decimate
from rover_nav.tracklog.tf_frames import TF_TYPE, RoverFrames, Transform, tf_message
from rover_nav.tracklog.writer_process import ProcessRunWriter

#: Recording QoS: reliable subscribers deeper than the publishers, so a busy executor loses nothing.
_RELIABLE_REC = QoSProfile(depth=50, reliability=qos.COMMAND.reliability, durability=qos.COMMAND.durability,
                           history=qos.COMMAND.history)
#: Sensor streams: best effort (matches any publisher), deep enough for a tick burst in lockstep.
_SENSOR_REC = QoSProfile(depth=50, reliability=qos.SENSOR_SUB.reliability, durability=qos.SENSOR_SUB.durability,
                         history=qos.SENSOR_SUB.history)
#: Header stamps further than this (s) from /clock (or the node clock) are not trusted as log time.
MAX_STAMP_SKEW_S = 5.0
#: Track points kept in memory for the GeoJSON (decimated beyond this, the CSV keeps all).
MAX_MEMORY_POINTS = 100_000


@dataclass(frozen=True)
class Recorded:
    """One recorded topic: relative name, message class, subscription QoS, stamp at the start?"""

    name: str
    msg_type: type
    qos: QoSProfile
    stamped: bool
    default_offer: QosOffer


_REL = QosOffer(depth=10)
_CMD = QosOffer(depth=1)
_LATCH = QosOffer(depth=1, durability=1)
_BEST = QosOffer(depth=1, reliability=2)
TOPICS = (
    Recorded('teleop/cmd_vel', TwistStamped, _RELIABLE_REC, True, _CMD),
    Recorded('safety/limited_cmd_vel', TwistStamped, _RELIABLE_REC, True, _CMD),
    Recorded('safety/slope_checked_cmd_vel', TwistStamped, _RELIABLE_REC, True, _CMD),
    Recorded('cmd_vel', TwistStamped, _RELIABLE_REC, True, _CMD),
    Recorded('joint_commands', JointState, _RELIABLE_REC, True, _CMD),
    Recorded('joint_states', JointState, _SENSOR_REC, True, _REL),
    Recorded('imu', Imu, _SENSOR_REC, True, _REL),
    Recorded('odom', Odometry, _RELIABLE_REC, True, _REL),
    Recorded('ground_truth', Odometry, _RELIABLE_REC, True, _REL),
    Recorded('events', String, qos.EVENTS, False, QosOffer(depth=50)),
    Recorded('estop', Bool, qos.LATCHED, False, _LATCH),
    Recorded('battery', BatteryState, _RELIABLE_REC, True, _CMD),
    Recorded('joy', Joy, qos.JOY, True, _REL),
    Recorded('/diagnostics', DiagnosticArray, _RELIABLE_REC, True, _REL),
    # /clock: best effort like every clock subscriber, but deeper than qos.CLOCK's 1 (a busy logger in
    # its own process lost 4.6 % of the ticks from the bag, history overwritten before it was taken)
    Recorded('/clock', ClockMsg, _SENSOR_REC, True, _BEST),
    Recorded('hazcam/points', PointCloud2, qos.SENSOR_SUB, True, _REL),
    # behind the Earth-Moon link (rover run --link): the operator's commands as they arrived, logged at
    # arrival (not at their stamp), so the bag shows the delay; and the drive plans
    Recorded('uplink/teleop/cmd_vel', TwistStamped, _RELIABLE_REC, False, _CMD),
    Recorded('drive_plan', String, qos.EVENTS, False, QosOffer(depth=50)),
)

#: Derived channels the bag carries so ROS tools can draw the rover (see `tf_frames`).
_DESCRIPTION_TOPICS = (('/robot_description', 'std_msgs/msg/String', _LATCH),
                       ('/tf_static', TF_TYPE, _LATCH),
                       ('/tf', TF_TYPE, QosOffer(depth=100)))

SPECS = (
    shared.OUTPUT_DIR,
    shared.WORLD,
    shared.FRAME_PREFIX,
    shared.PROFILE,
    ParamSpec('track_source', str, 'auto', 'Pose source of the track: ground_truth (simulator), odom (hardware) '
              'or auto (ground truth when present, else odometry after 2 s without it).', choices=SOURCES,
              read_only=True),
    ParamSpec('sample_distance', float, 0.05, 'm travelled (3-D) between track points; too small bloats '
              'track.csv/Path, too large cuts corners.', lo=0.001, hi=100.0, read_only=True),
    ParamSpec('sample_heading_deg', float, 5.0, 'deg of heading change that also adds a track point '
              '(point turns); too large hides turns.', lo=0.1, hi=180.0, read_only=True),
    ParamSpec('max_path_poses', int, 2000, 'Bound of the published nav_msgs/Path; beyond it every second pose '
              'is dropped (whole drive kept, coarser).', lo=10, hi=1_000_000),
    ParamSpec('bag_split_size_mb', float, 100.0, 'MB per MCAP file before the bag splits into the next '
              'bag_<n>.mcap; too small makes many files.', lo=0.01, hi=1.0e6, read_only=True),
    ParamSpec('bag_compression', str, 'zstd', 'MCAP chunk compression.', choices=('zstd', 'lz4', 'none'),
              read_only=True),
    ParamSpec('flush_period', float, 0.5, 's (wall or sim) between closed MCAP chunks: the most data a '
              'SIGKILL can lose. Smaller = more, smaller chunks.', lo=0.05, hi=1.0, read_only=True),
    ParamSpec('summary_period', float, 1.0, 's between rewrites of summary.json (wall or sim time, whichever '
              'comes first: after a kill -9 it is at most this far behind) and of track.geojson (wall).',
              lo=0.2, hi=60.0),
    ParamSpec('queue_size', int, 5000, 'Messages buffered for the writer thread; when full, new bag messages '
              'are dropped (counted, WARN) instead of blocking the control chain.', lo=10, hi=1_000_000,
              read_only=True),
    ParamSpec('points_decimation', int, 10, 'Record every Nth hazcam/points cloud (0 = none): clouds dominate '
              'the bag size.', lo=0, hi=100_000),
    ParamSpec('origin_lon_deg', float, CHANGE4_LON_DEG, 'Selenographic east longitude (deg) of the world origin '
              "(Chang'e-4 landing site by default).", lo=-180.0, hi=360.0, read_only=True),
    ParamSpec('origin_lat_deg', float, CHANGE4_LAT_DEG, 'Selenographic latitude (deg) of the world origin.',
              lo=-89.0, hi=89.0, read_only=True),
)


@dataclass(frozen=True)
class TrackLoggerParams(Params):
    """track_logger's parameter values, typed: one field per entry of SPECS."""

    output_dir: str
    world: str
    frame_prefix: str
    profile: str
    track_source: str
    sample_distance: float
    sample_heading_deg: float
    max_path_poses: int
    bag_split_size_mb: float
    bag_compression: str
    flush_period: float
    summary_period: float
    queue_size: int
    points_decimation: int
    origin_lon_deg: float
    origin_lat_deg: float


def default_output_dir() -> Path:
    return Path('runs') / time.strftime('%Y%m%d-%H%M%S')


def fresh_output_dir(path: Path, stamp: str | None = None) -> Path:
    """`path`, or `path/<YYYYmmdd-HHMMSS>` when it already holds a recorded drive.

    A fixed `output_dir` (a launch file on the rover board) must not append to the last drive's
    track.csv or overwrite its bag; a folder the runner made for this drive (perhaps already
    holding the simulator's files) is used as it is.
    """
    if any((path / name).exists() for name in ('track.csv', 'summary.json', 'bag/metadata.yaml')):
        stamp = stamp or time.strftime('%Y%m%d-%H%M%S')
        candidate, n = path / stamp, 1
        while candidate.exists():
            candidate, n = path / f'{stamp}-{n}', n + 1
        return candidate
    return path


def _offers(infos: list[Any]) -> list[QosOffer]:
    """rclpy TopicEndpointInfo list -> QosOffer list (what the publishers really offer)."""
    out = []
    for info in infos:
        q = info.qos_profile
        out.append(QosOffer(history=int(q.history), depth=int(q.depth), reliability=int(q.reliability),
                            durability=int(q.durability), deadline_ns=q.deadline.nanoseconds,
                            lifespan_ns=q.lifespan.nanoseconds, liveliness=int(q.liveliness),
                            liveliness_lease_ns=q.liveliness_lease_duration.nanoseconds,
                            avoid_ros_namespace_conventions=bool(q.avoid_ros_namespace_conventions)))
    return out


def _time_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _leading_stamp_ns(msg: Any) -> int | None:
    """What `header_stamp_ns` reads from CDR bytes, from a message object: header.stamp or Clock.clock."""
    header = getattr(msg, 'header', None)
    if header is not None:
        return _time_ns(header.stamp)
    clock = getattr(msg, 'clock', None)
    return _time_ns(clock) if clock is not None else None


class TrackLoggerNode(RoverNode[TrackLoggerParams]):
    """Records the drive; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('track_logger', SPECS, params_type=TrackLoggerParams, **kwargs)
        snap: TrackLoggerParams = self.params.snapshot
        self.out_dir = Path(snap.output_dir) if snap.output_dir else default_output_dir()
        self.out_dir = fresh_output_dir(self.out_dir.expanduser().absolute())
        self.recorder = TrackRecorder(snap.sample_distance, math.radians(snap.sample_heading_deg),
                                      source=snap.track_source)
        # composed with the whole chain on an intra-process bus (rover run): write the files from a
        # child process, so the bag does not compete with the control chain for the GIL
        writer_cls = ProcessRunWriter if bus_of(self.context) is not None else RunWriter
        self.writer = writer_cls(self.out_dir, int(snap.bag_split_size_mb * 1024 * 1024), snap.bag_compression,
                                 snap.flush_period, snap.queue_size)
        self._points: list[TrackPoint] = []
        self._path = PathMsg()  # the last published track (never changed once published)
        self._path.header.frame_id = f'{snap.frame_prefix}world'
        self._poses: list[PoseStamped] = []
        self._path_pub = self.create_publisher(PathMsg, 'track', qos.LATCHED)
        self._declared: set[str] = set()
        self._last_clock_ns: int | None = None
        self._clock_guard = ClockGuard()  # a foreign /clock far off must not become the log time
        # on sim time, messages that overtake the first /clock wait for it (logged at 0 or wall time otherwise)
        self._before_clock = HoldUntilClock(active=bool(self.get_parameter('use_sim_time').value))
        self._summary_clock_ns: int | None = None  # sim time of the last summary.json sent
        self.rejected_messages = 0
        self._wall_first: float | None = None
        self._wall_last: float | None = None
        self._cloud_count = 0
        self._changed = True
        self._geo_dirty = True
        self._logged_errors: dict[str, str] = {}
        self._closed = False
        self._frames: RoverFrames | None = None
        self._urdf = ''
        self._description_written = False
        self._decoders = {'ground_truth': self._on_ground_truth, 'odom': self._on_odom, 'imu': self._on_imu,
                          'events': self._on_events, '/diagnostics': self._on_diagnostics, '/clock': self._on_clock,
                          'joint_states': self._on_joint_states}
        self.writer.start()
        # before the subscriptions: expanding the xacro takes ~1-2 s of CPU in a process of its own
        # (cached when composed with the simulator); in a thread it starved the executor at the start
        # of a drive (reliable keep-last queues overflowed and /clock samples were lost)
        if snap.profile:
            self._load_description(snap.profile, snap.frame_prefix)
        self._description_written = self._frames is None
        self.lost_in_transport: dict[str, int] = {}  # per topic: samples DDS reports lost before we took them
        for rec in TOPICS:
            self.create_subscription(rec.msg_type, rec.name, self._make_callback(rec), rec.qos, raw=True,
                                     event_callbacks=self._lost_counter(rec.name))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(snap.summary_period, self._periodic, clock=steady)
        self.create_timer(1.0, self._report_health, clock=steady)
        self.params.on_change(self._on_params)
        self.get_logger().info(f'recording to {self.out_dir}')

    def _lost_counter(self, name: str) -> Any:
        """DDS 'message lost' events of one subscription, counted for the summary (best-effort topics
        lose samples between processes; the summary says how many instead of claiming 0 dropped)."""
        from rclpy.event_handler import SubscriptionEventCallbacks

        topic = self.resolve_topic_name(name)

        def lost(info: Any) -> None:
            self.lost_in_transport[topic] = int(info.total_count)
            self._changed = True

        return SubscriptionEventCallbacks(message_lost=lost, use_default_callbacks=False)

    # -- parameters -----------------------------------------------------------------------
    def _on_params(self, snap: TrackLoggerParams) -> None:
        self._trim_path(snap.max_path_poses)

    # -- receiving ------------------------------------------------------------------------
    def _make_callback(self, rec: Recorded) -> Any:
        topic = self.resolve_topic_name(rec.name)
        decode = self._decoders.get(rec.name)

        def callback(data: Any) -> None:
            self._receive(rec, topic, data, decode)

        # On an intra-process bus the message object itself comes (CDR bytes over DDS): the writer
        # serialises it for the bag, and the decoders read its fields instead of parsing bytes.
        callback.takes_messages = True  # type: ignore[attr-defined]
        return callback

    def _receive(self, rec: Recorded, topic: str, data: Any, decode: Any) -> None:
        wall = time.monotonic()
        if self._wall_first is None:
            self._wall_first = wall
        self._wall_last = wall
        if rec.msg_type is ClockMsg:
            self._record(rec, topic, data, decode)
            if self._before_clock.active and self._last_clock_ns is not None:
                self._release_held()
        elif not self._before_clock.hold((rec, topic, data, decode)):
            self._record(rec, topic, data, decode)

    def _release_held(self) -> None:
        """The first valid /clock came: record what arrived before it, in arrival order."""
        held = self._before_clock.release()
        for item in held:
            self._record(*item)
        report = self._before_clock.report()
        if report['dropped']:
            self.get_logger().warning(f'{report["held"]} messages arrived before the first /clock; the oldest '
                                      f'{report["dropped"]} of them were dropped (hold full), the rest recorded')
        elif held:
            self.get_logger().info(f'{len(held)} messages arrived before the first /clock: recorded after it')

    def _record(self, rec: Recorded, topic: str, data: Any, decode: Any) -> None:
        log_ns = self._log_time_ns(rec, data)
        if not self._description_written:
            self._write_description(log_ns)
        if decode is not None:
            try:
                decode(data, log_ns)
            except Exception as exc:  # a hostile message (overflow, deep nesting...) must never stop the logger
                self.rejected_messages += 1
                self.warn_throttled(f'rejected a message on {topic}: {type(exc).__name__}: {str(exc)[:200]}')
        if rec.msg_type is PointCloud2:
            n = self.params.snapshot.points_decimation
            self._cloud_count += 1
            if n == 0 or (self._cloud_count - 1) % n:
                return
        if topic not in self._declared:
            self._declared.add(topic)
            try:
                offers = _offers(self.get_publishers_info_by_topic(topic)) or [rec.default_offer]
            except Exception:  # the graph query is best effort; fall back to the spec's QoS
                offers = [rec.default_offer]
            try:
                self.writer.add_topic(TopicInfo.for_type(topic, type_name_of(rec.msg_type), offers))
            except (LookupError, OSError, ValueError) as exc:
                self.get_logger().error(f'cannot record {topic}: no message definition ({exc})')
                return
        self.writer.message(topic, data, log_ns)
        self._changed = True

    def _log_time_ns(self, rec: Recorded, data: Any) -> int:
        """Sim time of a message: its header stamp, else the latest /clock, else the node clock.

        A stamp more than MAX_STAMP_SKEW_S away from that reference (a node not on sim time
        stamping with the wall clock, an unstamped message) is replaced by the reference, so one
        such publisher cannot stretch the bag over decades.
        """
        ref = self._last_clock_ns if self._last_clock_ns is not None else self.get_clock().now().nanoseconds
        if rec.stamped:
            stamp = header_stamp_ns(data) if isinstance(data, bytes) else _leading_stamp_ns(data)
            if stamp and abs(stamp - ref) <= MAX_STAMP_SKEW_S * 1e9:
                return stamp
        return ref

    # -- the rover's frames and model (/robot_description, /tf_static, /tf) -----------------
    def _load_description(self, profile: str, prefix: str) -> None:
        from rover_description.description import urdf_model, urdf_xml

        try:
            self._urdf = urdf_xml(profile)
            self._frames = RoverFrames(urdf_model(profile), prefix)
        except Exception as exc:  # a broken description must not stop the recording
            self.get_logger().error(f'no /tf or /robot_description in the bag: profile {profile!r}: {exc}')

    def _write_description(self, log_ns: int) -> None:
        """Latched model and static frames, logged at the first recorded message's time."""
        self._description_written = True
        if self._frames is None:  # no model to draw (unknown profile): nothing to write
            return
        for topic, type_name, offer in _DESCRIPTION_TOPICS:
            self.writer.add_topic(TopicInfo.for_type(topic, type_name, [offer]))
        self.writer.message('/robot_description', cdr_encode.serialize(String(data=self._urdf)), log_ns)
        self.writer.message('/tf_static', cdr_encode.serialize(tf_message(log_ns, self._frames.static), TF_TYPE),
                            log_ns)

    def _write_tf(self, stamp_ns: int, transforms: list[Transform]) -> None:
        if transforms:
            self.writer.message('/tf', cdr_encode.serialize(tf_message(stamp_ns, transforms), TF_TYPE), stamp_ns)

    def _on_joint_states(self, data: Any, log_ns: int) -> None:
        if self._frames is None:
            return
        msg = message_of(data, JointState)
        positions = dict(zip(msg.name, msg.position, strict=False))
        self._write_tf(log_ns, self._frames.joint_transforms(positions))

    # -- decoded inputs -------------------------------------------------------------------
    def _on_clock(self, data: Any, log_ns: int) -> None:
        clock_ns = cdr.clock_ns(data) if isinstance(data, bytes) else _time_ns(data.clock)
        if not self._clock_guard.accept(clock_ns * 1e-9):
            raise ValueError(f'/clock jumped to {clock_ns * 1e-9:.9g} s from {self._clock_guard.last} s: ignored')
        self._last_clock_ns = clock_ns
        self.recorder.note_time(clock_ns * 1e-9)
        # summary.json on SIM time as well: at 22x real time a 1 s wall period let it lag the bag by
        # ~20-35 s of drive after a kill -9 (the promise is about one summary_period of sim time)
        period_ns = self.params.snapshot.summary_period * 1e9
        if self._summary_clock_ns is None or clock_ns - self._summary_clock_ns >= period_ns:
            self._summary_clock_ns = clock_ns
            self.writer.json('summary', 'summary.json', self.summary())

    def _odometry(self, data: Any, log_ns: int) -> tuple[float, float, float, float, tuple[float, float, float, float]]:
        """Pose of an Odometry message and its time: the stamp, unless it is zero, negative, or more than
        MAX_STAMP_SKEW_S from the /clock (one pose stamped -2^31 s must not move the run's start by
        decades); then the log time. Before the first /clock (or without one: hardware) a positive
        stamp is trusted: the node clock may be the wall clock, which says nothing about sim stamps."""
        if isinstance(data, bytes):
            stamp_ns, x, y, z, q = cdr.odometry_pose(data)
        else:
            p, o = data.pose.pose.position, data.pose.pose.orientation
            stamp_ns, x, y, z, q = _time_ns(data.header.stamp), p.x, p.y, p.z, (o.x, o.y, o.z, o.w)
        clock = self._last_clock_ns
        plausible = stamp_ns > 0 and (clock is None or abs(stamp_ns - clock) <= MAX_STAMP_SKEW_S * 1e9)
        return (stamp_ns if plausible else log_ns) * 1e-9, x, y, z, q

    def _on_ground_truth(self, data: Any, log_ns: int) -> None:
        self._add_point(self.recorder.on_ground_truth(*self._odometry(data, log_ns)))

    def _on_odom(self, data: Any, log_ns: int) -> None:
        t, x, y, z, q = self._odometry(data, log_ns)
        if self._frames is not None and all(map(math.isfinite, (x, y, z, *q))) and sum(v * v for v in q) > 0.5:
            self._write_tf(log_ns, [self._frames.odom_transform(x, y, z, q)])
        self._add_point(self.recorder.on_odom(t, x, y, z, q))

    def _on_imu(self, data: Any, log_ns: int) -> None:
        if isinstance(data, bytes):
            q, cov0 = cdr.imu_orientation(data)
        else:
            o = data.orientation
            q, cov0 = (o.x, o.y, o.z, o.w), float(data.orientation_covariance[0])
        if cov0 == -1.0:
            return  # orientation not provided
        self.recorder.on_imu_tilt(tilt_deg_from_quaternion(*q))

    def _on_events(self, data: Any, log_ns: int) -> None:
        text = message_of(data, String).data
        self.recorder.on_event(*parse_event(text, log_ns * 1e-9))
        self._geo_dirty = True

    def _on_diagnostics(self, data: Any, log_ns: int) -> None:
        msg = message_of(data, DiagnosticArray)
        for status in msg.status:
            level = status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
            self.recorder.on_diagnostic(level, status.name, status.message, log_ns * 1e-9)

    # -- track ----------------------------------------------------------------------------
    def _add_point(self, point: TrackPoint | None) -> None:
        if point is None:
            return
        self.writer.row(csv_line(point))
        self._points.append(point)
        if len(self._points) > MAX_MEMORY_POINTS:
            self._points = decimate(self._points, MAX_MEMORY_POINTS // 2)
        self._geo_dirty = True
        frame = f"{self.params.snapshot.frame_prefix}{'odom' if point.source == 'odom' else 'world'}"
        pose = PoseStamped()
        pose.header.frame_id = frame
        pose.header.stamp.sec = int(math.floor(point.stamp))
        pose.header.stamp.nanosec = int((point.stamp - math.floor(point.stamp)) * 1e9) % 1_000_000_000
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = point.x, point.y, point.z
        pose.pose.orientation.z = math.sin(point.yaw / 2.0)
        pose.pose.orientation.w = math.cos(point.yaw / 2.0)
        self._poses.append(pose)
        self._trim_path(self.params.snapshot.max_path_poses)
        # A new Path every time: a published message is never changed afterwards (an in-process
        # subscriber may still hold it). The poses themselves are never changed once made.
        path = PathMsg()
        path.header.frame_id = frame
        path.header.stamp = pose.header.stamp
        path.poses = list(self._poses)
        self._path = path
        self._path_pub.publish(path)

    def _trim_path(self, max_poses: int) -> None:
        if len(self._poses) > max_poses:
            self._poses = decimate(self._poses, max_poses)

    # -- periodic output ------------------------------------------------------------------
    def _wall_time(self) -> float:
        if self._wall_first is None or self._wall_last is None:
            return 0.0
        return self._wall_last - self._wall_first

    def summary(self) -> dict[str, Any]:
        status = self.writer.status()
        snap = self.params.snapshot
        return self.recorder.summary(
            self._wall_time(), world=snap.world, output_dir=str(self.out_dir),
            origin={'lon_deg': snap.origin_lon_deg, 'lat_deg': snap.origin_lat_deg},
            recording={**recording_report(status),
                       'lost_in_transport': {t: n for t, n in sorted(self.lost_in_transport.items()) if n},
                       'before_first_clock': self._before_clock.report()})

    def _write_outputs(self) -> None:
        self.writer.json('summary', 'summary.json', self.summary())
        if self._geo_dirty:
            snap = self.params.snapshot
            self.writer.json('geojson', 'track.geojson', track_geojson(
                self._points, self.recorder.events, snap.world, snap.origin_lon_deg, snap.origin_lat_deg))
            self._geo_dirty = False

    def _periodic(self) -> None:
        if self._changed:
            self._changed = False
            self._write_outputs()

    def _report_health(self) -> None:
        status = self.writer.status()
        values = {'output_dir': str(self.out_dir), 'messages_written': status.messages_written,
                  'messages_dropped': status.messages_dropped, 'queue_depth': status.queue_depth,
                  'bag_files': status.bag_files, 'track_points': self.recorder.points}
        for sink, text in status.errors.items():
            if self._logged_errors.get(sink) != text:
                self.get_logger().error(f'cannot write {sink}: {text} (recording continues without it)')
        self._logged_errors = dict(status.errors)
        if status.errors:
            self.publish_diagnostic(DIAG_ERROR, describe_errors(status.errors), values)
        elif not status.alive:
            self.publish_diagnostic(DIAG_ERROR, 'writer thread stopped', values)
        elif status.messages_dropped:
            self.publish_diagnostic(DIAG_WARN, f'{status.messages_dropped} messages dropped (disk too slow)', values)
        else:
            self.publish_diagnostic(DIAG_OK, f'recording to {self.out_dir}', values)

    def on_shutdown(self) -> None:
        """Final track point, summary and GeoJSON; finish the bag (footer, metadata.yaml)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._add_point(self.recorder.finish())
        except Exception as exc:  # the context may be gone after SIGINT: the files matter more
            print(f'track_logger: final track point not published: {exc}', file=sys.stderr)
        if self._before_clock.active:  # on sim time and no /clock ever came: record what was held anyway
            try:
                self._release_held()
            except Exception as exc:
                print(f'track_logger: messages held for the first /clock not recorded: {exc}', file=sys.stderr)
        self._geo_dirty = True
        self.writer.sync()  # the summary's message count is then the bag's
        self._write_outputs()
        self.writer.close()
        status = self.writer.status()
        summary = self.summary()
        text = (f'drive summary: {summary["distance_m"]:.2f} m in {summary["sim_time_s"]:.1f} s sim, '
                f'{status.messages_written} messages in {self.out_dir / "bag"}')
        if status.errors:
            text += f'; errors: {describe_errors(status.errors)}'
        try:
            self.get_logger().info(text)
        except Exception:
            print(text, file=sys.stderr)


def main() -> None:
    sys.exit(run_node(TrackLoggerNode))


if __name__ == '__main__':
    main()
