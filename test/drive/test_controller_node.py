"""drive_controller over DDS: cmd_vel in, joint_commands out (stamp copied), watchdog, e-stop, bad input."""

from __future__ import annotations

import json
import math

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import TwistStamped
import numpy as np
import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Bool, String

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS, load_geometry
from rover_nav.drive.controller_node import DriveControllerNode
from rover_nav.runtime import qos

pytestmark = pytest.mark.ros
RADIUS = load_geometry('yutu2').wheel_radius


def twist(v: float, w: float, stamp: Time | None = None) -> TwistStamped:
    msg = TwistStamped()
    msg.twist.linear.x, msg.twist.angular.z = v, w
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


def fields(msg: JointState) -> tuple[dict[str, float], dict[str, float]]:
    """(steer joint -> position, wheel joint -> velocity), checking the NaN layout of the spec."""
    assert sorted(msg.name) == sorted([*STEER_JOINTS, *WHEEL_JOINTS])
    pos = dict(zip(msg.name, msg.position, strict=True))
    vel = dict(zip(msg.name, msg.velocity, strict=True))
    assert all(math.isnan(pos[j]) for j in WHEEL_JOINTS) and all(math.isnan(vel[j]) for j in STEER_JOINTS)
    return {j: pos[j] for j in STEER_JOINTS}, {j: vel[j] for j in WHEEL_JOINTS}


@pytest.fixture
def wired(probe, start_node):
    """A running drive_controller plus the probe's publishers and inboxes."""

    def make(**overrides):
        drive = start_node(DriveControllerNode, overrides)
        io = {
            'drive': drive,
            'cmd': probe.publisher('cmd_vel', TwistStamped, qos.COMMAND),
            'estop': probe.publisher('estop', Bool, qos.LATCHED),
            'states': probe.publisher('joint_states', JointState, qos.SENSOR_PUB),
            'out': probe.subscribe('joint_commands', JointState, qos.COMMAND),
            'events': probe.subscribe('events', String, qos.EVENTS),
        }
        drive.wait_for(lambda: io['cmd'].get_subscription_count() >= 1
                       and drive.node._pub.get_subscription_count() >= 1, what='drive and probe matched')
        return io

    return make


def send_until(io, msg, predicate, what: str, timeout_s: float = 10.0) -> None:
    """Publish `msg` every ~50 ms until `predicate()` (discovery may drop the first ones)."""
    drive = io['drive']
    deadline_msgs = int(timeout_s / 0.05)
    for _ in range(deadline_msgs):
        io['cmd'].publish(msg)
        try:
            drive.wait_for(predicate, 0.05, what)
            return
        except TimeoutError:
            continue
    raise TimeoutError(f'timed out waiting for {what}')


def test_one_joint_command_per_cmd_vel_with_copied_stamp(wired):
    io = wired(cmd_vel_timeout=1.0)
    stamp = io['drive'].node.get_clock().now().to_msg()
    stamp.nanosec = 123456789
    out = io['out']

    def straight_with_stamp() -> bool:
        return any(r.msg.header.stamp == stamp and r.msg.velocity[-1] > 0 for r in out)

    send_until(io, twist(0.05, 0.0, stamp), straight_with_stamp, 'joint_commands with the cmd_vel stamp')
    msg = next(r.msg for r in out if r.msg.header.stamp == stamp)
    steer, wheel = fields(msg)
    assert all(a == 0.0 for a in steer.values())
    assert all(r == pytest.approx(0.05 / RADIUS) for r in wheel.values())
    # exactly one output per input: publish N distinct stamps, get N outputs with those stamps
    before = len(out)
    stamps = []
    for k in range(5):
        s = Time(sec=stamp.sec - 10 + k, nanosec=0)
        stamps.append(s)
        io['cmd'].publish(twist(0.05, 0.0, s))
        io['drive'].wait_for(lambda s=s: any(r.msg.header.stamp == s for r in out[before:]), 5.0, 'stamped reply')
    copied = [r.msg.header.stamp for r in out[before:] if r.msg.header.stamp in stamps]
    assert copied == stamps


def test_stale_cmd_vel_stops_the_wheels_and_holds_steering(wired):
    io = wired(cmd_vel_timeout=0.3)
    out, events = io['out'], io['events']
    send_until(io, twist(0.05, 0.05), lambda: any(r.msg.velocity[-1] > 0 for r in out), 'driving on an arc')
    turning, _ = fields([r.msg for r in out if r.msg.velocity[-1] > 0][-1])
    n = len(out)
    io['drive'].wait_for(lambda: any(np.all(np.array(r.msg.velocity[4:]) == 0.0) for r in out[n:]), 5.0,
                         'zero command after the timeout')
    stopped = next(r.msg for r in out[n:] if np.all(np.array(r.msg.velocity[4:]) == 0.0))
    held, wheels = fields(stopped)
    assert held == pytest.approx(turning) and any(abs(a) > 0.1 for a in held.values())
    assert all(v == 0.0 for v in wheels.values())
    io['drive'].wait_for(lambda: any(json.loads(e.msg.data)['kind'] == 'command_timeout' for e in events), 5.0,
                         'command_timeout event')


def test_estop_latches_until_the_reset_notice_and_a_plain_false_clears_nothing(wired, probe):
    from std_msgs.msg import Empty

    from rover_nav.runtime.estop_link import CLEARED_QOS, CLEARED_TOPIC

    io = wired(cmd_vel_timeout=1.0)
    out = io['out']
    moving = twist(0.05, 0.0)
    send_until(io, moving, lambda: any(r.msg.velocity[-1] > 0 for r in out), 'driving')
    io['estop'].publish(Bool(data=True))
    io['drive'].wait_for(lambda: io['drive'].node._gate.estop, 5.0, 'e-stop latched')
    n = len(out)
    for _ in range(5):  # commands keep coming: every reply is a stop
        io['cmd'].publish(moving)
        io['drive'].spin(0.05)
    io['drive'].wait_for(lambda: len(out) > n, 5.0, 'replies while e-stopped')
    assert all(np.all(np.array(r.msg.velocity[4:]) == 0.0) for r in out[n:])
    assert any(json.loads(e.msg.data)['kind'] == 'estop' for e in io['events'])
    io['estop'].publish(Bool(data=False))  # from anyone: clears nothing
    n = len(out)
    for _ in range(5):
        io['cmd'].publish(moving)
        io['drive'].spin(0.05)
    io['drive'].wait_for(lambda: len(out) > n, 5.0, 'replies after the plain false')
    assert all(np.all(np.array(r.msg.velocity[4:]) == 0.0) for r in out[n:]) and io['drive'].node._gate.estop
    cleared = probe.publisher(CLEARED_TOPIC, Empty, CLEARED_QOS)
    probe.wait_for_subscribers(cleared)
    cleared.publish(Empty())  # what the speed limiter's estop/reset announces
    n = len(out)
    send_until(io, moving, lambda: any(r.msg.velocity[-1] > 0 for r in out[n:]), 'driving again after reset')


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_non_finite_cmd_vel_is_rejected_with_a_stop(wired, bad):
    io = wired(cmd_vel_timeout=1.0)
    out = io['out']
    send_until(io, twist(0.05, 0.0), lambda: any(r.msg.velocity[-1] > 0 for r in out), 'driving')
    stamp = Time(sec=7, nanosec=7)
    send_until(io, twist(bad, 0.0, stamp), lambda: any(r.msg.header.stamp == stamp for r in out), 'reply to bad twist')
    reply = next(r.msg for r in out if r.msg.header.stamp == stamp)
    assert all(v == 0.0 for v in fields(reply)[1].values())
    assert io['drive'].node._rejected >= 1
    n = len(out)
    send_until(io, twist(0.05, 0.0), lambda: any(r.msg.velocity[-1] > 0 for r in out[n:]), 'still driving after')


def test_future_stamp_is_rejected(wired):
    io = wired(cmd_vel_timeout=1.0, max_clock_skew=0.5)
    out = io['out']
    future = io['drive'].node.get_clock().now().to_msg()
    future.sec += 60
    send_until(io, twist(0.05, 0.0, future), lambda: io['drive'].node._rejected > 0, 'rejection')
    assert not any(r.msg.header.stamp == future for r in out)
    assert all(np.all(np.array(r.msg.velocity[4:]) == 0.0) for r in out)


def test_measured_steering_makes_the_wheels_wait(wired, probe):
    io = wired(cmd_vel_timeout=1.0, steer_stall_warning=0.3, diagnostics_period=0.1)
    diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    out = io['out']
    states = JointState(name=list(STEER_JOINTS), position=[0.0] * 4)
    io['states'].publish(states)
    # a point turn needs the corners at +/-45 deg; the servos report 0: the wheels must wait
    for _ in range(20):
        io['states'].publish(states)
        io['cmd'].publish(twist(0.0, 0.05))
        io['drive'].spin(0.05)
    io['drive'].wait_for(lambda: len(out) >= 10, 5.0, 'replies')
    assert all(np.all(np.array(r.msg.velocity[4:]) == 0.0) for r in out)
    assert io['drive'].node.drive.waiting
    target = fields(out[-1].msg)[0]
    assert any(abs(a) > 0.7 for a in target.values())

    def stall_warned() -> bool:
        io['states'].publish(states)
        io['cmd'].publish(twist(0.0, 0.05))
        return any(st.level == DiagnosticStatus.WARN and 'jammed' in st.message for d in diags for st in d.msg.status)

    io['drive'].wait_for(stall_warned, 10.0, 'steering stall warning on /diagnostics')
    reached = JointState(name=list(target), position=list(target.values()))
    for _ in range(3):
        io['states'].publish(reached)
        io['drive'].spin(0.05)

    def turning() -> bool:
        io['states'].publish(reached)
        return any(r.msg.velocity[-1] != 0.0 for r in out)

    send_until(io, twist(0.0, 0.05), turning, 'point turn once the corners arrived')


def test_cmd_vel_far_above_the_rating_never_drives_a_wheel_faster_than_the_hard_limit(wired):
    io = wired(cmd_vel_timeout=1.0, max_wheel_speed=0.08)  # the parameter at the hard limit (nothing above starts)
    out = io['out']
    hard = load_geometry('yutu2').limits
    for v in (5.0, 1e308):
        n = len(out)
        send_until(io, twist(v, 0.0), lambda n=n: any(r.msg.velocity[-1] > 0 for r in out[n:]), f'driving at {v}')
        for r in out[n:]:
            assert max(abs(x) for x in r.msg.velocity[4:]) * RADIUS <= min(hard.top_speed, hard.wheel_speed) + 1e-12


@pytest.mark.parametrize(('key', 'above', 'limit'), [('max_wheel_speed', 5.0, '0.08'), ('cmd_vel_timeout', 5.0, '1.0')])
def test_a_start_up_value_above_the_hard_limit_is_a_configuration_error(start_node, key, above, limit):
    from rover_nav.runtime.params import ConfigError

    with pytest.raises(ConfigError, match=f"'{key}' = {above} is above the hard limit {limit}"):
        start_node(DriveControllerNode, {key: above})


def test_runtime_parameter_change_and_rejection(wired):
    io = wired(cmd_vel_timeout=1.0)
    node = io['drive'].node
    from rclpy.parameter import Parameter

    ok = node.set_parameters([Parameter('max_wheel_speed', value=0.02)])[0]
    assert ok.successful
    bad = node.set_parameters([Parameter('v_eps_exit', value=0.0001)])[0]
    assert not bad.successful and 'v_eps_exit' in bad.reason
    for name, above in (('max_wheel_speed', 0.1), ('cmd_vel_timeout', 6.0)):  # above the hard limit (and 1.0)
        bad = node.set_parameters([Parameter(name, value=above)])[0]
        assert not bad.successful and 'hard limit' in bad.reason
    assert node.set_parameters([Parameter('cmd_vel_timeout', value=0.9)])[0].successful  # lowering
    out = io['out']
    send_until(io, twist(0.05, 0.0), lambda: any(r.msg.velocity[-1] > 0 for r in out), 'driving')
    assert out[-1].msg.velocity[-1] == pytest.approx(0.02 / RADIUS)


def test_watchdog_runs_on_sim_time(wired, probe):
    io = wired(cmd_vel_timeout=0.5, use_sim_time=True)
    clock = probe.publisher('/clock', Clock, qos.CLOCK)
    out = io['out']

    def at(t: float) -> Clock:
        return Clock(clock=Time(sec=int(t), nanosec=int(round((t % 1) * 1e9))))

    t = 100.0

    def clock_seen() -> bool:
        clock.publish(at(t))  # best effort: repeat until the node has it
        return io['drive'].node.now_s() == pytest.approx(t)

    io['drive'].wait_for(clock_seen, 10.0, 'sim clock')
    send_until(io, twist(0.05, 0.0, at(t).clock), lambda: any(r.msg.velocity[-1] > 0 for r in out), 'driving')
    n = len(out)
    for k in range(1, 11):  # 1 s of sim time without a command
        clock.publish(at(t + 0.1 * k))
        io['drive'].spin(0.02)
    io['drive'].wait_for(lambda: any(r.msg.velocity[-1] == 0.0 for r in out[n:]), 5.0, 'stop on sim-time timeout')
    stop = next(r.msg for r in out[n:] if r.msg.velocity[-1] == 0.0)
    stop_t = stop.header.stamp.sec + stop.header.stamp.nanosec * 1e-9
    assert t + 0.5 <= stop_t <= t + 1.0 + 1e-6  # stamped in sim time, after the timeout


@pytest.mark.parametrize('assist', [True, False])
def test_point_turn_gyro_assist(wired, probe, assist):
    io = wired(cmd_vel_timeout=1.0, gyro_assist=assist, imu_timeout=30.0)
    imu = probe.publisher('imu', Imu, qos.SENSOR_PUB)
    out = io['out']
    still = Imu()  # the gyro says the rover is not turning at all (stuck in the soil)
    io['drive'].wait_for(lambda: imu.publish(still) or io['drive'].node._gyro is not None, 10.0, 'gyro sample')
    plain = 0.1 * math.hypot(0.5, 0.5) / RADIUS  # corner wheel rate of a plain 0.1 rad/s point turn

    def turning_faster() -> bool:
        return any(abs(r.msg.velocity[4]) > 1.05 * plain for r in out)

    if assist:
        send_until(io, twist(0.0, 0.1), turning_faster, 'assisted (faster) point turn')
        assert max(abs(r.msg.velocity[4]) for r in out) <= 1.3 * plain + 1e-9
    else:
        send_until(io, twist(0.0, 0.1), lambda: sum(r.msg.velocity[4] != 0.0 for r in out) >= 20, 'point turn')
        assert not turning_faster()


def _suspension_states(bogie_rate: float) -> JointState:
    """joint_states with the steering at 0 and the left bogie pitching (rad/s), everything else still."""
    from rover_description.geometry import SUSPENSION_JOINTS

    names = [*STEER_JOINTS, *SUSPENSION_JOINTS]
    rates = [0.0] * len(STEER_JOINTS) + [bogie_rate if j == 'bogie_l_joint' else 0.0 for j in SUSPENSION_JOINTS]
    return JointState(name=names, position=[0.0] * len(names), velocity=rates)


@pytest.mark.parametrize('enabled', [True, False])
def test_suspension_compensation_slows_the_wheels_on_a_pitching_bogie(wired, probe, enabled):
    io = wired(cmd_vel_timeout=1.0, suspension_compensation=enabled, suspension_rate_timeout=0.3,
               suspension_settle_time=0.0, suspension_rate_tau=0.0)
    imu = probe.publisher('imu', Imu, qos.SENSOR_PUB)
    out = io['out']
    plain = 0.05 / RADIUS
    node = io['drive'].node
    left_bogie = [WHEEL_JOINTS.index(f'wheel_{n}_joint') for n in ('ml', 'rl')]

    def feed_and_check() -> bool:
        imu.publish(Imu())  # body not pitching
        io['states'].publish(_suspension_states(0.02))  # left bogie tips nose down
        return any(r.msg.velocity[4 + left_bogie[0]] < 0.99 * plain for r in out)

    if enabled:
        send_until(io, twist(0.05, 0.0), feed_and_check, 'left bogie wheels slowed')
        wheels = fields(out[-1].msg)[1]
        bogie = [wheels[f'wheel_{n}_joint'] for n in ('ml', 'rl', 'mr', 'rr')]
        assert all(0.8 * plain <= v < plain for v in bogie)  # bounded by suspension_compensation_max
        # the correction is common to each left/right pair: it slows an axle, it never steers
        assert wheels['wheel_ml_joint'] == pytest.approx(wheels['wheel_mr_joint'])
        assert wheels['wheel_rl_joint'] == pytest.approx(wheels['wheel_rr_joint'])
        assert [wheels['wheel_fl_joint'], wheels['wheel_fr_joint']] == pytest.approx([plain, plain])
        # the rates go stale: no compensation, driving goes on at the plain rate
        t_stale = node.now_s() + 0.35
        io['drive'].wait_for(lambda: node.now_s() > t_stale, 5.0, 'rates stale')
        n = len(out)
        send_until(io, twist(0.05, 0.0), lambda: len(out) > n and all(
            v == pytest.approx(plain) for v in out[-1].msg.velocity[4:]), 'plain rates once stale')
    else:
        for _ in range(10):
            feed_and_check()
            io['cmd'].publish(twist(0.05, 0.0))
            io['drive'].spin(0.05)
        io['drive'].wait_for(lambda: node._susp_rates is not None and sum(
            r.msg.velocity[-1] != 0.0 for r in out) >= 3, 5.0, 'replies with rates seen')
        assert all(v == pytest.approx(plain) for r in out if r.msg.velocity[-1] != 0.0 for v in r.msg.velocity[4:])
