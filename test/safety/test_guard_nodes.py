"""slope_guard and obstacle_guard over DDS on simulated time."""

from __future__ import annotations

import math

from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rclpy.parameter import Parameter
from safety.harness import Harness, cloud_msg, seconds, stamp
from safety.synthetic import GROUND_Z, Terrain, rectangle

from rover_description.geometry import load_geometry
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
GEOMETRY = load_geometry('yutu2')
X_FRONT = GEOMETRY.footprint[1]


@pytest.fixture
def slope():
    from rover_nav.safety.slope_guard_node import SlopeGuardNode

    h = Harness(SlopeGuardNode, {'tilt_filter_time': 0.0})
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def obstacle():
    from rover_nav.safety.obstacle_guard_node import ObstacleGuardNode

    h = Harness(ObstacleGuardNode)
    h.odom_pub = h.probe.publisher('odom', Odometry, qos.STATE)
    try:
        yield h
    finally:
        h.close()


def feed_imu(h: Harness, pitch_deg: float, roll_deg: float = 0.0) -> None:
    h.imu(math.radians(roll_deg), math.radians(pitch_deg))
    h.wait_for(lambda: h.node.core.tilt_deg is not None
               and abs(h.node.core.tilt_deg - math.hypot(pitch_deg, roll_deg)) < 0.5
               and not h.node.core.imu_stale(h.t), what=f'IMU at pitch {pitch_deg} deg')


def test_slope_guard_blocks_without_imu_and_passes_on_level_ground(slope):
    assert slope.command(0.05, 0.0).twist.linear.x == 0.0
    feed_imu(slope, 0.0)
    out = slope.command(0.05, 0.02)
    assert (out.twist.linear.x, out.twist.angular.z) == pytest.approx((0.05, 0.02))
    assert seconds(out.header.stamp) == pytest.approx(slope.t)


def test_slope_guard_blocks_climbing_and_lets_the_rover_back_down_and_turn(slope):
    feed_imu(slope, -22.0)  # nose up 22 deg (REP-103: negative pitch): past stop, below the roll-over limit
    assert slope.command(0.05, 0.0).twist.linear.x == 0.0
    assert slope.command(0.05, 0.05).twist.angular.z == 0.0
    back = slope.command(-0.05, 0.0)
    assert back.twist.linear.x == pytest.approx(-0.025)  # slow_speed_factor 0.5 while stopped
    assert slope.command(0.0, 0.1).twist.angular.z == pytest.approx(0.05)
    slope.wait_for(lambda: 'slope_stop' in slope.event_kinds(), what='slope_stop event')
    feed_imu(slope, -17.0)  # back below resume: forward again, slowed in the slow band
    assert 0.0 < slope.command(0.05, 0.0).twist.linear.x < 0.05


def test_slope_guard_stops_at_once_when_the_imu_goes_stale(slope):
    feed_imu(slope, 0.0)
    assert slope.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    count = len(slope.out)
    last_imu = slope.t
    slope.advance(slope.t + 0.7)
    zeros = [r.msg for r in slope.out[count:]]
    assert zeros and zeros[0].twist.linear.x == 0.0
    # imu_timeout 0.5 s, watchdog period 0.1 s, clock step 0.01 s
    assert seconds(zeros[0].header.stamp) - last_imu <= 0.5 + 0.1 + 0.01 + 1e-6
    slope.wait_for(lambda: 'sensor_stale' in slope.event_kinds(), what='sensor_stale event')


def test_slope_guard_looks_ahead_and_slows_before_a_ramp(slope):
    feed_imu(slope, 0.0)
    rng = np.random.default_rng(0)
    x = rng.uniform(X_FRONT, X_FRONT + 1.0, 600)
    y = rng.uniform(-0.5, 0.5, 600)
    ramp = np.c_[x, y, GROUND_Z + math.tan(math.radians(25.0)) * (x - X_FRONT)]
    slope.cloud_pub.publish(cloud_msg(ramp, 'base_link', slope.t))
    slope.wait_for(lambda: slope.node.core.ahead_deg is not None, what='look-ahead estimate')
    assert slope.node.core.ahead_deg == pytest.approx(25.0, abs=1.0)
    assert slope.command(0.05, 0.0).twist.linear.x == pytest.approx(0.025)


def test_slope_guard_rejects_thresholds_out_of_order_at_runtime(slope):
    result = slope.node.set_parameters([Parameter('resume_tilt_deg', value=21.0)])[0]
    assert not result.successful and 'resume_tilt_deg' in result.reason
    assert slope.node.core.config.resume_tilt_deg == 18.0
    assert slope.node.set_parameters([Parameter('stop_tilt_deg', value=22.0)])[0].successful
    assert slope.node.core.config.stop_tilt_deg == 22.0


def test_slope_limits_cannot_be_raised_above_the_hard_limits_at_runtime(slope):
    for name, above in (('stop_tilt_deg', 24.0), ('max_tilt_deg', 28.0)):
        result = slope.node.set_parameters([Parameter(name, value=above)])[0]
        assert not result.successful and 'hard limit' in result.reason
    assert slope.node.set_parameters([Parameter('max_tilt_deg', value=24.0)])[0].successful
    assert slope.node.core.config.max_tilt_deg == 24.0


def test_guards_obey_estop_ignore_false_and_clear_only_on_the_reset_notice(slope):
    from std_msgs.msg import Empty

    from rover_nav.runtime.estop_link import CLEARED_QOS, CLEARED_TOPIC

    cleared = slope.probe.publisher(CLEARED_TOPIC, Empty, CLEARED_QOS)
    feed_imu(slope, 0.0)
    assert slope.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    count = len(slope.out)
    slope.estop(True)
    slope.wait_for(lambda: len(slope.out) > count, what='zero on e-stop')
    assert slope.out[count].msg.twist.linear.x == 0.0
    assert slope.command(0.05, 0.0).twist.linear.x == 0.0
    slope.estop(False)  # a plain false from anyone clears nothing
    assert slope.command(0.05, 0.0).twist.linear.x == 0.0
    assert slope.node.estopped
    slope.probe.wait_for_subscribers(cleared)
    cleared.publish(Empty())  # what the limiter's estop/reset announces
    slope.wait_for(lambda: not slope.node.estopped, what='e-stop cleared')
    assert slope.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)


# ---- obstacle guard -------------------------------------------------------------------------

def odom(h: Harness, x: float = 0.0) -> None:
    msg = Odometry()
    msg.header.stamp = stamp(h.t)
    msg.header.frame_id = 'odom'
    msg.child_frame_id = 'base_link'
    msg.pose.pose.position.x = x
    msg.pose.pose.orientation.w = 1.0
    h.odom_pub.publish(msg)
    h.wait_for(lambda: h.node.core.odom_fresh(h.t) and h.node.core._pose.x == pytest.approx(x),
               what='odometry received')


def to_hazcam_link(points_base: np.ndarray) -> np.ndarray:
    """base_link points into the hazcam_link frame (inverse of the sensor pose)."""
    from rover_description.rotations import rpy_matrix

    pose = GEOMETRY.hazcam.pose
    return (points_base - np.array(pose.xyz)) @ rpy_matrix(*pose.rpy)


def send_cloud(h: Harness, points_base: np.ndarray) -> None:
    t = h.t
    h.cloud_pub.publish(cloud_msg(to_hazcam_link(points_base), 'hazcam_link', t))
    h.wait_for(lambda: h.node.core.cloud_fresh(t) and h.node.core._cloud_t == t, what='cloud received')


def test_obstacle_guard_blocks_on_stale_cloud_and_passes_on_clear_ground(obstacle):
    assert obstacle.command(0.05, 0.0).twist.linear.x == 0.0
    odom(obstacle)
    send_cloud(obstacle, Terrain(seed=1).ground(2000))
    out = obstacle.command(0.05, 0.01)
    assert (out.twist.linear.x, out.twist.angular.z) == pytest.approx((0.05, 0.01))


def test_obstacle_guard_stops_for_a_rock_and_allows_backing_away(obstacle):
    terrain = Terrain(seed=2)
    odom(obstacle)
    rock = terrain.box(rectangle(X_FRONT + 0.25, 0.0, 0.3, 0.4), 0.3)
    send_cloud(obstacle, np.vstack([terrain.ground(2000), rock]))
    assert obstacle.command(0.05, 0.0).twist.linear.x == 0.0
    assert obstacle.command(-0.05, 0.0).twist.linear.x == pytest.approx(-0.05)
    assert obstacle.command(0.0, 0.1).twist.angular.z == pytest.approx(0.0)  # the corner swings into it
    obstacle.wait_for(lambda: 'obstacle_stop' in obstacle.event_kinds(), what='obstacle_stop event')


def test_a_newly_seen_rock_stops_the_rover_at_once(obstacle):
    terrain = Terrain(seed=3)
    odom(obstacle)
    send_cloud(obstacle, terrain.ground(2000))
    assert obstacle.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    count = len(obstacle.out)
    rock = terrain.box(rectangle(X_FRONT + 0.2, 0.1, 0.2, 0.3), 0.3)
    obstacle.set_clock(obstacle.t + 0.2)
    odom(obstacle, 0.0)
    obstacle.cloud_pub.publish(cloud_msg(to_hazcam_link(np.vstack([terrain.ground(2000), rock])), 'hazcam_link',
                                         obstacle.t))
    obstacle.wait_for(lambda: len(obstacle.out) > count, what='the zero caused by the cloud')
    assert obstacle.out[count].msg.twist.linear.x == 0.0
    assert seconds(obstacle.out[count].msg.header.stamp) == pytest.approx(obstacle.t)


def test_obstacle_guard_drives_over_a_small_rock(obstacle):
    terrain = Terrain(seed=4)
    odom(obstacle)
    pebble = terrain.box(rectangle(X_FRONT + 0.2, 0.0, 0.2, 0.2), 0.1)
    send_cloud(obstacle, np.vstack([terrain.ground(2000), pebble]))
    assert obstacle.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)


def test_obstacle_guard_rejects_unknown_frames_and_goes_stale(obstacle):
    odom(obstacle)
    send_cloud(obstacle, Terrain(seed=5).ground(500))
    obstacle.cloud_pub.publish(cloud_msg(Terrain(seed=5).ground(500), 'map', obstacle.t))
    obstacle.advance(obstacle.t + 1.1, step=0.05)
    assert obstacle.command(0.05, 0.0).twist.linear.x == 0.0
    assert obstacle.node.state == 'stale_cloud'


def test_obstacle_limits_cannot_be_raised_above_the_hard_limits_at_runtime(obstacle):
    result = obstacle.node.set_parameters([Parameter('max_step_height', value=0.3)])[0]
    assert not result.successful and 'hard limit' in result.reason
    assert obstacle.node.set_parameters([Parameter('max_step_height', value=0.15)])[0].successful


def test_obstacle_guard_never_counts_an_unknown_frame_cloud_as_fresh(obstacle):
    """Fresh clouds keep arriving, but in a frame the guard cannot place ('map'): it must go stale and stop.
    (The older test above lets the clock run past the cloud timeout, so it passes even if unknown frames
    were accepted: issue 18, finding 16.)"""
    seen: list[str] = []
    obstacle.node.warn_throttled = lambda text, period_s=5.0: seen.append(text)
    ground = to_hazcam_link(Terrain(seed=6).ground(500))
    odom(obstacle)
    send_cloud(obstacle, Terrain(seed=6).ground(500))
    assert obstacle.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    start = obstacle.t
    while obstacle.t < start + 1.5:
        obstacle.advance(obstacle.t + 0.1, step=0.05)
        odom(obstacle)
        count = len(seen)
        obstacle.cloud_pub.publish(cloud_msg(ground, 'map', obstacle.t))
        obstacle.wait_for(lambda count=count: len(seen) > count, what='the map-frame cloud refused')
    assert obstacle.command(0.05, 0.0).twist.linear.x == 0.0
    assert obstacle.node.state == 'stale_cloud'
    assert any('dropped a cloud' in text for text in seen)
