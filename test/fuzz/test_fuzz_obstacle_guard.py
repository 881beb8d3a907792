"""obstacle_guard under fuzzed clouds, odometry and commands over DDS: it survives, never raises a
speed, and a stale cloud gives zero within cloud_timeout + one watchdog period (judged on stamps)."""

from __future__ import annotations

from fuzz.chain_fuzz import (
    FUZZ_SETTINGS,
    check_outputs,
    clouds,
    drive_until_moving,
    first_zero_after,
    fuzz_guard_once,
)
from fuzz.strategies import any_float, quaternion, stamp_near
from hypothesis import given
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from safety.harness import Harness, cloud_msg, stamp
from safety.synthetic import Terrain

from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
CLOUD_TIMEOUT, WATCHDOG = 1.0, 0.1
GROUND = Terrain(seed=11).ground(800)


@pytest.fixture(scope='module')
def obstacle():
    from rover_nav.safety.obstacle_guard_node import ObstacleGuardNode

    with Harness(ObstacleGuardNode) as h:
        h.odom_pub = h.probe.publisher('odom', Odometry, qos.STATE)
        h.wait_matched()
        yield h


def good_inputs(h: Harness) -> None:
    odom = Odometry()
    odom.header.stamp = stamp(h.t)
    odom.pose.pose.orientation.w = 1.0
    h.odom_pub.publish(odom)
    h.cloud_pub.publish(cloud_msg(GROUND, 'base_link', h.t))


@st.composite
def odoms(draw, now: float):
    msg = Odometry()
    msg.header.stamp.sec, msg.header.stamp.nanosec = draw(stamp_near(now))
    p = msg.pose.pose.position
    p.x, p.y, p.z = (draw(st.one_of(any_float, st.floats(-10.0, 10.0))) for _ in range(3))
    q = draw(quaternion)
    o = msg.pose.pose.orientation
    o.x, o.y, o.z, o.w = q
    return msg


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_clouds_odometry_and_commands(obstacle, cases, data):
    cases['obstacle_guard'] += 1
    fuzz_guard_once(obstacle, data, lambda: good_inputs(obstacle),
                    [(odoms, obstacle.odom_pub, 2), (clouds, obstacle.cloud_pub, 2)])


def test_a_million_point_cloud_of_zeros_is_survived_and_not_fresh(obstacle):
    refreshed = []  # for the big cloud: did it make the cloud fresh (change the core's cloud time)?
    sub = next(s for s in obstacle.node.subscriptions if s.topic_name.endswith('hazcam/points'))
    callback = sub.callback

    def watched(msg) -> None:
        before = obstacle.node.core._cloud_t
        callback(msg)
        if msg.width == 1_000_000:
            refreshed.append(obstacle.node.core._cloud_t != before)

    sub.callback = watched
    try:
        obstacle.set_clock(round(obstacle.t + 2.0, 6))
        obstacle.cloud_pub.publish(cloud_msg(np.zeros((1_000_000, 3)), 'hazcam_link', obstacle.t))
        obstacle.wait_for(lambda: refreshed, 60.0, 'the big cloud to be processed')
    finally:
        sub.callback = callback
    assert refreshed == [False]  # 1e6 zeros are no-returns: not a fresh cloud


def test_after_the_fuzzing_a_stale_cloud_gives_zero_within_timeout_plus_one_period(obstacle):
    drive_until_moving(obstacle, feed=lambda: good_inputs(obstacle))
    last_cloud = obstacle.t
    start = len(obstacle.out)
    obstacle.advance(last_cloud + CLOUD_TIMEOUT + WATCHDOG + 0.05, step=0.025)
    zero = first_zero_after(obstacle, start)
    assert zero is not None and zero <= last_cloud + CLOUD_TIMEOUT + WATCHDOG + 1e-6
    check_outputs(obstacle, 0)
