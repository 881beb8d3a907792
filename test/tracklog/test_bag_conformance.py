"""The bag format against ROS 2 Jazzy's readers: canonical CDR, rosbag2 v9 metadata, the derived
/tf, /tf_static and /robot_description channels, and the conformance checker itself."""

from __future__ import annotations

import math
from types import SimpleNamespace

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TwistStamped
from helpers.bag_check import check_bag, check_message_bytes, compare_cdr, jazzy_store
from hypothesis import given, settings
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, Imu, JointState, Joy, PointCloud2, PointField
from std_msgs.msg import Bool, String
import yaml

from rover_description.description import urdf_model
from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog import cdr_encode, msgdefs
from rover_nav.tracklog.bag import BagWriter, QosOffer, TopicInfo
from rover_nav.tracklog.tf_frames import TF_TYPE, RoverFrames, quaternion_multiply, tf_message


def _messages():
    js = JointState()
    js.header.frame_id = 'base_link'
    js.name = ['steer_fl_joint', 'wheel_fl_joint', 'wheel_ml_joint']
    js.position = [0.1, math.nan, math.nan]
    js.velocity = [math.nan, 2.0, 2.0]
    imu = Imu()
    imu.header.frame_id = 'imu_link'
    imu.orientation_covariance[0] = -1.0
    odom = Odometry()
    odom.header.frame_id, odom.child_frame_id = 'odom', 'base_link'
    odom.pose.pose.position.x = 1.25
    cloud = PointCloud2()
    cloud.header.frame_id = 'hazcam_optical_frame'
    cloud.fields = [PointField(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate('xyz')]
    cloud.height, cloud.width, cloud.point_step, cloud.row_step = 1, 5, 12, 60
    cloud.data = np.arange(15, dtype=np.float32).tobytes()
    diag = DiagnosticArray()
    diag.status = [DiagnosticStatus(level=b'\x01', name='guard', message='slow',
                                    values=[KeyValue(key='k', value='v')])]
    battery = BatteryState()
    battery.cell_voltage = [3.7, 3.8]
    joy = Joy()
    joy.axes, joy.buttons = [0.5, -1.0], [1, 0, 1]
    twist = TwistStamped()
    twist.twist.linear.x = 0.1
    clock = Clock()
    clock.clock.sec = 7
    return [js, imu, odom, cloud, diag, battery, joy, twist, clock, String(data='héllo'), Bool(data=True)]


@pytest.mark.parametrize('msg', _messages(), ids=lambda m: type(m).__name__)
def test_encoder_gives_the_canonical_bytes_rosbags_and_rclpy_agree_on(msg):
    type_name = msgdefs.type_name_of(type(msg))
    data = cdr_encode.serialize(msg)
    store = jazzy_store()
    assert bytes(store.serialize_cdr(store.deserialize_cdr(data, type_name), type_name)) == data
    assert check_message_bytes(data, type_name, strict_padding=True) == []
    assert serialize_message(deserialize_message(data, type(msg))).startswith(data[:4])


def test_rclpy_serialize_message_is_not_what_a_bag_may_hold():
    """Why the logger does not store serialize_message's bytes (rmw_fastrtps, Jazzy): too long, dirty padding."""
    js = _messages()[0]
    raw = serialize_message(js)
    ours = cdr_encode.serialize(js)
    assert len(raw) > len(ours) + 3  # rosbags: "CDR message size mismatch"
    assert check_message_bytes(raw, 'sensor_msgs/msg/JointState')
    assert check_message_bytes(ours, 'sensor_msgs/msg/JointState', strict_padding=True) == []


def test_compare_cdr_names_the_first_wrong_data_byte_and_counts_dirty_padding():
    """The checker's byte comparison: data bytes must be rosbags' own, padding may hold anything."""
    js = _messages()[0]
    type_name = 'sensor_msgs/msg/JointState'
    data = bytearray(cdr_encode.serialize(js))
    msg = jazzy_store().deserialize_cdr(bytes(data), type_name)
    assert compare_cdr(bytes(data), msg, type_name) == ('', 0)
    # header 4 + stamp 8 + length 4 + "base_link\0" 10 = byte 26; 2 bytes align the name count to 4
    padded = bytearray(data)
    padded[26:28] = b'\xaa\xbb'
    assert compare_cdr(bytes(padded), msg, type_name) == ('', 2)
    flipped = bytearray(data)
    flipped[len(data) - 1] ^= 0x40
    error, _ = compare_cdr(bytes(flipped), msg, type_name)
    assert error == f'data byte {len(data) - 1} is {flipped[-1]:#04x}, rosbags writes {data[-1]:#04x}'
    assert compare_cdr(bytes(data) + b'\x00' * 4, msg, type_name)[0].startswith(f'{len(data) + 4} bytes stored')


def test_message_check_takes_dirty_padding_only_when_not_strict_and_never_a_wrong_data_byte():
    """check_message_bytes' shortcut (bytes equal to rosbags' own) must not hide what compare_cdr finds."""
    type_name = 'sensor_msgs/msg/JointState'
    data = cdr_encode.serialize(_messages()[0])
    padded = bytearray(data)
    padded[26:28] = b'\xaa\xbb'  # the name count's alignment padding (see above)
    assert check_message_bytes(bytes(padded), type_name) == []
    assert 'non-zero padding' in check_message_bytes(bytes(padded), type_name, strict_padding=True)[0]
    # a bool stored as 2 reads as True, and rosbags (like DDS) writes True as 1: not canonical bytes
    assert check_message_bytes(b'\x00\x01\x00\x00\x02', 'std_msgs/msg/Bool') == [
        'std_msgs/msg/Bool: data byte 4 is 0x02, rosbags writes 0x01']
    assert check_message_bytes(b'\x00\x01\x00\x00\x01', 'std_msgs/msg/Bool') == []


_NO_NUL = st.characters(blacklist_characters='\x00')  # ROS strings end at the first NUL (C strings)


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.text(_NO_NUL, max_size=12), max_size=6), frame=st.text(_NO_NUL, max_size=9),
       values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6), sec=st.integers(0, 2**31 - 1))
def test_joint_states_of_any_shape_encode_canonically(names, frame, values, sec):
    js = JointState()
    js.header.stamp.sec = sec
    js.header.frame_id = frame
    js.name = names
    js.position = values
    js.effort = values[:1]
    data = cdr_encode.serialize(js)
    assert check_message_bytes(data, 'sensor_msgs/msg/JointState', strict_padding=True) == []


def test_tf_message_bytes_match_rosbags_serializer():
    store = jazzy_store()
    frames = [('odom', 'base_link', (1.0, -2.0, 0.25), (0.0, 0.0, math.sin(0.3), math.cos(0.3))),
              ('base_link', 'hazcam_link', (0.6, 0.0, 0.4), (0.0, 0.1, 0.0, math.sqrt(0.99)))]
    data = cdr_encode.serialize(tf_message(12_500_000_000, frames), TF_TYPE)
    msg = store.deserialize_cdr(data, TF_TYPE)
    assert [(t.header.frame_id, t.child_frame_id) for t in msg.transforms] == [f[:2] for f in frames]
    assert (msg.transforms[0].header.stamp.sec, msg.transforms[0].header.stamp.nanosec) == (12, 500_000_000)
    assert msg.transforms[0].transform.translation.y == -2.0
    # rosbags builds the same message from its own classes and serialises it to the same bytes
    t = store.types
    stamp = t['builtin_interfaces/msg/Time'](sec=12, nanosec=500_000_000)
    ref = t[TF_TYPE](transforms=[t['geometry_msgs/msg/TransformStamped'](
        header=t['std_msgs/msg/Header'](stamp=stamp, frame_id=p), child_frame_id=c,
        transform=t['geometry_msgs/msg/Transform'](translation=t['geometry_msgs/msg/Vector3'](x=x, y=y, z=z),
                                                   rotation=t['geometry_msgs/msg/Quaternion'](x=qx, y=qy, z=qz, w=qw)))
        for p, c, (x, y, z), (qx, qy, qz, qw) in frames])
    assert bytes(store.serialize_cdr(ref, TF_TYPE)) == data
    assert check_message_bytes(data, TF_TYPE, strict_padding=True) == []
    assert msgdefs.full_definition(TF_TYPE).startswith('geometry_msgs/TransformStamped[] transforms\n')


def _matrix(xyz, q):
    x, y, z, w = q
    rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    t = np.eye(4)
    t[:3, :3], t[:3, 3] = rot, xyz
    return t


@pytest.mark.parametrize('profile', ['yutu2', 'hobby'])
def test_frames_compose_to_the_description_link_poses(profile):
    """/tf_static + /tf from joint positions place every link where the URDF model does."""
    model = urdf_model(profile)
    frames = RoverFrames(model)
    positions = {name: 0.1 * (i + 1) * (-1) ** i for i, name in enumerate(frames.joint_names)
                 if model.joints[name].mimic is None}
    parent_of = {c: (p, _matrix(xyz, q)) for p, c, xyz, q in [*frames.static, *frames.joint_transforms(positions)]}
    expected = model.link_transforms(positions)
    assert set(parent_of) | {model.root} == set(expected)
    for link, pose in expected.items():
        chain, frame = np.eye(4), link
        while frame != model.root:
            parent, t = parent_of[frame]
            chain, frame = t @ chain, parent
        assert np.allclose(chain, pose, atol=1e-9), link
    assert {'imu_link', 'hazcam_link', 'hazcam_optical_frame'} <= {c for _p, c, _x, _q in frames.static}


def test_quaternion_product_is_hamilton():
    qz = (0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4))  # 90 deg about z
    assert quaternion_multiply(qz, qz) == pytest.approx((0.0, 0.0, 1.0, 0.0))


def _bag(tmp_path, **metadata_edits):
    w = BagWriter(tmp_path / 'bag')
    w.add_topic(TopicInfo.for_type('/estop', 'std_msgs/msg/Bool', [QosOffer(depth=1, durability=1)]))
    for i in range(3):
        w.write('/estop', cdr_encode.serialize(Bool(data=bool(i))), 10**9 * (i + 1))
    w.close()
    return tmp_path / 'bag'


@pytest.mark.no_bag_check  # breaks a bag on purpose
def test_checker_accepts_our_bags_and_rejects_the_old_string_qos(tmp_path):
    bag = _bag(tmp_path)
    assert check_bag(bag, strict_padding=True) == []
    meta = yaml.safe_load((bag / 'metadata.yaml').read_text())
    topic = meta['rosbag2_bagfile_information']['topics_with_message_count'][0]['topic_metadata']
    assert isinstance(topic['offered_qos_profiles'], list) and topic['offered_qos_profiles'][0]['durability'] == \
        'transient_local'
    topic['offered_qos_profiles'] = yaml.safe_dump(topic['offered_qos_profiles'])  # what versions 4-8 held
    (bag / 'metadata.yaml').write_text(yaml.safe_dump(meta, sort_keys=False))
    assert any('must be a YAML sequence' in e for e in check_bag(bag))


@pytest.mark.no_bag_check  # breaks a bag on purpose
def test_checker_rejects_wrong_counts_and_dirty_bytes(tmp_path):
    bag = _bag(tmp_path)
    meta = yaml.safe_load((bag / 'metadata.yaml').read_text())
    meta['rosbag2_bagfile_information']['message_count'] = 4
    (bag / 'metadata.yaml').write_text(yaml.safe_dump(meta, sort_keys=False))
    assert any('message_count' in e for e in check_bag(bag))
    w = BagWriter(tmp_path / 'dirty')
    w.add_topic(TopicInfo.for_type('/joint_commands', 'sensor_msgs/msg/JointState', [QosOffer(depth=1)]))
    w.write('/joint_commands', serialize_message(_messages()[0]), 10**9)
    w.close()
    assert any('size mismatch' in e for e in check_bag(tmp_path / 'dirty'))


def test_mcap_records_carry_the_profile_list(tmp_path):
    bag = _bag(tmp_path)
    from mcap.reader import make_reader

    with open(bag / 'bag_0.mcap', 'rb') as f:
        reader = make_reader(f)
        channel = next(iter(reader.get_summary().channels.values()))
        profiles = yaml.safe_load(channel.metadata['offered_qos_profiles'])
        assert profiles[0]['durability'] == 'transient_local' and profiles[0]['deadline'] == bagmod.INFINITE
        record = next(m for m in reader.iter_metadata() if m.name == 'rosbag2')
        assert set(record.metadata) == {'serialized_metadata'}  # as rosbag2_storage_mcap (Jazzy) writes it
        info = yaml.safe_load(record.metadata['serialized_metadata'])
        assert info['version'] == 9 and isinstance(
            info['topics_with_message_count'][0]['topic_metadata']['offered_qos_profiles'], list)


def test_plain_objects_need_every_field():
    with pytest.raises(AttributeError):
        cdr_encode.serialize(SimpleNamespace(transforms=[SimpleNamespace(child_frame_id='x')]), TF_TYPE)


def test_type_hash_of_tf_message_is_composed_the_rosidl_way():
    """The RIHS01 composition reproduces an installed hash (DiagnosticArray = Header + DiagnosticStatus[])."""
    composed = msgdefs.composed_description('diagnostic_msgs/msg/DiagnosticArray', (
        ('header', 1, 'std_msgs/msg/Header'), ('status', 145, 'diagnostic_msgs/msg/DiagnosticStatus')))
    assert msgdefs.rihs01(composed) == msgdefs.type_hash('diagnostic_msgs/msg/DiagnosticArray') != ''
    assert msgdefs.type_hash(TF_TYPE).startswith('RIHS01_')
