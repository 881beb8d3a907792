"""Rebuild a drive's track, events and summary from its bag (`rover track export`).

Feeds the recorded ground truth, odometry, IMU, events, diagnostics and clock through the same
`TrackRecorder` the live logger uses, in log-time order, decoding with mcap-ros2-support (no
rclpy needed). Use it after a crash (the bag survives a SIGKILL; the CSV/GeoJSON are rebuilt) or
to re-sample a drive with other settings. Topic names are matched by their last part, so a
namespaced run (`/rover1/ground_truth`) works too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import math
from pathlib import Path
from typing import Any

from rover_nav.runtime.checks import stamp_seconds
from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog.files import CSV_HEADER, csv_line, track_geojson, write_json_atomic
from rover_nav.tracklog.geo import CHANGE4_LAT_DEG, CHANGE4_LON_DEG, tilt_deg_from_quaternion
from rover_nav.tracklog.recorder import EventRecord, TrackPoint, TrackRecorder, parse_event

_TRACK_TOPICS = ('ground_truth', 'odom', 'imu', 'events')


@dataclass
class Rebuilt:
    """The outcome of a replay: points, events, the summary and what reading the bag found."""

    points: list[TrackPoint] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    messages: int = 0
    files: list[bagmod.FileReport] = field(default_factory=list)


def _kind(topic: str) -> str | None:
    if topic in ('/clock', '/diagnostics'):
        return topic[1:]
    last = topic.rsplit('/', 1)[-1]
    return last if last in _TRACK_TOPICS else None


def replay_bag(bag_dir: Path, sample_distance_m: float = 0.05, sample_heading_deg: float = 5.0,
               source: str = 'auto', wall_time_s: float = 0.0, **summary_extra: Any) -> Rebuilt:
    """Run the bag's messages through a fresh TrackRecorder; returns points, events, summary."""
    out = Rebuilt()
    selected: list[tuple[int, int, str, bagmod.BagMessage]] = []
    for i, msg in enumerate(bagmod.read_bag(Path(bag_dir), out.files)):
        out.messages += 1
        kind = _kind(msg.topic)
        if kind is not None:
            selected.append((msg.log_ns, i, kind, msg))
    selected.sort(key=lambda item: (item[0], item[1]))
    rec = TrackRecorder(sample_distance_m, math.radians(sample_heading_deg), source=source)
    decoders: dict[tuple[str, bytes], Any] = {}
    clock_s: float | None = None
    for log_ns, _i, kind, msg in selected:
        key = (msg.schema.name, msg.schema.data)
        decode = decoders.get(key)
        if decode is None:
            decode = decoders[key] = bagmod.decoder_for(msg.schema)
        try:
            m = decode(msg.data)
            if kind == 'clock':
                clock_s = stamp_seconds(m.clock)
                rec.note_time(clock_s)
            elif kind in ('ground_truth', 'odom'):
                t = stamp_seconds(m.header.stamp) or (clock_s if clock_s is not None else log_ns * 1e-9)
                p, q = m.pose.pose.position, m.pose.pose.orientation
                feed = rec.on_ground_truth if kind == 'ground_truth' else rec.on_odom
                point = feed(t, p.x, p.y, p.z, (q.x, q.y, q.z, q.w))
                if point is not None:
                    out.points.append(point)
            elif kind == 'imu':
                if m.orientation_covariance[0] != -1.0:
                    q = m.orientation
                    rec.on_imu_tilt(tilt_deg_from_quaternion(q.x, q.y, q.z, q.w))
            elif kind == 'events':
                rec.on_event(*parse_event(m.data, log_ns * 1e-9))
            elif kind == 'diagnostics':
                for status in m.status:
                    level = status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
                    rec.on_diagnostic(level, status.name, status.message, log_ns * 1e-9)
        except (ValueError, TypeError, AttributeError, IndexError):
            continue  # the live logger rejected the same message
    final = rec.finish()
    if final is not None:
        out.points.append(final)
    out.events = list(rec.events)
    out.summary = rec.summary(wall_time_s, **summary_extra)
    return out


def export_run(run_dir: Path, out_dir: Path | None = None, write_summary: bool = False,
               sample_distance_m: float = 0.05, sample_heading_deg: float = 5.0) -> Rebuilt:
    """Rebuild track.csv and track.geojson (and summary.json if asked) of a run from its bag."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    old: dict[str, Any] = {}
    if (run_dir / 'summary.json').is_file():
        try:
            old = json.loads((run_dir / 'summary.json').read_text(encoding='utf-8'))
        except ValueError:
            old = {}
    origin = old.get('origin') or {}
    lon = float(origin.get('lon_deg', CHANGE4_LON_DEG))
    lat = float(origin.get('lat_deg', CHANGE4_LAT_DEG))
    world = str(old.get('world', ''))
    rebuilt = replay_bag(run_dir / 'bag', sample_distance_m, sample_heading_deg,
                         wall_time_s=float(old.get('wall_time_s') or 0.0), world=world, output_dir=str(run_dir),
                         origin={'lon_deg': lon, 'lat_deg': lat}, rebuilt_from_bag=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / '.track.csv.tmp'
    tmp.write_text(CSV_HEADER + ''.join(csv_line(p) for p in rebuilt.points), encoding='utf-8')
    tmp.replace(out_dir / 'track.csv')
    write_json_atomic(out_dir / 'track.geojson', track_geojson(rebuilt.points, rebuilt.events, world, lon, lat))
    if write_summary:
        write_json_atomic(out_dir / 'summary.json', rebuilt.summary)
    return rebuilt
