"""speed_limiter over DDS on simulated time: cap, stamps, timeout, bad input, e-stop, reconfiguration."""

from __future__ import annotations

import math

from helpers.processes import wait_until
import pytest
from rclpy.parameter import Parameter
from safety.harness import Harness, seconds
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from rover_nav.runtime import qos

pytestmark = pytest.mark.ros


@pytest.fixture
def limiter():
    from rover_nav.safety.speed_limiter_node import SpeedLimiterNode

    h = Harness(SpeedLimiterNode, {'max_linear_accel': 100.0, 'max_linear_decel': 100.0})
    try:
        yield h
    finally:
        h.close()


def test_caps_keep_curvature_and_copy_the_stamp(limiter):
    limiter.command(1.0, 0.5)
    limiter.advance(1.1)
    out = limiter.command(1.0, 0.5, t=1.1)
    assert abs(out.twist.linear.x) <= 0.0559 and abs(out.twist.angular.z) <= 0.1
    assert out.twist.angular.z / out.twist.linear.x == pytest.approx(0.5)
    assert out.twist.linear.x == pytest.approx(0.0559)
    assert seconds(out.header.stamp) == pytest.approx(1.1)
    limiter.advance(1.2)
    assert limiter.command(-3.0, 0.0).twist.linear.x == 0.0  # a reversal stops first, never jumps across
    limiter.advance(1.3)
    assert limiter.command(-3.0, 0.0).twist.linear.x == pytest.approx(-0.0559)


def test_timeout_publishes_zero_within_one_period_judged_on_stamps(limiter):
    limiter.command(0.05, 0.0)  # from rest the first command only sets the target
    t = 1.0
    for _ in range(10):
        t = round(t + 0.1, 9)
        limiter.advance(t)
        assert limiter.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    last_cmd = t
    count = len(limiter.out)
    limiter.advance(t + 0.8)
    zeros = [r.msg for r in limiter.out[count:]]
    assert zeros, 'no zero published after the timeout'
    assert all(z.twist.linear.x == 0.0 and z.twist.angular.z == 0.0 for z in zeros)
    first = seconds(zeros[0].header.stamp)
    # command_timeout 0.5 s, watchdog_period 0.05 s, clock step 0.01 s
    assert 0.5 < first - last_cmd <= 0.5 + 0.05 + 0.01 + 1e-6
    assert len(zeros) >= 4  # zero keeps coming, not silence
    limiter.wait_for(lambda: 'command_timeout' in limiter.event_kinds(), what='command_timeout event')
    assert limiter.event_kinds().count('command_timeout') == 1


def test_nan_and_future_stamped_commands_are_dropped(limiter):
    limiter.command(0.05, 0.0)
    limiter.advance(1.1)
    limiter.command(0.05, 0.0)
    before = len(limiter.out)
    limiter.command(math.nan, 0.0, wait=False)
    limiter.command(0.05, math.inf, wait=False)
    limiter.command(0.05, 0.0, t=limiter.t + 0.6, wait=False)  # beyond max_clock_skew 0.5 s
    limiter.advance(1.2)
    good = limiter.command(0.02, 0.0, t=limiter.t + 0.4)  # within the skew: accepted
    assert len(limiter.out) == before + 1
    assert good.twist.linear.x == pytest.approx(0.02)


def test_estop_latches_until_the_reset_service_and_publishes_false(limiter):
    estop_seen = limiter.probe.subscribe('estop', Bool, qos.LATCHED)
    limiter.command(0.05, 0.0)
    limiter.advance(1.1)
    assert limiter.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    count = len(limiter.out)
    limiter.estop(True)
    limiter.wait_for(lambda: limiter.node.estopped, what='e-stop latched')
    limiter.wait_for(lambda: len(limiter.out) > count, what='the immediate zero')
    assert limiter.out[count].msg.twist.linear.x == 0.0
    limiter.estop(False)  # a plain false does not clear the limiter: only the service does
    limiter.advance(1.2)
    assert limiter.command(0.05, 0.0).twist.linear.x == 0.0
    assert limiter.node.estopped
    client = limiter.probe.node.create_client(Trigger, 'estop/reset')
    limiter.wait_for(lambda: client.service_is_ready(), what='estop/reset service')
    falses = sum(not r.msg.data for r in estop_seen)  # the probe hears its own false too
    future = client.call_async(Trigger.Request())
    limiter.wait_for(future.done, what='reset response')
    assert future.result().success
    limiter.wait_for(lambda: sum(not r.msg.data for r in estop_seen) > falses, what='estop false from the limiter')
    limiter.advance(1.3)
    limiter.command(0.05, 0.0)
    limiter.advance(1.4)
    assert limiter.command(0.05, 0.0).twist.linear.x == pytest.approx(0.05)
    kinds = limiter.event_kinds()
    assert 'estop' in kinds and 'estop_reset' in kinds  # latched, then reset: its own kind


def test_a_rejected_parameter_set_leaves_the_limits_untouched(limiter):
    node = limiter.node
    results = node.set_parameters([Parameter('max_linear_speed', value=-1.0)])
    assert not results[0].successful and 'max_linear_speed' in results[0].reason
    assert node.params.snapshot.max_linear_speed == pytest.approx(0.0559)
    assert node.set_parameters([Parameter('max_linear_speed', value=0.03)])[0].successful
    limiter.advance(1.1)
    limiter.command(0.05, 0.0)
    limiter.advance(1.2)
    assert limiter.command(0.05, 0.0).twist.linear.x == pytest.approx(0.03)


def test_safety_limits_cannot_be_raised_above_the_hard_limits_at_runtime(limiter):
    node = limiter.node
    for name, above, below in (('max_linear_speed', 0.06, 0.03), ('command_timeout', 1.5, 0.8)):
        result = node.set_parameters([Parameter(name, value=above)])[0]
        assert not result.successful and 'hard limit' in result.reason and name in result.reason
        assert node.set_parameters([Parameter(name, value=below)])[0].successful  # lowering: anyone
    assert node.set_parameters([Parameter('max_linear_speed', value=0.0559)])[0].successful  # back up to it
    assert node.params.snapshot.max_linear_speed == pytest.approx(0.0559)


def test_diagnostics_report_the_timeout(limiter):
    from diagnostic_msgs.msg import DiagnosticArray

    diags = limiter.probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    limiter.advance(1.1)
    limiter.command(0.05, 0.0)
    limiter.advance(2.8, step=0.05)
    wait_until(lambda: any(s.message.startswith('no fresh') for r in diags for s in r.msg.status), 10.0,
               spin=limiter.spin, what='a WARN diagnostic about the timeout')
