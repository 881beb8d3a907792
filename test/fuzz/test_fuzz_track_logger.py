"""track_logger under fuzzed ground truth, odometry, imu, events, diagnostics and clock over DDS: it
survives every message and still finishes a readable summary."""

from __future__ import annotations

import json
import math

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from fuzz.chain_fuzz import FUZZ_SETTINGS, imus
from fuzz.strategies import any_float, quaternion, stamp_fields, stamp_near
from helpers.node_bench import NodeBench, count_callbacks
from hypothesis import given
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu
from std_msgs.msg import String

from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
DECODED = ('ground_truth', 'odom', 'imu', 'events', '/diagnostics', '/clock')

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), any_float, st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=30)
event_texts = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries({'t': st.one_of(any_float, st.integers(-2**63, 2**63), st.text(max_size=5)),
                           'kind': st.one_of(st.sampled_from(['estop', 'obstacle_stop', 'x' * 100]), json_values),
                           'detail': json_values, 'source': json_values}).map(json.dumps))


@pytest.fixture(scope='module')
def logger(tmp_path_factory):
    from rover_nav.tracklog.logger_node import TrackLoggerNode

    out = tmp_path_factory.mktemp('fuzz_logger') / 'run'
    with NodeBench(TrackLoggerNode, {'output_dir': str(out), 'summary_period': 0.2}) as b:
        b.out_dir = out
        b.pubs = {'ground_truth': b.probe.publisher('ground_truth', Odometry, qos.STATE),
                  'odom': b.probe.publisher('odom', Odometry, qos.STATE),
                  'imu': b.probe.publisher('imu', Imu, qos.SENSOR_PUB),
                  'events': b.probe.publisher('events', String, qos.EVENTS),
                  '/diagnostics': b.probe.publisher('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)}
        b.taken = {topic: count_callbacks(b.node, topic) for topic in DECODED if topic != '/clock'}
        b.wait_matched()
        try:
            yield b
        finally:
            b.node.on_shutdown()


@st.composite
def odometries(draw, now: float):
    msg = Odometry()
    msg.header.stamp.sec, msg.header.stamp.nanosec = draw(stamp_near(now))
    msg.header.frame_id = draw(st.sampled_from(['world', 'odom', '']))
    p = msg.pose.pose.position
    # finite values beyond ~1e154 overflow the logger's distance (x ** 2 raises OverflowError): issue 18
    # finding 9, fixed and tested by the crash work, so kept out of this suite's draws
    p.x, p.y, p.z = (draw(st.one_of(st.floats(-50.0, 50.0), st.floats(-1e150, 1e150), st.sampled_from(
        [math.inf, -math.inf, math.nan, 5e-324, 1e150]))) for _ in range(3))
    o = msg.pose.pose.orientation
    o.x, o.y, o.z, o.w = draw(quaternion)
    msg.twist.twist.linear.x = draw(any_float)
    return msg


@st.composite
def diagnostics(draw, now: float):
    msg = DiagnosticArray()
    msg.header.stamp.sec, msg.header.stamp.nanosec = draw(stamp_near(now))
    msg.status = [DiagnosticStatus(level=bytes([draw(st.integers(0, 255))]), name=draw(st.text(max_size=30)),
                                   message=draw(st.text(max_size=60)),
                                   values=[KeyValue(key=draw(st.text(max_size=5)), value=draw(st.text(max_size=5)))])
                  for _ in range(draw(st.integers(0, 3)))]
    return msg


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_inputs_never_kill_the_logger(logger, cases, data):
    cases['track_logger'] += 1
    b = logger
    b.set_clock(round(b.t + data.draw(st.floats(0.001, 0.3)), 6))
    sent = {topic: len(box) for topic, box in b.taken.items()}
    n = {}
    for topic, strategy in (('ground_truth', odometries(b.t)), ('odom', odometries(b.t)), ('imu', imus(b.t)),
                            ('events', event_texts.map(lambda text: String(data=text))),
                            ('/diagnostics', diagnostics(b.t))):
        msgs = data.draw(st.lists(strategy, max_size=2))
        n[topic] = len(msgs)
        for msg in msgs:
            b.pubs[topic].publish(msg)
    if data.draw(st.booleans()):  # a foreign /clock, anywhere in the non-negative int32 range
        # (a NEGATIVE /clock second raises ValueError inside rclpy's own TimeSource callback, in every node
        # on sim time: reported with issue 18's foreign-/clock finding, not fixed here)
        clock = Clock()
        clock.clock.sec, clock.clock.nanosec = data.draw(stamp_fields.filter(lambda f: f[0] >= 0))
        b.clock_pub.publish(clock)
    best_effort = ('imu',)  # a lost best-effort sample is not the logger's fault
    b.wait_for(lambda: all(len(b.taken[t]) >= sent[t] + n[t] for t in n if t not in best_effort), 30.0,
               'the logger to take every message')


def test_after_the_fuzzing_the_logger_finishes_a_readable_summary(logger):
    logger.node.on_shutdown()
    summary = json.loads((logger.out_dir / 'summary.json').read_text())
    assert 'distance_m' in summary and 'events' in summary
