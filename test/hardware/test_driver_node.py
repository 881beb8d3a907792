"""hardware_driver over real DDS: lifecycle services, joint_commands -> emulated RoboClaws, watchdog
judged on sim time, e-stop topic/GPIO/release, and the published joint_states, imu, battery, diagnostics."""

from __future__ import annotations

import json
import math

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from hardware.board_fixtures import board_params, hobby_geometry
from helpers.probe import RosProbe
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import BatteryState, Imu, JointState
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos

pytestmark = pytest.mark.ros

NAMES = ([f'wheel_{n}_joint' for n in ('fl', 'ml', 'rl', 'fr', 'mr', 'rr')]
         + [f'steer_{n}_joint' for n in ('fl', 'rl', 'fr', 'rr')])
START_NS = 100 * 10**9
PERIOD_NS = 50 * 10**6  # control_rate_hz 20


def stamp(ns: int) -> Time:
    return Time(sec=ns // 10**9, nanosec=ns % 10**9)


def forward(ns: int = 0, rad_s: float = 0.5, steer: float = 0.1) -> JointState:
    msg = JointState(name=NAMES, position=[math.nan] * 6 + [steer] * 4, velocity=[rad_s] * 6 + [math.nan] * 4)
    msg.header.stamp = stamp(ns)
    return msg


class Rig:
    """The driver node (own context + executor) next to a probe; `spin` pumps both."""

    count = 0

    def __init__(self, emulation, sim_time: bool, **overrides) -> None:
        from rover_nav.hardware.driver_node import HardwareDriverNode

        Rig.count += 1
        self.ns = f'/hw_rig{Rig.count}'  # a fresh namespace: no stale discovery from an earlier test
        self.emulation = emulation
        self.probe = RosProbe('hw_probe')
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        params = board_params(**overrides)
        params['use_sim_time'] = sim_time
        overrides = [Parameter(k, value=v) for k, v in params.items()]
        self.node = HardwareDriverNode(geometry=hobby_geometry(), factories=emulation.factories(), context=self.ctx,
                                       namespace=self.ns, parameter_overrides=overrides)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        if sim_time:
            self._emulator_on_node_clock()
        p = self.probe
        self.joint_states = p.subscribe(f'{self.ns}/joint_states', JointState, qos.SENSOR_SUB)
        self.events = p.subscribe(f'{self.ns}/events', String, qos.EVENTS)
        self.estop_msgs = p.subscribe(f'{self.ns}/estop', Bool, qos.LATCHED)
        self.commands = p.publisher(f'{self.ns}/joint_commands', JointState, qos.COMMAND)
        self.clock_pub = p.publisher('/clock', Clock, qos.CLOCK)
        self.change = p.node.create_client(ChangeState, f'{self.ns}/hardware_driver/change_state')

    def _emulator_on_node_clock(self) -> None:
        """Run the emulated RoboClaws on the node's simulated clock (their clock hook): on the wall clock
        their own 0.5 s serial timeout fired whenever a loaded machine held the test for 0.5 s between
        two simulated ticks, and stopped the motors before the driver's watchdog (a flake)."""
        emulator = self.emulation.emulator
        clock = self.node.get_clock()

        def sim_seconds() -> float:
            return clock.now().nanoseconds * 1e-9

        with emulator._lock:
            now = sim_seconds()
            emulator.clock = sim_seconds
            emulator._last_advance_t = emulator._last_byte_t = now
            for ctl in emulator.controllers.values():
                ctl.last_valid_t = now

    def spin(self, duration_s: float) -> None:
        import time

        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.0)
            self.probe.executor.spin_once(timeout_sec=0.002)

    def wait(self, predicate, what: str, timeout_s: float = 10.0) -> None:
        from helpers.processes import wait_until

        wait_until(predicate, timeout_s, spin=self.spin, what=what)

    def publish_for(self, make_msg, duration_s: float, until=None) -> None:
        """Publish joint_commands at 20 Hz for `duration_s` (or until `until()`), pumping both nodes."""
        import time

        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            self.commands.publish(make_msg())
            self.spin(0.05)
            if until is not None and until():
                return

    def set_clock(self, ns: int) -> None:
        """Publish /clock (best effort, so repeat it) until the node's clock shows `ns`."""
        def arrived() -> bool:
            if self.node.get_clock().now().nanoseconds >= ns:
                return True
            self.clock_pub.publish(Clock(clock=stamp(ns)))
            return False

        self.wait(arrived, f'node clock at {ns}')

    def transition(self, transition_id: int) -> bool:
        self.wait(lambda: self.change.service_is_ready(), 'change_state service')
        future = self.change.call_async(ChangeState.Request(transition=Transition(id=transition_id)))
        self.wait(future.done, f'transition {transition_id}')
        return future.result().success

    def speeds(self) -> dict[int, tuple[int, int]]:
        return {a: self.emulation.emulator.speeds(a) for a in (128, 129, 130)}

    def moving(self) -> bool:
        return all(s != (0, 0) for s in self.speeds().values())

    def close(self) -> None:
        try:
            self.node.on_shutdown()
        finally:
            self.executor.shutdown()
            self.node.destroy_node()
            rclpy.try_shutdown(context=self.ctx)
            self.probe.close()


@pytest.fixture
def rig_factory(emulation):
    rigs = []

    def make(sim_time: bool = False, **overrides) -> Rig:
        rig = Rig(emulation, sim_time, **overrides)
        rigs.append(rig)
        return rig

    try:
        yield make
    finally:
        for rig in rigs:
            rig.close()


def test_lifecycle_and_stop_within_timeout_plus_one_period_on_sim_time(rig_factory):
    rig = rig_factory(sim_time=True)
    rig.set_clock(START_NS)
    assert rig.transition(Transition.TRANSITION_CONFIGURE)
    rig.wait(lambda: rig.commands.get_subscription_count() >= 1, 'driver subscribed')
    rig.commands.publish(forward(START_NS))
    rig.spin(0.2)
    assert not rig.moving()  # configured but inactive: motors disabled
    assert rig.transition(Transition.TRANSITION_ACTIVATE)
    rig.commands.publish(forward(START_NS))
    rig.wait(rig.moving, 'motors to follow joint_commands')
    expected = round(0.5 * 3591.84 / (2 * math.pi))
    assert rig.speeds() == {128: (-expected, -expected), 129: (-expected, expected), 130: (expected, expected)}
    t = START_NS
    stop_ns = None
    while t < START_NS + 2 * 10**9 and stop_ns is None:
        t += PERIOD_NS
        rig.set_clock(t)
        # each control tick publishes joint_states stamped with its time: wait for this one
        rig.wait(lambda t=t: any(r.msg.header.stamp == stamp(t) for r in rig.joint_states), f'tick at {t}')
        if all(s == (0, 0) for s in rig.speeds().values()):
            stop_ns = t
    timeout_ns = 500 * 10**6
    assert stop_ns is not None and START_NS + timeout_ns < stop_ns <= START_NS + timeout_ns + PERIOD_NS
    rig.wait(lambda: any(json.loads(r.msg.data)['kind'] == 'command_timeout' for r in rig.events), 'event')
    last = rig.joint_states[-1].msg
    assert list(last.name) == NAMES
    assert last.position[6] == pytest.approx(0.1)  # modelled steering reached its target


def _reset_notice(rig):
    """A publisher of what the speed limiter's estop/reset announces (a plain false clears nothing)."""
    from std_msgs.msg import Empty

    from rover_nav.runtime.estop_link import CLEARED_QOS

    pub = rig.probe.publisher(f'{rig.ns}/estop/cleared', Empty, CLEARED_QOS)
    rig.wait(lambda: pub.get_subscription_count() >= 1, 'driver subscribed to estop/cleared')
    return lambda: pub.publish(Empty())


def test_estop_topic_latches_until_the_reset_notice(rig_factory):
    rig = rig_factory()
    assert rig.transition(Transition.TRANSITION_CONFIGURE)
    assert rig.transition(Transition.TRANSITION_ACTIVATE)
    rig.wait(lambda: rig.commands.get_subscription_count() >= 1, 'driver subscribed')
    rig.publish_for(forward, 2.0, until=rig.moving)
    assert rig.moving()
    estop = rig.probe.publisher(f'{rig.ns}/estop', Bool, qos.LATCHED)
    estop.publish(Bool(data=True))
    rig.wait(lambda: all(s == (0, 0) for s in rig.speeds().values()), 'e-stop to stop the motors')
    rig.publish_for(forward, 0.3)
    assert all(s == (0, 0) for s in rig.speeds().values())  # latched: commands are ignored
    estop.publish(Bool(data=False))  # a plain false from anyone clears nothing
    rig.publish_for(forward, 0.3)
    assert all(s == (0, 0) for s in rig.speeds().values()) and rig.node.core.estop.latched
    _reset_notice(rig)()  # what the speed limiter announces after estop/reset
    rig.publish_for(forward, 2.0, until=rig.moving)
    assert rig.moving()


def test_gpio_estop_publishes_and_holds_while_pressed(rig_factory):
    rig = rig_factory()
    assert rig.transition(Transition.TRANSITION_CONFIGURE)
    assert rig.transition(Transition.TRANSITION_ACTIVATE)
    rig.wait(lambda: rig.commands.get_subscription_count() >= 1, 'driver subscribed')
    rig.publish_for(forward, 2.0, until=rig.moving)
    rig.emulation.pin.high = True
    rig.wait(lambda: any(r.msg.data for r in rig.estop_msgs), '/estop true from the GPIO switch')
    assert all(s == (0, 0) for s in rig.speeds().values())
    reset = _reset_notice(rig)
    count = len(rig.estop_msgs)
    reset()  # a reset while the mushroom is still pressed...
    # the driver answers with estop true again (the order against our own false is not defined)
    rig.wait(lambda: any(r.msg.data for r in rig.estop_msgs[count:]), 'estop true re-asserted')
    assert rig.node.core.estop.latched
    rig.publish_for(forward, 0.3)
    assert all(s == (0, 0) for s in rig.speeds().values())
    rig.emulation.pin.high = False
    reset()  # ...and after releasing it
    rig.publish_for(forward, 2.0, until=rig.moving)
    assert rig.moving()
    assert not rig.node.core.estop.latched and not rig.node._published_estop  # our latched true withdrawn


def test_outputs_and_malformed_input(rig_factory):
    rig = rig_factory()
    imu = rig.probe.subscribe(f'{rig.ns}/imu', Imu, qos.SENSOR_SUB)
    battery = rig.probe.subscribe(f'{rig.ns}/battery', BatteryState, qos.COMMAND)
    diags = rig.probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    assert rig.transition(Transition.TRANSITION_CONFIGURE)
    assert rig.transition(Transition.TRANSITION_ACTIVATE)
    rig.wait(lambda: imu and battery and diags, 'imu, battery and diagnostics')
    assert imu[-1].msg.header.frame_id == 'imu_link'
    assert imu[-1].msg.linear_acceleration.z == pytest.approx(9.81, abs=0.01)
    assert battery[-1].msg.voltage == pytest.approx(14.8)
    status = {s.name: s for s in diags[-1].msg.status}
    assert any('MODELLED' in kv.value for kv in status['hardware_driver: steering'].values)
    assert 'hardware_driver: roboclaw 130' in status
    bad = forward()
    bad.velocity[2] = math.inf
    rig.wait(lambda: rig.commands.get_subscription_count() >= 1, 'driver subscribed')
    rig.publish_for(lambda: bad, 0.3)
    assert all(s == (0, 0) for s in rig.speeds().values())
    assert rig.node.core.rejected_commands >= 1


def test_deactivate_stops_and_centres(rig_factory):
    rig = rig_factory()
    assert rig.transition(Transition.TRANSITION_CONFIGURE)
    assert rig.transition(Transition.TRANSITION_ACTIVATE)
    rig.wait(lambda: rig.commands.get_subscription_count() >= 1, 'driver subscribed')
    rig.publish_for(lambda: forward(steer=0.3), 2.0, until=rig.moving)
    assert rig.emulation.pca.pulse_us(0) > 1600
    assert rig.transition(Transition.TRANSITION_DEACTIVATE)
    assert all(s == (0, 0) for s in rig.speeds().values())
    assert rig.emulation.pca.pulse_us(0) == pytest.approx(1500, abs=5)
    assert rig.transition(Transition.TRANSITION_CLEANUP)
    assert rig.node.core is None


def test_configure_fails_cleanly_when_a_controller_is_missing(rig_factory):
    rig = rig_factory(roboclaw_addresses=[128, 129, 131],
                      wheel_channels=['128:M1', '128:M2', '129:M1', '129:M2', '131:M1', '131:M2'])
    assert not rig.transition(Transition.TRANSITION_CONFIGURE)
    assert rig.node.core is None


def test_invalid_lifecycle_transitions_are_refused_and_the_node_lives_on(rig_factory):
    """rclpy raises RCLError for a transition not registered in the current state; the driver answers
    success = false instead of dying (issue 18, finding 7)."""
    rig = rig_factory()
    assert not rig.transition(Transition.TRANSITION_ACTIVATE)  # unconfigured
    assert not rig.transition(Transition.TRANSITION_DEACTIVATE)
    assert not rig.transition(Transition.TRANSITION_CLEANUP)
    assert not rig.transition(99)  # no such transition at all
    assert rig.transition(Transition.TRANSITION_CONFIGURE)
    assert not rig.transition(Transition.TRANSITION_CONFIGURE)  # configure while configured
    assert rig.transition(Transition.TRANSITION_ACTIVATE)
    assert not rig.transition(Transition.TRANSITION_ACTIVATE)  # activate while active
    assert not rig.transition(Transition.TRANSITION_CONFIGURE)  # configure while active
    assert rig.transition(Transition.TRANSITION_DEACTIVATE)
    assert not rig.transition(Transition.TRANSITION_DEACTIVATE)  # deactivate twice
    label = rig.change.call_async(ChangeState.Request(transition=Transition(label='shutdown_now')))
    rig.wait(label.done, 'an unknown label answered')
    assert not label.result().success
    assert rig.node.core is not None and rig.node.context.ok()


class _GatedPort:
    """A serial port whose reads wait for `gate`: a controller that does not answer (yet)."""

    def __init__(self, inner, gate) -> None:
        object.__setattr__(self, '_inner', inner)
        object.__setattr__(self, '_gate', gate)

    def read(self, n: int) -> bytes:
        self._gate.wait()
        return self._inner.read(n)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._inner, name, value)


def test_lifecycle_queries_answer_while_serial_io_blocks(emulation):
    """get_state must answer while configure waits on a dead serial line (finding 8): the query
    services have their own callback group, so the blocked transition does not hold them."""
    import dataclasses
    import threading

    from lifecycle_msgs.srv import GetState

    from rover_nav.hardware.driver_node import HardwareDriverNode, spin_two_threads

    gate = threading.Event()  # closed: every read blocks
    plain = emulation.factories()
    open_port = plain.serial
    factories = dataclasses.replace(plain, serial=lambda p, b, t: _GatedPort(open_port(p, b, t), gate))
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    params = board_params(autostart=True)
    node = HardwareDriverNode(geometry=hobby_geometry(), factories=factories, context=ctx, namespace='/hw_gated',
                              parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    spinner = threading.Thread(target=spin_two_threads, args=(node,), daemon=True)
    spinner.start()
    probe = RosProbe('hw_gated_probe')
    try:
        client = probe.node.create_client(GetState, '/hw_gated/hardware_driver/get_state')
        probe.wait_for(lambda: client.service_is_ready(), 10.0, 'get_state service')
        probe.wait_for(lambda: gate_is_blocking(emulation), 10.0, 'autostart configure waiting on the serial line')
        future = client.call_async(GetState.Request())
        probe.wait_for(future.done, 10.0, 'get_state answered while configure is blocked')
        assert future.result().current_state.label in ('unconfigured', 'configuring')
    finally:
        gate.set()
        probe.close()
        rclpy.try_shutdown(context=ctx)
        spinner.join(timeout=10.0)
        node.on_shutdown()
        node.destroy_node()


def gate_is_blocking(emulation) -> bool:
    """The driver has written its first handshake packet (READ_VERSION), whose reply read now waits."""
    from rover_nav.hardware.roboclaw_protocol import Cmd

    return bool(emulation.emulator.frames_of(Cmd.READ_VERSION))
