"""The runner's progress figures: distance, 1 s speed, tilt, last event."""

from __future__ import annotations

import math

import pytest

from rover_bringup.monitor import DriveProgress


def test_distance_and_speed_over_the_last_second():
    p = DriveProgress()
    for k in range(21):  # 0.05 m/s along x for 2 s at 10 Hz
        p.on_pose(0.1 * k, 0.005 * k, 0.0)
    assert p.distance == pytest.approx(0.1)
    assert p.speed == pytest.approx(0.05)


@pytest.mark.parametrize('deg', [0.0, 10.0, 20.0, 35.0])
def test_tilt_from_an_orientation_pitched_or_rolled(deg):
    half = math.radians(deg) / 2.0
    pitched = DriveProgress()
    pitched.on_orientation(0.0, math.sin(half), 0.0, math.cos(half))
    rolled = DriveProgress()
    rolled.on_orientation(math.sin(half), 0.0, 0.0, math.cos(half))
    assert pitched.tilt_deg == pytest.approx(deg, abs=1e-9)
    assert rolled.tilt_deg == pytest.approx(deg, abs=1e-9)


def test_yaw_alone_is_no_tilt():
    p = DriveProgress()
    p.on_orientation(0.0, 0.0, math.sin(0.7), math.cos(0.7))
    assert p.tilt_deg == pytest.approx(0.0, abs=1e-9)


def test_progress_distance_is_the_summary_distance():
    """One definition (README, Outputs): the 3-D ground-truth path length in steps of at least 1 cm.

    A climb counts its height, and a parked rover's millimetre jitter adds nothing, in the
    progress lines exactly as in summary.json and track.csv.
    """
    from rover_nav.tracklog.recorder import TrackRecorder

    p = DriveProgress()
    rec = TrackRecorder()
    poses = [(0.1 * k, 0.005 * k, 0.0, 0.005 * k * math.tan(math.radians(20))) for k in range(200)]  # 20 deg climb
    poses += [(20.0 + 0.1 * k, 0.995 + 0.002 * (k % 2), 0.0, poses[-1][3]) for k in range(100)]  # parked, jitter
    for t, x, y, z in poses:
        p.on_pose(t, x, y, z)
        rec.on_ground_truth(t, x, y, z, (0.0, 0.0, 0.0, 1.0))
    assert p.distance == pytest.approx(0.995 / math.cos(math.radians(20)), abs=0.003)  # 0.94 m flat
    assert p.distance == pytest.approx(rec.summary(1.0)['distance_m'], abs=1e-4)


def test_one_foreign_clock_far_ahead_does_not_end_the_drive():
    """Issue 18 finding 14: one /clock with sec = 2^31-1 set sim_time past the duration: `rover run
    --realtime` ended at once with exit 0. The monitor ignores implausible jumps (and deep /events)."""
    import rclpy
    from rosgraph_msgs.msg import Clock
    from std_msgs.msg import String

    from rover_bringup.monitor import MonitorNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = MonitorNode(context=context)
    try:
        for k in range(5):
            node._on_clock(Clock(clock=rclpy.time.Time(nanoseconds=k * 100_000_000).to_msg()))
        foreign = Clock()
        foreign.clock.sec = 2**31 - 1
        node._on_clock(foreign)
        assert node.progress.sim_time == pytest.approx(0.4)
        node._on_clock(Clock(clock=rclpy.time.Time(nanoseconds=500_000_000).to_msg()))
        assert node.progress.sim_time == pytest.approx(0.5)
        node._on_event(String(data='[' * 100_000 + ']' * 100_000))  # RecursionError in json: '?'
        assert node.progress.guard == '?'
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def test_a_second_clock_publisher_on_the_domain_is_a_conflict():
    """Issue 18 finding 15: two runs with the same exported ROS_DOMAIN_ID drove each other's simulators
    silently. A second /clock publisher (another simulator) is now reported; the runner fails on it."""
    from helpers.processes import wait_until
    import rclpy
    from rosgraph_msgs.msg import Clock

    from rover_bringup.monitor import MonitorNode
    from rover_nav.runtime import qos

    contexts = [rclpy.Context() for _ in range(3)]
    for c in contexts:
        rclpy.init(context=c)
    monitor = MonitorNode(context=contexts[0])
    ours = rclpy.create_node('lunar_sim', context=contexts[1])
    theirs = rclpy.create_node('lunar_sim', namespace='/other_run', context=contexts[2])
    try:
        ours.create_publisher(Clock, '/clock', qos.CLOCK)
        wait_until(lambda: monitor.count_publishers('/clock') == 1, 20.0, what='our simulator discovered')
        assert monitor.domain_conflict() is None
        theirs.create_publisher(Clock, '/clock', qos.CLOCK)
        wait_until(lambda: monitor.domain_conflict() is not None, 20.0, what='the second simulator noticed')
        assert '2 /clock publishers' in monitor.domain_conflict() and 'ROS_DOMAIN_ID' in monitor.domain_conflict()
    finally:
        for node in (monitor, ours, theirs):
            node.destroy_node()
        for c in contexts:
            rclpy.try_shutdown(context=c)
