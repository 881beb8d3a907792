"""rosbag2 MCAP writer: schema text, channel QoS metadata, metadata.yaml, splitting, torn files."""

from __future__ import annotations

from pathlib import Path
import shutil

from geometry_msgs.msg import TwistStamped
from hypothesis import given, settings
from hypothesis import strategies as st
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from nav_msgs.msg import Odometry
import pytest
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool, String
import yaml

from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog.bag import BagWriter, QosOffer, TopicInfo, header_stamp_ns, qos_profiles, qos_yaml
from rover_nav.tracklog.cdr_encode import serialize as serialize_message

NS = 1_000_000_000


def odom(t_ns: int, x: float) -> bytes:
    m = Odometry()
    m.header.stamp.sec, m.header.stamp.nanosec = divmod(t_ns, NS)
    m.header.frame_id = 'world'
    m.child_frame_id = 'base_link'
    m.pose.pose.position.x = x
    m.pose.pose.orientation.w = 1.0
    return serialize_message(m)


def write_drive(bag_dir: Path, n: int = 200, split: int = 100 * 1024 * 1024, **kw) -> BagWriter:
    w = BagWriter(bag_dir, split_size_bytes=split, **kw)
    w.add_topic(TopicInfo.for_type('/ground_truth', 'nav_msgs/msg/Odometry', [QosOffer(depth=10)]))
    w.add_topic(TopicInfo.for_type('/estop', 'std_msgs/msg/Bool', [QosOffer(depth=1, durability=1)]))
    w.add_topic(TopicInfo.for_type('/clock', 'rosgraph_msgs/msg/Clock', [QosOffer(depth=1, reliability=2)]))
    for i in range(n):
        t = 5 * NS + i * NS // 20
        c = Clock()
        c.clock.sec, c.clock.nanosec = divmod(t, NS)
        w.write('/clock', serialize_message(c), t)
        w.write('/ground_truth', odom(t, 0.01 * i), t)
        if i % 50 == 0:
            w.write('/estop', serialize_message(Bool(data=i == 100)), t)
    return w


def test_clean_bag_reads_with_mcap_and_decodes_every_message(tmp_path):
    w = write_drive(tmp_path / 'bag')
    w.close()
    mcap_path = tmp_path / 'bag' / 'bag_0.mcap'
    with open(mcap_path, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == 'ros2'
        summary = reader.get_summary()
        assert summary.statistics.message_count == 200 + 200 + 4
        schemas = {s.name: s for s in summary.schemas.values()}
        assert set(schemas) == {'nav_msgs/msg/Odometry', 'std_msgs/msg/Bool', 'rosgraph_msgs/msg/Clock'}
        assert all(s.encoding == 'ros2msg' for s in schemas.values())
        assert 'MSG: geometry_msgs/PoseWithCovariance' in schemas['nav_msgs/msg/Odometry'].data.decode()
        channels = {c.topic: c for c in summary.channels.values()}
        estop_qos = yaml.safe_load(channels['/estop'].metadata['offered_qos_profiles'])
        assert estop_qos[0]['durability'] == 'transient_local' and estop_qos[0]['depth'] == 1
        assert channels['/ground_truth'].metadata['topic_type_hash'].startswith('RIHS01_')
        xs = []
        for _schema, channel, message, decoded in reader.iter_decoded_messages():
            if channel.topic == '/ground_truth':
                assert message.log_time == decoded.header.stamp.sec * NS + decoded.header.stamp.nanosec
                xs.append(decoded.pose.pose.position.x)
        assert xs == pytest.approx([0.01 * i for i in range(200)])
        meta = [m for m in reader.iter_metadata() if m.name == 'rosbag2']
        assert meta and yaml.safe_load(meta[0].metadata['serialized_metadata'])['message_count'] == 404


def test_metadata_yaml_is_rosbag2_version_9(tmp_path):
    w = write_drive(tmp_path / 'bag')
    w.close()
    info = bagmod.load_metadata(tmp_path / 'bag')
    assert info['version'] == 9 and info['storage_identifier'] == 'mcap' and info['ros_distro'] == 'jazzy'
    assert info['relative_file_paths'] == ['bag_0.mcap']
    assert info['message_count'] == 404
    assert info['starting_time']['nanoseconds_since_epoch'] == 5 * NS
    assert info['duration']['nanoseconds'] == 199 * NS // 20
    topics = {t['topic_metadata']['name']: t for t in info['topics_with_message_count']}
    assert topics['/ground_truth']['message_count'] == 200
    tm = topics['/ground_truth']['topic_metadata']
    assert tm['type'] == 'nav_msgs/msg/Odometry' and tm['serialization_format'] == 'cdr'
    # version 9: a YAML list of profiles (rosbag2_storage yaml.hpp), not the string of versions 4-8
    assert isinstance(tm['offered_qos_profiles'], list)
    assert tm['offered_qos_profiles'][0]['reliability'] == 'reliable'
    assert info['files'][0]['message_count'] == 404


def test_split_by_size_keeps_every_message(tmp_path):
    w = write_drive(tmp_path / 'bag', n=600, split=20 * 1024, compression='none', chunk_size_bytes=4096)
    w.close()
    files = bagmod.bag_files(tmp_path / 'bag')
    assert len(files) >= 3
    info = bagmod.load_metadata(tmp_path / 'bag')
    assert info['relative_file_paths'] == [p.name for p in files]
    assert sum(f['message_count'] for f in info['files']) == info['message_count'] == 600 * 2 + 12
    for path in files:  # every file stands alone: schemas and channels repeated
        with open(path, 'rb') as f:
            reader = make_reader(f, decoder_factories=[DecoderFactory()])
            assert sum(1 for _ in reader.iter_decoded_messages()) > 0
            assert path.stat().st_size < 20 * 1024 + 16 * 1024  # + one chunk + the summary (schemas repeated)
    msgs = list(bagmod.read_bag(tmp_path / 'bag'))
    assert len(msgs) == 1212


@pytest.mark.torn_bags
def test_unfinished_bag_is_readable_up_to_the_last_flush(tmp_path):
    w = write_drive(tmp_path / 'bag', n=100)
    w.flush()
    flushed = w.message_count
    t = 5 * NS + 99 * NS // 20 + 1000  # within flush_period: stays in the open chunk, lost if killed now
    w.write('/ground_truth', odom(t, 9.9), t)
    w._file.stream.flush()  # what the OS has at SIGKILL (the open chunk lives in memory)
    reports: list[bagmod.FileReport] = []
    msgs = list(bagmod.read_bag(tmp_path / 'bag', reports))
    assert len(msgs) == flushed
    assert not reports[0].complete
    meta = bagmod.load_metadata(tmp_path / 'bag')
    assert meta['relative_file_paths'] == ['bag_0.mcap']


@settings(max_examples=25, deadline=None)
@given(cut=st.floats(0.0, 1.0))
def test_torn_file_yields_a_prefix_that_decodes(tmp_path_factory, cut):
    d = tmp_path_factory.mktemp('torn')
    w = write_drive(d / 'bag', n=120, chunk_size_bytes=2048, compression='zstd')
    w.close()
    path = d / 'bag' / 'bag_0.mcap'
    full = list(bagmod.iter_file(path))
    data = path.read_bytes()
    torn = d / 'torn.mcap'
    torn.write_bytes(data[:int(len(data) * cut)])
    got = list(bagmod.iter_file(torn))
    assert [m.data for m in got] == [m.data for m in full[:len(got)]]
    decoders = {}
    for m in got:
        dec = decoders.setdefault(m.schema.id, bagmod.decoder_for(m.schema))
        dec(m.data)
    shutil.rmtree(d)


def test_qos_profiles_match_rosbag2_layout():
    profiles = qos_profiles([QosOffer(history=3, depth=0, reliability=1, durability=1,
                                      deadline_ns=9223372036854775807)])
    assert yaml.safe_load(qos_yaml(profiles)) == profiles  # the channel metadata string
    profile = profiles[0]
    assert list(profile) == ['history', 'depth', 'reliability', 'durability', 'deadline', 'lifespan', 'liveliness',
                             'liveliness_lease_duration', 'avoid_ros_namespace_conventions']
    assert profile == {'history': 'unknown', 'depth': 0, 'reliability': 'reliable', 'durability': 'transient_local',
                       'deadline': {'sec': 9223372036, 'nsec': 854775807},
                       'lifespan': {'sec': 9223372036, 'nsec': 854775807}, 'liveliness': 'automatic',
                       'liveliness_lease_duration': {'sec': 9223372036, 'nsec': 854775807},
                       'avoid_ros_namespace_conventions': False}
    assert qos_profiles([QosOffer(lifespan_ns=1_500_000_000)])[0]['lifespan'] == {'sec': 1, 'nsec': 500_000_000}
    assert qos_profiles([QosOffer(deadline_ns=0)])[0]['deadline'] == {'sec': 0, 'nsec': 0}  # unspecified


def test_header_stamp_from_cdr():
    m = TwistStamped()
    m.header.stamp.sec, m.header.stamp.nanosec = 12, 345
    assert header_stamp_ns(serialize_message(m)) == 12 * NS + 345
    c = Clock()
    c.clock.sec = 7
    assert header_stamp_ns(serialize_message(c)) == 7 * NS
    assert header_stamp_ns(b'\x00\x01') is None
    assert header_stamp_ns(serialize_message(String(data='x' * 20))) is not None  # callers decide which types


def test_writer_rejects_bad_configuration(tmp_path):
    with pytest.raises(ValueError):
        BagWriter(tmp_path, compression='bz2')
    with pytest.raises(ValueError):
        BagWriter(tmp_path, split_size_bytes=10)
    w = BagWriter(tmp_path / 'b')
    with pytest.raises(KeyError):
        w.write('/undeclared', b'', 0)
