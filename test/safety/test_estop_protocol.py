"""The e-stop latch protocol over DDS (docs/safety_chain.md, E-stop): held latched by the nodes,
late joiners latch, `false` clears nothing, only estop/reset clears everyone; `rover estop` waits
for every expected node's confirmation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from safety.harness import Harness
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from rover_nav.runtime import qos

pytestmark = pytest.mark.ros


@pytest.fixture
def limiter():
    from rover_nav.safety.speed_limiter_node import SpeedLimiterNode

    h = Harness(SpeedLimiterNode)
    try:
        yield h
    finally:
        h.close()


class OtherNode:
    """A second obeying node in its own context, spun together with the harness."""

    def __init__(self, h: Harness, node_cls: type) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = node_cls(context=self.context, parameter_overrides=[Parameter('use_sim_time', value=True)])
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._h = h

    def spin_both(self, duration_s: float = 0.01) -> None:
        self._h.spin(duration_s)
        self.executor.spin_once(timeout_sec=duration_s / 2)

    def close(self) -> None:
        try:
            self.executor.shutdown()
            self.node.destroy_node()
        finally:
            rclpy.try_shutdown(context=self.context)


def _wait(h: Harness, other: OtherNode, predicate, what: str) -> None:
    from helpers.processes import wait_until

    wait_until(predicate, 20.0, spin=other.spin_both, what=what)


def test_a_node_started_after_a_one_shot_estop_comes_up_latched_and_only_reset_clears_it(limiter):
    from rover_nav.safety.slope_guard_node import SlopeGuardNode

    one_shot = limiter.probe.publisher('estop', Bool, qos.LATCHED)
    one_shot.publish(Bool(data=True))
    limiter.wait_for(lambda: limiter.node.estopped, what='limiter latched')
    limiter.probe.node.destroy_publisher(one_shot)  # `rover estop` exits: its latched sample is gone
    other = OtherNode(limiter, SlopeGuardNode)  # a guard (re)started while the e-stop is in force
    try:
        _wait(limiter, other, lambda: other.node.estopped, 'the late guard to latch from the held true')
        plain_false = limiter.probe.publisher('estop', Bool, qos.LATCHED)
        limiter.probe.wait_for_subscribers(plain_false, count=2)
        plain_false.publish(Bool(data=False))  # from anyone: clears nothing
        _wait(limiter, other, lambda: limiter.node.estop_link.ignored_false and other.node.estop_link.ignored_false,
              'both nodes to receive the plain false')
        assert limiter.node.estopped and other.node.estopped
        client = limiter.probe.node.create_client(Trigger, 'estop/reset')
        _wait(limiter, other, client.service_is_ready, 'estop/reset service')
        future = client.call_async(Trigger.Request())
        _wait(limiter, other, future.done, 'reset response')
        assert future.result().success
        _wait(limiter, other, lambda: not other.node.estopped and not limiter.node.estopped,
              'both nodes cleared by estop/reset')
    finally:
        other.close()


def _rover_estop(h: Harness, *args: str) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, '-m', 'rover_bringup.cli', 'estop', '--timeout', '15', *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        h.wait_for(lambda: proc.poll() is not None, 60.0, 'rover estop to finish')
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, proc.stdout.read()


def test_rover_estop_waits_for_every_expected_node_and_names_the_missing(limiter):
    code, out = _rover_estop(limiter, '--expect', 'speed_limiter,drive_controller', '--timeout', '3')
    assert code == 1, out
    assert 'drive_controller' in out.split('NOT confirmed')[1] and 'confirmed by /speed_limiter' in out
    assert limiter.node.estopped
    code, out = _rover_estop(limiter, '--expect', 'speed_limiter')
    assert code == 0, out
    code, out = _rover_estop(limiter, '--reset', '--expect', 'speed_limiter')
    assert code == 0, out
    assert not limiter.node.estopped
