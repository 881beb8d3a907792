"""A rosbag2 directory in MCAP storage, written the way `ros2 bag record -s mcap` (Jazzy) does.

What mcap-ros2-support's `Writer` leaves out, and this writer adds:
- channel metadata `offered_qos_profiles` (the publishers' QoS as rosbag2's YAML, so `ros2 bag play`
  re-offers transient-local for latched topics) and `topic_type_hash` (RIHS01);
- the `rosbag2` metadata record (`serialized_metadata`, the bag metadata as YAML) in every file;
- the bag folder's `metadata.yaml` (version 9: files, per-topic counts, durations, ros_distro),
  which `ros2 bag info/play` read, and splitting into `bag_<n>.mcap` files by size;
- the full `ros2msg` schema text (see `msgdefs`), schema names `pkg/msg/Type`;
- log time = the message's sim time instead of the wall clock;
- chunks closed at least every `flush_period` (wall or log time), so a killed recorder loses at
  most that much; the reader here (`read_bag`) recovers every complete chunk of a torn file.

Messages are stored as the CDR bytes received (no re-encoding). Pure Python (mcap only); errors
from the file system propagate as OSError for the caller to report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import struct
import time
from typing import Any

from mcap.exceptions import McapError
from mcap.records import Channel, Message, Schema
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType
from mcap.writer import Writer as McapWriter
import yaml

from rover_nav.tracklog import msgdefs

METADATA_VERSION = 9
ROS_DISTRO = 'jazzy'
COMPRESSIONS = {'none': CompressionType.NONE, 'zstd': CompressionType.ZSTD, 'lz4': CompressionType.LZ4}
#: When set (the test suite does), every bag folder a BagWriter starts is appended to this file, so
#: the tests can check each bag written anywhere, in any process, for conformance.
AUDIT_ENV = 'ROVER_BAG_AUDIT'
#: rmw's "infinite" duration as rosbag2 writes it (sec, nsec).
INFINITE = {'sec': 9223372036, 'nsec': 854775807}
_HISTORY = {0: 'system_default', 1: 'keep_last', 2: 'keep_all', 3: 'unknown'}
_RELIABILITY = {0: 'system_default', 1: 'reliable', 2: 'best_effort', 3: 'unknown', 4: 'best_available'}
_DURABILITY = {0: 'system_default', 1: 'transient_local', 2: 'volatile', 3: 'unknown', 4: 'best_available'}
#: rmw has no name for the deprecated MANUAL_BY_NODE (2): rosbag2 could not read it back, so 'unknown'.
_LIVELINESS = {0: 'system_default', 1: 'automatic', 3: 'manual_by_topic', 4: 'unknown', 5: 'best_available'}


@dataclass(frozen=True)
class QosOffer:
    """One publisher's offered QoS, as plain values (enum ints as rmw numbers, durations in ns)."""

    history: int = 1
    depth: int = 10
    reliability: int = 1
    durability: int = 2
    deadline_ns: int | None = None  # None = infinite/default
    lifespan_ns: int | None = None
    liveliness: int = 1
    liveliness_lease_ns: int | None = None
    avoid_ros_namespace_conventions: bool = False


def _duration(ns: int | None) -> dict[str, int]:
    """rmw_time_t as rosbag2 writes it; None or out of range = infinite, 0 = unspecified {0, 0}."""
    if ns is None or ns < 0 or ns >= 9223372036854775807:
        return dict(INFINITE)
    return {'sec': ns // 1_000_000_000, 'nsec': ns % 1_000_000_000}


def qos_profiles(offers: Sequence[QosOffer]) -> list[dict[str, Any]]:
    """rosbag2's `offered_qos_profiles` (metadata version 9: policy names, not numbers), as a list.

    The keys and their order are rosbag2_storage's `convert<rclcpp::QoS>::encode` (Jazzy, qos.cpp);
    durations are rmw_time_t {sec, nsec}.
    """
    return [{
        'history': _HISTORY.get(q.history, 'unknown'),
        'depth': int(q.depth),
        'reliability': _RELIABILITY.get(q.reliability, 'unknown'),
        'durability': _DURABILITY.get(q.durability, 'unknown'),
        'deadline': _duration(q.deadline_ns),
        'lifespan': _duration(q.lifespan_ns),
        'liveliness': _LIVELINESS.get(q.liveliness, 'unknown'),
        'liveliness_lease_duration': _duration(q.liveliness_lease_ns),
        'avoid_ros_namespace_conventions': bool(q.avoid_ros_namespace_conventions),
    } for q in offers]


def qos_yaml(profiles: list[dict[str, Any]]) -> str:
    """The profile list as the YAML string rosbag2's MCAP plugin stores in channel metadata."""
    return yaml.safe_dump(profiles, sort_keys=False, default_flow_style=False)


def parse_qos_yaml(text: str) -> list[dict[str, Any]]:
    """Channel metadata `offered_qos_profiles` back to a profile list ([] when absent or unreadable)."""
    try:
        profiles = yaml.safe_load(text) if text else []
    except yaml.YAMLError:
        return []
    return [p for p in profiles if isinstance(p, dict)] if isinstance(profiles, list) else []


@dataclass
class TopicInfo:
    """A recorded topic: name, type, the QoS profiles its publishers offered, schema text and hash."""

    name: str
    type: str
    offered_qos_profiles: list[dict[str, Any]] = field(default_factory=list)
    definition: str = ''
    type_hash: str = ''
    message_count: int = 0

    @classmethod
    def for_type(cls, name: str, type_name: str, offers: Sequence[QosOffer]) -> TopicInfo:
        return cls(name, type_name, qos_profiles(offers), msgdefs.full_definition(type_name),
                   msgdefs.type_hash(type_name))


@dataclass
class _FileInfo:
    path: str
    start_ns: int | None = None
    end_ns: int | None = None
    count: int = 0


@dataclass
class _OpenFile:
    info: _FileInfo
    stream: Any
    writer: McapWriter
    schemas: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    pending: int = 0  # messages since the last flush
    pending_bytes: int = 0  # their payload size (the open chunk, uncompressed)
    topic_counts: Counter[str] = field(default_factory=Counter)  # this file's messages per topic

    def writer_pending_bytes(self) -> int:
        return self.pending_bytes


def header_stamp_ns(data: bytes) -> int | None:
    """The leading builtin_interfaces/Time (header.stamp, Clock.clock) of CDR bytes, in ns.

    CDR: 4-byte encapsulation header (byte 1: 1 = little endian), then int32 sec, uint32 nanosec.
    Returns None when the data is too short; callers only use it for types that start with a stamp.
    """
    if len(data) < 12:
        return None
    endian = '<' if data[1] & 1 else '>'
    sec: int
    nanosec: int
    sec, nanosec = struct.unpack_from(endian + 'iI', data, 4)
    return sec * 1_000_000_000 + nanosec


def _note_for_audit(bag_dir: Path) -> None:
    audit = os.environ.get(AUDIT_ENV)
    if audit:
        with contextlib.suppress(OSError), open(audit, 'a', encoding='utf-8') as out:
            out.write(f'{bag_dir.absolute()}\n')


class BagWriter:
    """Writes a rosbag2 MCAP bag into `bag_dir`: bag_0.mcap, bag_1.mcap, ... and metadata.yaml."""

    def __init__(self, bag_dir: Path, split_size_bytes: int = 100 * 1024 * 1024, compression: str = 'zstd',
                 chunk_size_bytes: int = 256 * 1024, flush_period_s: float = 0.5,
                 library: str = 'rover_testbed track_logger') -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f'compression must be one of {sorted(COMPRESSIONS)}, got {compression!r}')
        if split_size_bytes < 1024:
            raise ValueError(f'split_size_bytes must be >= 1024, got {split_size_bytes}')
        if flush_period_s <= 0:
            raise ValueError(f'flush_period_s must be > 0, got {flush_period_s}')
        self.bag_dir = Path(bag_dir)
        self.name = 'bag'
        self.split_size = split_size_bytes
        self.compression = compression
        self.chunk_size = max(1024, min(chunk_size_bytes, split_size_bytes // 4))
        self.flush_period_s = flush_period_s
        self.library = library
        self.topics: dict[str, TopicInfo] = {}
        self.files: list[_FileInfo] = []
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.message_count = 0
        self._file: _OpenFile | None = None
        self._next_index = 0
        self._last_flush_wall = time.monotonic()
        self._last_flush_log: int | None = None
        self._metadata_dirty = True
        _note_for_audit(self.bag_dir)

    # -- set-up ---------------------------------------------------------------------------
    def add_topic(self, topic: TopicInfo) -> None:
        """Declare a topic before its first message (re-declaring keeps the first)."""
        if topic.name not in self.topics:
            self.topics[topic.name] = topic
            self._metadata_dirty = True

    def _open_next(self) -> _OpenFile:
        self.bag_dir.mkdir(parents=True, exist_ok=True)
        rel = f'{self.name}_{self._next_index}.mcap'
        self._next_index += 1
        stream = open(self.bag_dir / rel, 'wb')  # noqa: SIM115 - closed in _finish_file/abandon
        try:
            writer = McapWriter(stream, chunk_size=self.chunk_size, compression=COMPRESSIONS[self.compression])
            writer.start(profile='ros2', library=self.library)
            stream.flush()
        except Exception:
            stream.close()
            raise
        info = _FileInfo(rel)
        self.files.append(info)
        self._file = _OpenFile(info, stream, writer)
        self._metadata_dirty = True
        self.write_metadata_yaml()
        return self._file

    def _channel(self, f: _OpenFile, topic: TopicInfo) -> int:
        channel_id = f.channels.get(topic.name)
        if channel_id is not None:
            return channel_id
        schema_id = f.schemas.get(topic.type)
        if schema_id is None:
            schema_id = f.writer.register_schema(topic.type, 'ros2msg', topic.definition.encode('utf-8'))
            f.schemas[topic.type] = schema_id
        channel_id = f.writer.register_channel(
            topic.name, 'cdr', schema_id,
            metadata={'offered_qos_profiles': qos_yaml(topic.offered_qos_profiles),
                      'topic_type_hash': topic.type_hash})
        f.channels[topic.name] = channel_id
        return channel_id

    # -- writing --------------------------------------------------------------------------
    def write(self, topic_name: str, data: bytes, log_ns: int, publish_ns: int | None = None,
              sequence: int = 0) -> None:
        """Append one serialized message; flushes and splits as configured."""
        topic = self.topics.get(topic_name)
        if topic is None:
            raise KeyError(f'topic {topic_name!r} was not declared with add_topic')
        f = self._file or self._open_next()
        channel_id = self._channel(f, topic)
        f.writer.add_message(channel_id=channel_id, log_time=log_ns, data=data,
                             publish_time=log_ns if publish_ns is None else publish_ns, sequence=sequence)
        f.pending += 1
        f.pending_bytes += len(data) + 32
        f.topic_counts[topic_name] += 1
        info = f.info
        info.count += 1
        info.start_ns = log_ns if info.start_ns is None else min(info.start_ns, log_ns)
        info.end_ns = log_ns if info.end_ns is None else max(info.end_ns, log_ns)
        topic.message_count += 1
        self.message_count += 1
        self.start_ns = log_ns if self.start_ns is None else min(self.start_ns, log_ns)
        self.end_ns = log_ns if self.end_ns is None else max(self.end_ns, log_ns)
        self._metadata_dirty = True
        if self._last_flush_log is None:
            self._last_flush_log = log_ns
        if log_ns - self._last_flush_log >= self.flush_period_s * 1e9:
            self.flush()  # may split
        elif f.stream.tell() + f.writer_pending_bytes() >= self.split_size:
            self.flush()

    def maybe_flush(self) -> None:
        """Close the open chunk if `flush_period_s` of wall time has passed (call it often)."""
        if time.monotonic() - self._last_flush_wall >= self.flush_period_s:
            self.flush()

    def flush(self) -> None:
        """Close the open chunk and push it to the OS (a SIGKILL after this loses nothing)."""
        self._last_flush_wall = time.monotonic()
        self._last_flush_log = self.end_ns
        f = self._file
        if f is not None and f.pending:
            f.writer.flush()
            f.pending = 0
            f.pending_bytes = 0
            if f.stream.tell() >= self.split_size:
                self.split()

    def split(self) -> None:
        """Finish the current file; the next message opens bag_<n+1>.mcap."""
        self._finish_file()

    def _finish_file(self) -> None:
        f = self._file
        if f is None:
            return
        self._file = None
        try:
            # what rosbag2_storage_mcap (Jazzy) writes: the BagMetadata node, without the
            # `rosbag2_bagfile_information` wrapper of metadata.yaml
            f.writer.add_metadata('rosbag2', {'serialized_metadata': yaml.safe_dump(
                self.metadata()['rosbag2_bagfile_information'], sort_keys=False)})
            f.writer.finish()
        finally:
            f.stream.close()
        self.write_metadata_yaml()

    def abandon_file(self) -> int:
        """Drop the current file after a write error (it stays readable up to its last whole chunk).

        What a write error left on disk is not what was handed to the writer (a buffered stream
        fails later than the write that filled the disk), so the file is read back: the counts
        (metadata.yaml, summary) are then exactly what a reader recovers. Returns how many of the
        file's messages were lost.
        """
        f = self._file
        self._file = None
        if f is None:
            return 0
        with contextlib.suppress(OSError):
            f.stream.close()
        readable: Counter[str] = Counter(m.topic for m in iter_file(self.bag_dir / f.info.path))
        lost = f.info.count - sum(readable.values())
        if lost:
            f.info.count -= lost
            self.message_count -= lost
            for name, n in f.topic_counts.items():
                self.topics[name].message_count -= n - readable.get(name, 0)
            self._metadata_dirty = True
        return lost

    def close(self) -> None:
        """Finish the open file and write the final metadata.yaml."""
        self._finish_file()
        self.write_metadata_yaml(force=True)

    @property
    def current_file_bytes(self) -> int:
        return self._file.stream.tell() if self._file is not None else 0

    # -- metadata.yaml --------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """The bag metadata (rosbag2 version 9 layout)."""
        start = self.start_ns or 0
        duration = (self.end_ns - self.start_ns) if self.start_ns is not None and self.end_ns is not None else 0
        return {'rosbag2_bagfile_information': {
            'version': METADATA_VERSION,
            'storage_identifier': 'mcap',
            'duration': {'nanoseconds': duration},
            'starting_time': {'nanoseconds_since_epoch': start},
            'message_count': self.message_count,
            'topics_with_message_count': [
                {'topic_metadata': {'name': t.name, 'type': t.type, 'serialization_format': 'cdr',
                                    'offered_qos_profiles': t.offered_qos_profiles,
                                    'type_description_hash': t.type_hash},
                 'message_count': t.message_count}
                for t in self.topics.values()],
            'compression_format': '',
            'compression_mode': '',
            'relative_file_paths': [f.path for f in self.files],
            'files': [{'path': f.path, 'starting_time': {'nanoseconds_since_epoch': f.start_ns or 0},
                       'duration': {'nanoseconds': (f.end_ns - f.start_ns) if f.start_ns is not None
                                    and f.end_ns is not None else 0},
                       'message_count': f.count} for f in self.files],
            'custom_data': None,
            'ros_distro': ROS_DISTRO,
        }}

    def write_metadata_yaml(self, force: bool = False) -> None:
        """Atomically rewrite metadata.yaml when something changed (or when forced)."""
        if not (force or self._metadata_dirty):
            return
        self.bag_dir.mkdir(parents=True, exist_ok=True)
        path = self.bag_dir / 'metadata.yaml'
        tmp = self.bag_dir / '.metadata.yaml.tmp'
        try:
            with open(tmp, 'w', encoding='utf-8') as out:
                yaml.safe_dump(self.metadata(), out, sort_keys=False, default_flow_style=False)
            os.replace(tmp, path)
        except OSError:  # disk full: no half-written temporary file left behind
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._metadata_dirty = False


# -- reading ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BagMessage:
    """One stored message: topic, type, log time (ns) and its CDR bytes."""

    topic: str
    type: str
    log_ns: int
    data: bytes
    schema: Schema
    channel: Channel


@dataclass
class FileReport:
    """What reading one file found: messages, and whether it ended cleanly (footer) or was torn."""

    path: Path
    messages: int = 0
    complete: bool = False
    error: str = ''


def bag_files(bag_dir: Path) -> list[Path]:
    """The MCAP files of a bag, in metadata.yaml order (or by index when metadata.yaml is missing)."""
    meta = bag_dir / 'metadata.yaml'
    if meta.is_file():
        try:
            info = yaml.safe_load(meta.read_text(encoding='utf-8'))['rosbag2_bagfile_information']
            files = [bag_dir / p for p in info.get('relative_file_paths', [])]
            if files:
                extra = sorted(set(bag_dir.glob('*.mcap')) - set(files), key=_file_index)
                return [p for p in files if p.is_file()] + extra
        except (yaml.YAMLError, KeyError, TypeError):
            pass
    return sorted(bag_dir.glob('*.mcap'), key=_file_index)


def _file_index(path: Path) -> tuple[int, str]:
    stem = path.stem.rsplit('_', 1)
    return (int(stem[1]) if len(stem) == 2 and stem[1].isdigit() else 1 << 30, path.name)


def iter_file(path: Path, report: FileReport | None = None) -> Iterator[BagMessage]:
    """Messages of one MCAP file in file order, tolerating a torn end (SIGKILL, disk full).

    Reads records sequentially; a truncated last record ends the file quietly (noted in `report`).
    """
    report = report or FileReport(path)
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    with open(path, 'rb') as stream:
        try:
            for record in StreamReader(stream, record_size_limit=1 << 30).records:
                if isinstance(record, Schema):
                    schemas[record.id] = record
                elif isinstance(record, Channel):
                    channels[record.id] = record
                elif isinstance(record, Message):
                    channel = channels.get(record.channel_id)
                    if channel is None:
                        continue
                    schema = schemas.get(channel.schema_id)
                    if schema is None:
                        continue
                    report.messages += 1
                    yield BagMessage(channel.topic, schema.name, record.log_time, record.data, schema, channel)
            report.complete = True
        except (McapError, struct.error, EOFError, ValueError, OSError, Exception) as exc:  # torn tail: keep the rest
            report.error = f'{type(exc).__name__}: {exc}' if str(exc) else type(exc).__name__


def read_bag(bag_dir: Path, reports: list[FileReport] | None = None) -> Iterator[BagMessage]:
    """Every message of a bag folder, file after file (each file in file order)."""
    for path in bag_files(Path(bag_dir)):
        report = FileReport(path)
        if reports is not None:
            reports.append(report)
        yield from iter_file(path, report)


def load_metadata(bag_dir: Path) -> dict[str, Any]:
    """metadata.yaml's `rosbag2_bagfile_information` dict."""
    data = yaml.safe_load((Path(bag_dir) / 'metadata.yaml').read_text(encoding='utf-8'))
    info: dict[str, Any] = data['rosbag2_bagfile_information']
    return info


def decoder_for(schema: Schema) -> Any:
    """A function bytes -> decoded message object (mcap-ros2-support's dynamic CDR decoder)."""
    from mcap_ros2._dynamic import generate_dynamic

    return generate_dynamic(schema.name, schema.data.decode('utf-8'))[schema.name]


def repair_bag(bag_dir: Path, compression: str = 'zstd') -> list[FileReport]:
    """Make a killed recorder's bag whole again: rewrite torn files, rebuild metadata.yaml.

    A file without a footer (SIGKILL, power cut, disk full) is rewritten with every message that
    was recoverable, its schemas, channels (with their QoS metadata), indexes, summary and the
    `rosbag2` metadata record, via a temporary file and a rename. metadata.yaml is rebuilt from
    the files (counts, times, topics), so `ros2 bag info/play` and Foxglove open it like a cleanly
    closed bag. Returns what was found per file (`complete` as found, before the repair).
    """
    bag_dir = Path(bag_dir)
    rebuilt = BagWriter(bag_dir, compression=compression)
    reports: list[FileReport] = []
    for path in bag_files(bag_dir):  # first pass: what every file holds (metadata for the record)
        report = FileReport(path)
        reports.append(report)
        info = _FileInfo(path.name)
        rebuilt.files.append(info)
        for m in iter_file(path, report):
            topic = rebuilt.topics.get(m.topic)
            if topic is None:
                topic = rebuilt.topics[m.topic] = TopicInfo(
                    m.topic, m.type, parse_qos_yaml(m.channel.metadata.get('offered_qos_profiles', '')),
                    m.schema.data.decode('utf-8', errors='replace'), m.channel.metadata.get('topic_type_hash', ''))
            topic.message_count += 1
            info.count += 1
            info.start_ns = m.log_ns if info.start_ns is None else min(info.start_ns, m.log_ns)
            info.end_ns = m.log_ns if info.end_ns is None else max(info.end_ns, m.log_ns)
            rebuilt.message_count += 1
            rebuilt.start_ns = m.log_ns if rebuilt.start_ns is None else min(rebuilt.start_ns, m.log_ns)
            rebuilt.end_ns = m.log_ns if rebuilt.end_ns is None else max(rebuilt.end_ns, m.log_ns)
    record = {'serialized_metadata': yaml.safe_dump(rebuilt.metadata()['rosbag2_bagfile_information'],
                                                    sort_keys=False)}
    for report in reports:  # second pass: rewrite the torn ones
        if report.complete:
            continue
        path = report.path
        tmp = path.with_name(f'.{path.name}.tmp')
        with open(tmp, 'wb') as stream:
            writer = McapWriter(stream, compression=COMPRESSIONS[compression])
            writer.start(profile='ros2', library='rover_testbed track export --repair')
            schema_ids: dict[int, int] = {}
            channel_ids: dict[int, int] = {}
            for m in iter_file(path):
                if m.schema.id not in schema_ids:
                    schema_ids[m.schema.id] = writer.register_schema(m.schema.name, m.schema.encoding, m.schema.data)
                if m.channel.id not in channel_ids:
                    channel_ids[m.channel.id] = writer.register_channel(
                        m.channel.topic, m.channel.message_encoding, schema_ids[m.schema.id],
                        metadata=dict(m.channel.metadata))
                writer.add_message(channel_id=channel_ids[m.channel.id], log_time=m.log_ns, data=m.data,
                                   publish_time=m.log_ns)
            writer.add_metadata('rosbag2', record)
            writer.finish()
        os.replace(tmp, path)
    rebuilt.write_metadata_yaml(force=True)
    return reports
