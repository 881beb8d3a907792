"""Conformance check of a rosbag2 (MCAP) folder against what ROS 2 Jazzy's tools read.

Three independent readers judge every bag the tests write:
- the rosbag2 Jazzy rules, as `rosbag2_storage` decodes them (yaml.hpp, qos.cpp: metadata
  `version: 9`, `offered_qos_profiles` a YAML *list* of profiles with rmw policy names and
  {sec, nsec} durations; the same inside every MCAP file's `rosbag2` metadata record, and as a
  YAML string of that list in each channel's metadata, as rosbag2_storage_mcap writes them);
  counts and times in metadata.yaml must match the messages really stored;
- the third-party `rosbags` reader with its Jazzy type store: every message deserialises with
  the strict size check, and serialising it again gives our bytes exactly (zero padding,
  nothing after the last field: the bytes DDS carries and `ros2 bag record` stores);
- rclpy: where it has the type, `deserialize_message` reads our bytes, and its
  `serialize_message` of that message holds the same message in the same number of meaningful
  bytes (rmw_fastrtps returns a longer buffer with uninitialised padding, so equality is
  checked on what rosbags reads from it, up to where the message ends).
`check_bag` returns the violations as readable lines (empty = conformant).
"""

from __future__ import annotations

from functools import cache, lru_cache
import importlib
from pathlib import Path
from typing import Any

from mcap.reader import make_reader
import numpy as np
import yaml

HISTORY = {'system_default', 'keep_last', 'keep_all', 'unknown'}
RELIABILITY = {'system_default', 'reliable', 'best_effort', 'unknown', 'best_available'}
DURABILITY = {'system_default', 'transient_local', 'volatile', 'unknown', 'best_available'}
LIVELINESS = {'system_default', 'automatic', 'manual_by_topic', 'unknown', 'best_available'}
PROFILE_KEYS = ['history', 'depth', 'reliability', 'durability', 'deadline', 'lifespan', 'liveliness',
                'liveliness_lease_duration', 'avoid_ros_namespace_conventions']
METADATA_KEYS = {'version', 'storage_identifier', 'duration', 'starting_time', 'message_count',
                 'topics_with_message_count', 'compression_format', 'compression_mode', 'relative_file_paths',
                 'files', 'custom_data', 'ros_distro'}


@lru_cache(maxsize=1)
def jazzy_store() -> Any:
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_profiles(profiles: Any, where: str) -> list[str]:
    """rosbag2_storage `convert<std::vector<rclcpp::QoS>>::decode` for version 9."""
    if not isinstance(profiles, list):
        return [f'{where}: offered_qos_profiles must be a YAML sequence, got {type(profiles).__name__}']
    errors = []
    for i, p in enumerate(profiles):
        w = f'{where}[{i}]'
        if not isinstance(p, dict) or list(p) != PROFILE_KEYS:
            errors.append(f'{w}: keys {list(p) if isinstance(p, dict) else p!r} != {PROFILE_KEYS}')
            continue
        for key, allowed in (('history', HISTORY), ('reliability', RELIABILITY), ('durability', DURABILITY),
                             ('liveliness', LIVELINESS)):
            if p[key] not in allowed:
                errors.append(f'{w}: {key} {p[key]!r} is not an rmw policy name')
        if not _is_int(p['depth']) or p['depth'] < 0:
            errors.append(f'{w}: depth {p["depth"]!r}')
        for key in ('deadline', 'lifespan', 'liveliness_lease_duration'):
            d = p[key]
            if not (isinstance(d, dict) and set(d) == {'sec', 'nsec'} and _is_int(d['sec']) and _is_int(d['nsec'])
                    and d['sec'] >= 0 and 0 <= d['nsec'] < 1_000_000_000):
                errors.append(f'{w}: {key} {d!r} is not an rmw_time_t {{sec, nsec}}')
        if not isinstance(p['avoid_ros_namespace_conventions'], bool):
            errors.append(f'{w}: avoid_ros_namespace_conventions must be a bool')
    return errors


def check_metadata(info: Any, where: str) -> list[str]:
    """rosbag2_storage `convert<BagMetadata>::decode` (Jazzy), version 9: structure and types."""
    if not isinstance(info, dict):
        return [f'{where}: not a mapping']
    errors = []
    if missing := METADATA_KEYS - set(info):
        errors.append(f'{where}: missing {sorted(missing)}')
        return errors
    if info['version'] != 9:
        errors.append(f'{where}: version {info["version"]!r} != 9')
    if info['storage_identifier'] != 'mcap':
        errors.append(f'{where}: storage_identifier {info["storage_identifier"]!r}')
    if not (isinstance(info['duration'], dict) and _is_int(info['duration'].get('nanoseconds'))):
        errors.append(f'{where}: duration must be {{nanoseconds: int}}')
    if not (isinstance(info['starting_time'], dict)
            and _is_int(info['starting_time'].get('nanoseconds_since_epoch'))):
        errors.append(f'{where}: starting_time must be {{nanoseconds_since_epoch: int}}')
    if not _is_int(info['message_count']):
        errors.append(f'{where}: message_count must be an int')
    for key in ('compression_format', 'compression_mode', 'ros_distro'):
        if not isinstance(info[key], str):
            errors.append(f'{where}: {key} must be a string')
    if info['ros_distro'] != 'jazzy':
        errors.append(f'{where}: ros_distro {info["ros_distro"]!r}')
    custom = info['custom_data']
    if custom is not None and not (isinstance(custom, dict) and all(isinstance(v, str) for v in custom.values())):
        errors.append(f'{where}: custom_data must be null or a string map')
    if not (isinstance(info['relative_file_paths'], list) and all(isinstance(p, str)
                                                                   for p in info['relative_file_paths'])):
        errors.append(f'{where}: relative_file_paths must be a list of strings')
    files = info['files']
    if not isinstance(files, list):
        errors.append(f'{where}: files must be a list')
    else:
        for f in files:
            if not (isinstance(f, dict) and isinstance(f.get('path'), str) and _is_int(f.get('message_count'))
                    and _is_int((f.get('starting_time') or {}).get('nanoseconds_since_epoch'))
                    and _is_int((f.get('duration') or {}).get('nanoseconds'))):
                errors.append(f'{where}: malformed files entry {f!r}')
    topics = info['topics_with_message_count']
    if not isinstance(topics, list):
        return [*errors, f'{where}: topics_with_message_count must be a list']
    for t in topics:
        tm = t.get('topic_metadata') if isinstance(t, dict) else None
        if not isinstance(tm, dict) or not _is_int(t.get('message_count')):
            errors.append(f'{where}: malformed topic entry {t!r}')
            continue
        name = tm.get('name')
        for key in ('name', 'type', 'serialization_format', 'type_description_hash'):
            if not isinstance(tm.get(key), str):
                errors.append(f'{where}: topic {name}: {key} must be a string')
        if tm.get('serialization_format') != 'cdr':
            errors.append(f'{where}: topic {name}: serialization_format {tm.get("serialization_format")!r}')
        errors += check_profiles(tm.get('offered_qos_profiles'), f'{where}: topic {name}: offered_qos_profiles')
    return errors


@cache
def _rclpy_class(type_name: str) -> Any:
    pkg, _, name = type_name.split('/')
    try:
        return getattr(importlib.import_module(f'{pkg}.msg'), name)
    except (ImportError, AttributeError):
        return None


def _rosbags_bytes(msg: Any, type_name: str, fill: int) -> bytes:
    """rosbags' little-endian CDR of `msg` written into a buffer pre-filled with `fill`: the bytes it
    never writes (alignment padding) keep the fill, so two fills tell padding from data."""
    store = jazzy_store()
    msgdef = store.get_msgdef(type_name)
    size = 4 + msgdef.getsize_cdr(0, msg, store)
    raw = memoryview(bytearray([fill]) * size)
    raw[0:4] = b'\x00\x01\x00\x00'
    msgdef.serialize_cdr_le(raw[4:], 0, msg, store)
    return bytes(raw)


def compare_cdr(data: bytes, msg: Any, type_name: str, zero: bytes | None = None) -> tuple[str, int]:
    """(error, bytes of non-zero padding) of `data` against rosbags' serialisation of `msg`.

    Error when a data byte differs or the length does: the message must end where rosbags' ends,
    plus at most the XCDR padding to a multiple of 4 that DDS adds between processes. `zero`: the
    canonical bytes of `msg` (`_rosbags_bytes` with fill 0) when the caller has them already.
    """
    if zero is None:
        zero = _rosbags_bytes(msg, type_name, 0)
    ones = _rosbags_bytes(msg, type_name, 0xFF)
    if not len(zero) <= len(data) <= len(zero) + (-len(zero) % 4):
        return f'{len(data)} bytes stored, the message is {len(zero)} (+{-len(zero) % 4} alignment)', 0
    z, o = np.frombuffer(zero, np.uint8), np.frombuffer(ones, np.uint8)
    d = np.frombuffer(bytes(data), np.uint8)
    written = z == o  # bytes rosbags writes; the others are alignment padding
    head = d[:len(z)]
    garbage = int(np.count_nonzero(d[len(z):])) + int(np.count_nonzero(head[~written]))
    wrong = np.flatnonzero(written & (head != z))
    if wrong.size:
        i = int(wrong[0])
        return f'data byte {i} is {int(d[i]):#04x}, rosbags writes {int(z[i]):#04x}', garbage
    return '', garbage


def check_message_bytes(data: bytes, type_name: str, rclpy_check: bool = True,
                        strict_padding: bool = False) -> list[str]:
    """rosbags reads `data` strictly and writes the same message bytes back; rclpy agrees (see module doc).

    `strict_padding`: the alignment padding must be zero too and nothing may follow the message
    (what the logger's own serialisation guarantees; bytes received over DDS may carry whatever
    the publisher's buffer held there, which readers ignore).
    """
    store = jazzy_store()
    try:
        msg = store.deserialize_cdr(data, type_name)
    except Exception as exc:
        return [f'{type_name}: rosbags cannot deserialise {len(data)} bytes: {exc}']
    canonical = _rosbags_bytes(msg, type_name, 0)
    # the same bytes as rosbags writes, padding included, is the common case and needs no byte map
    error, garbage = ('', 0) if data == canonical else compare_cdr(data, msg, type_name, canonical)
    if error:
        return [f'{type_name}: {error}']
    if strict_padding and (garbage or len(data) != len(canonical)):
        return [f'{type_name}: {garbage} non-zero padding bytes or a padded tail (not the canonical bytes)']
    cls = _rclpy_class(type_name) if rclpy_check else None
    if cls is None:
        return []
    from rclpy.serialization import deserialize_message, serialize_message

    try:
        rmsg = deserialize_message(bytes(data), cls)
    except Exception as exc:
        return [f'{type_name}: rclpy cannot deserialise it: {exc}']
    raw = serialize_message(rmsg)
    if raw[:len(canonical)] == canonical:
        return []  # rclpy wrote the very bytes rosbags writes for what it read: the same message, ending there
    msgdef = store.get_msgdef(type_name)
    try:
        theirs, end = msgdef.deserialize_cdr_le(memoryview(raw)[4:], 0, msgdef.cls, store)
    except Exception as exc:
        return [f'{type_name}: rosbags cannot read rclpy serialize_message bytes: {exc}']
    error, _ = compare_cdr(data, theirs, type_name)
    if error or end + 4 > len(data):
        return [f'{type_name}: rclpy serialize_message of the same message differs: {error or "longer"}']
    return []


def _first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def check_mcap_file(path: Path) -> tuple[list[str], dict[str, int], list[int]]:
    """Records of one file: profile, footer, schemas, channel metadata, `rosbag2` metadata record.

    Returns (errors, messages per topic, log times).
    """
    errors: list[str] = []
    counts: dict[str, int] = {}
    times: list[int] = []
    with open(path, 'rb') as stream:
        try:
            reader = make_reader(stream)
            header = reader.get_header()
            summary = reader.get_summary()
        except Exception as exc:
            return [f'{path.name}: not a complete MCAP file (no footer/summary): {exc}'], counts, times
        if header.profile != 'ros2':
            errors.append(f'{path.name}: profile {header.profile!r} != ros2')
        if summary is None:
            return [*errors, f'{path.name}: no summary section'], counts, times
        for schema in summary.schemas.values():
            if schema.encoding != 'ros2msg' or schema.name.count('/') != 2:
                errors.append(f'{path.name}: schema {schema.name!r} encoding {schema.encoding!r}')
        for channel in summary.channels.values():
            where = f'{path.name}: channel {channel.topic}'
            if channel.message_encoding != 'cdr':
                errors.append(f'{where}: message encoding {channel.message_encoding!r}')
            if 'topic_type_hash' not in channel.metadata:
                errors.append(f'{where}: no topic_type_hash metadata')
            text = channel.metadata.get('offered_qos_profiles')
            if not isinstance(text, str):
                errors.append(f'{where}: no offered_qos_profiles metadata')
            else:
                try:
                    errors += check_profiles(yaml.safe_load(text) if text else [], f'{where}: offered_qos_profiles')
                except yaml.YAMLError as exc:
                    errors.append(f'{where}: offered_qos_profiles is not YAML: {exc}')
        records = [m for m in reader.iter_metadata() if m.name == 'rosbag2']
        if len(records) != 1:
            errors.append(f'{path.name}: {len(records)} rosbag2 metadata records (want 1)')
        for m in records:
            text = m.metadata.get('serialized_metadata', '')
            try:
                errors += check_metadata(yaml.safe_load(text), f'{path.name}: rosbag2 record')
            except yaml.YAMLError as exc:
                errors.append(f'{path.name}: rosbag2 record is not YAML: {exc}')
        for _schema, channel, message in reader.iter_messages(log_time_order=False):
            counts[channel.topic] = counts.get(channel.topic, 0) + 1
            times.append(message.log_time)
    return errors, counts, times


_PASSED: set[tuple[str, int, bool]] = set()  # (bag, metadata.yaml mtime, strict) already found conformant


def _key(bag_dir: Path, strict: bool) -> tuple[str, int, bool]:
    try:
        return (str(Path(bag_dir).resolve()), (Path(bag_dir) / 'metadata.yaml').stat().st_mtime_ns, strict)
    except OSError:
        return (str(bag_dir), -1, strict)


def check_bag(bag_dir: Path, rclpy_check: bool = True, strict_padding: bool = False) -> list[str]:
    """Every violation of the rules in the module docstring, as readable lines (empty = conformant)."""
    bag_dir = Path(bag_dir)
    if rclpy_check and (_key(bag_dir, True) in _PASSED or _key(bag_dir, strict_padding) in _PASSED):
        return []  # checked unchanged already (a test's own strict check, then the after-test one)
    errors = _check_bag(bag_dir, rclpy_check, strict_padding)
    if not errors and rclpy_check:
        _PASSED.add(_key(bag_dir, strict_padding))
    return errors


def _check_bag(bag_dir: Path, rclpy_check: bool, strict_padding: bool) -> list[str]:
    try:
        doc = yaml.safe_load((bag_dir / 'metadata.yaml').read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as exc:
        return [f'metadata.yaml unreadable: {exc}']
    info = doc.get('rosbag2_bagfile_information') if isinstance(doc, dict) else None
    errors = check_metadata(info, 'metadata.yaml')
    if errors:
        return errors
    counts: dict[str, int] = {}
    times: list[int] = []
    for entry, rel in zip(info['files'], info['relative_file_paths'], strict=False):
        if entry['path'] != rel:
            errors.append(f'metadata.yaml: files[].path {entry["path"]!r} != relative_file_paths {rel!r}')
    for rel, entry in zip(info['relative_file_paths'], info['files'], strict=False):
        file_errors, file_counts, file_times = check_mcap_file(bag_dir / rel)
        errors += file_errors
        if entry['message_count'] != len(file_times):
            errors.append(f'{rel}: metadata.yaml says {entry["message_count"]} messages, file has {len(file_times)}')
        if file_times and entry['starting_time']['nanoseconds_since_epoch'] != min(file_times):
            errors.append(f'{rel}: starting_time differs from the first log time')
        for topic, n in file_counts.items():
            counts[topic] = counts.get(topic, 0) + n
        times += file_times
    if len(info['files']) != len(info['relative_file_paths']):
        errors.append('metadata.yaml: files and relative_file_paths differ in length')
    declared = {t['topic_metadata']['name']: t['message_count'] for t in info['topics_with_message_count']}
    if sum(declared.values()) != info['message_count'] or info['message_count'] != len(times):
        errors.append(f'metadata.yaml: message_count {info["message_count"]}, topics sum to '
                      f'{sum(declared.values())}, files hold {len(times)}')
    for topic in set(declared) | set(counts):
        if declared.get(topic, 0) != counts.get(topic, 0):
            errors.append(f'{topic}: metadata.yaml says {declared.get(topic)} messages, '
                          f'files hold {counts.get(topic, 0)}')
    if times and (info['starting_time']['nanoseconds_since_epoch'] != min(times)
                  or info['duration']['nanoseconds'] != max(times) - min(times)):
        errors.append('metadata.yaml: starting_time/duration differ from the stored log times')
    if errors:
        return errors
    return errors + _check_with_rosbags(bag_dir, rclpy_check, strict_padding)


def _check_with_rosbags(bag_dir: Path, rclpy_check: bool, strict_padding: bool) -> list[str]:
    from rosbags.rosbag2 import Reader

    store = jazzy_store()
    errors: list[str] = []
    seen: dict[str, int] = {}
    with Reader(bag_dir) as reader:
        for conn in reader.connections:
            if conn.msgtype not in store.types:
                errors.append(f'{conn.topic}: type {conn.msgtype} is not in the Jazzy type store')
        if errors:
            return errors
        for conn, _t, data in reader.messages():
            seen[conn.topic] = seen.get(conn.topic, 0) + 1
            problems = check_message_bytes(data, conn.msgtype, rclpy_check, strict_padding)
            if problems:
                errors.append(f'{conn.topic} message {seen[conn.topic]}: {problems[0]}')
                if len(errors) >= 20:
                    errors.append('... (more)')
                    break
        for conn in reader.connections:
            if seen.get(conn.topic, 0) != conn.msgcount:
                errors.append(f'{conn.topic}: rosbags read {seen.get(conn.topic, 0)} of {conn.msgcount} messages')
    return errors


def assert_conformant(bag_dir: Path, strict_padding: bool = False) -> None:
    errors = check_bag(bag_dir, strict_padding=strict_padding)
    assert not errors, f'bag {bag_dir} does not conform to rosbag2 Jazzy:\n  ' + '\n  '.join(errors)


def check_torn_bag(bag_dir: Path) -> list[str]:
    """For a bag left unfinished on purpose: check a repaired copy (`track export --repair`'s result)."""
    import shutil
    import tempfile

    from rover_nav.tracklog.bag import repair_bag

    with tempfile.TemporaryDirectory(prefix='torn_bag_') as tmp:
        copy = Path(tmp) / 'bag'
        shutil.copytree(bag_dir, copy)
        repair_bag(copy)
        return check_bag(copy)
