"""The intra-process bus of composed nodes: what DDS would deliver, delivered without DDS.

Nodes share a context with a bus attached, as `rover run` composes them; a RosProbe in its own
context is "another process" (it talks DDS only).
"""

from __future__ import annotations

from helpers.processes import wait_until
import pytest
import rclpy
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from std_msgs.msg import Bool, Int32, String

from rover_nav.runtime import qos
from rover_nav.runtime.intra_process import IntraProcessMixin, attach_bus, bus_of, dds_would_match, message_of
from rover_nav.runtime.spinning import spin_composed


class _Node(IntraProcessMixin, Node):
    pass


@pytest.fixture
def composed():
    """A context with a bus, an EventsExecutor and a factory of composed nodes."""
    context = rclpy.Context()
    rclpy.init(context=context)
    bus = attach_bus(context)
    executor = EventsExecutor(context=context)
    nodes: list[Node] = []

    def make(name: str) -> Node:
        node = _Node(name, context=context)
        executor.add_node(node)
        nodes.append(node)
        return node

    def spin_until(predicate, timeout_s: float = 5.0, what: str = 'condition') -> None:
        wait_until(predicate, timeout_s, spin=lambda _s: spin_composed(executor, bus, 0.01), what=what)

    try:
        yield make, bus, spin_until
    finally:
        for node in nodes:
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown(context=context)


def _profile(reliable: bool, latched: bool = False, depth: int = 5) -> QoSProfile:
    return QoSProfile(depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


@pytest.mark.parametrize(('pub', 'sub', 'match'), [
    (_profile(True), _profile(True), True),
    (_profile(True), _profile(False), True),
    (_profile(False), _profile(True), False),  # best effort offered, reliable requested
    (_profile(False), _profile(False), True),
    (_profile(True, latched=True), _profile(True), True),
    (_profile(True), _profile(True, latched=True), False),  # volatile offered, transient local requested
])
def test_local_delivery_follows_the_dds_qos_rule(pub, sub, match):
    assert dds_would_match(pub, sub) is match


def test_messages_reach_local_subscribers_in_publish_order_without_dds(composed):
    make, bus, spin_until = composed
    talker, listener = make('talker'), make('listener')
    got: list[int] = []
    listener.create_subscription(Int32, 'numbers', lambda m: got.append(m.data), qos.STATE)
    pub = talker.create_publisher(Int32, 'numbers', qos.STATE)
    sent = [Int32(data=i) for i in range(8)]
    for msg in sent:
        pub.publish(msg)
    assert got == []  # never inside publish(): callbacks run on the next slice
    spin_until(lambda: len(got) == 8, what='8 local messages')
    assert got == list(range(8))
    assert bus.local_messages['/numbers'] == 8 and bus.dds_messages['/numbers'] == 0


def test_subscribers_get_the_same_object_and_a_raw_one_gets_its_cdr_bytes(composed):
    make, _bus, spin_until = composed
    talker, a, b = make('talker'), make('a'), make('b')
    seen_a: list[String] = []
    seen_raw: list[bytes] = []
    a.create_subscription(String, 'words', seen_a.append, qos.STATE)
    b.create_subscription(String, 'words', seen_raw.append, qos.STATE, raw=True)
    msg = String(data='regolith')
    talker.create_publisher(String, 'words', qos.STATE).publish(msg)
    spin_until(lambda: seen_a and seen_raw, what='both subscribers')
    assert seen_a[0] is msg
    assert isinstance(seen_raw[0], bytes)
    assert deserialize_message(seen_raw[0], String).data == 'regolith'
    assert message_of(seen_raw[0], String) is msg  # no decoding needed on the bus


def test_message_of_decodes_plain_cdr_bytes():
    from rclpy.serialization import serialize_message

    assert message_of(serialize_message(String(data='dds')), String).data == 'dds'


def test_keep_last_depth_drops_the_oldest_like_dds(composed):
    make, _bus, spin_until = composed
    talker, listener = make('talker'), make('listener')
    got: list[int] = []
    listener.create_subscription(Int32, 'burst', lambda m: got.append(m.data), _profile(True, depth=3))
    pub = talker.create_publisher(Int32, 'burst', _profile(True, depth=10))
    for i in range(10):
        pub.publish(Int32(data=i))
    spin_until(lambda: len(got) == 3, what='the last 3 of a burst of 10')
    assert got == [7, 8, 9]


def test_best_effort_publisher_does_not_reach_a_reliable_local_subscriber(composed):
    make, _bus, spin_until = composed
    talker, strict, relaxed = make('talker'), make('strict'), make('relaxed')
    strict_got: list[int] = []
    relaxed_got: list[int] = []
    strict.create_subscription(Int32, 'mixed', lambda m: strict_got.append(m.data), _profile(True))
    relaxed.create_subscription(Int32, 'mixed', lambda m: relaxed_got.append(m.data), _profile(False))
    talker.create_publisher(Int32, 'mixed', _profile(False)).publish(Int32(data=1))
    spin_until(lambda: relaxed_got, what='the best-effort subscriber')
    assert strict_got == []


def test_an_outside_subscriber_switches_the_topic_to_dds_and_nothing_arrives_twice(composed, probe):
    make, bus, spin_until = composed
    talker, listener = make('talker'), make('listener')
    local: list[int] = []
    listener.create_subscription(Int32, 'shared', lambda m: local.append(m.data), qos.STATE)
    pub = talker.create_publisher(Int32, 'shared', qos.STATE)
    outside = probe.subscribe('shared', Int32, qos.STATE)
    # wait until DDS has matched both the local and the outside subscriber
    spin_until(lambda: pub.get_subscription_count() >= 2, what='DDS matching')
    for i in range(5):
        pub.publish(Int32(data=i))

    def both_have_all() -> bool:
        probe.spin(0.01)
        return len(local) >= 5 and len(outside) >= 5
    spin_until(both_have_all, what='5 messages inside and outside')
    # a duplicate would come right behind the originals: watch both sides for a while longer
    seen = (len(local), len(outside))
    with pytest.raises(TimeoutError):
        spin_until(lambda: (probe.spin(0.01), (len(local), len(outside)) != seen)[1], timeout_s=0.5,
                   what='a duplicate')
    assert local == list(range(5))
    assert [r.msg.data for r in outside] == list(range(5))
    assert bus.dds_messages['/shared'] == 5 and bus.local_messages['/shared'] == 0


def test_latched_state_keeps_to_dds_so_a_late_local_subscriber_still_gets_it(composed):
    make, bus, spin_until = composed
    talker = make('talker')
    talker.create_publisher(Bool, 'estop', qos.LATCHED).publish(Bool(data=True))
    late = make('late')
    got: list[bool] = []
    late.create_subscription(Bool, 'estop', lambda m: got.append(m.data), qos.LATCHED)
    spin_until(lambda: got, what='the latched e-stop')
    assert got == [True]
    assert bus.local_messages['/estop'] == 0 and bus.dds_messages['/estop'] == 0  # not on the bus at all


def test_a_destroyed_node_leaves_the_bus(composed):
    make, bus, spin_until = composed
    talker, listener = make('talker'), make('listener')
    got: list[int] = []
    listener.create_subscription(Int32, 'gone', lambda m: got.append(m.data), qos.STATE)
    pub = talker.create_publisher(Int32, 'gone', qos.STATE)
    pub.publish(Int32(data=1))
    listener.destroy_node()
    pub.publish(Int32(data=2))
    spin_until(lambda: not bus.pending, what='an empty bus')
    assert got == []
    assert bus.route('/gone', Int32, qos.STATE).local == []


def test_without_a_bus_nodes_are_plain_rclpy_nodes(probe):
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = _Node('plain', context=context)
        pub = node.create_publisher(Int32, 'plain', qos.STATE)
        assert bus_of(context) is None
        box = probe.subscribe('plain', Int32, qos.STATE)
        probe.wait_for(lambda: pub.get_subscription_count() >= 1, 10.0, 'DDS matching')
        pub.publish(Int32(data=3))
        probe.wait_for(lambda: box, 10.0, 'the message over DDS')
        assert box[0].msg.data == 3
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_sim_time_timers_fire_on_the_clock_the_bus_delivers(composed):
    """A 0.1 s timer on sim time: once per deadline passed, missed periods skipped (rcl's rule)."""
    from rclpy.parameter import Parameter
    from rosgraph_msgs.msg import Clock

    from rover_nav.runtime.intra_process import SimTimeTimer

    make, bus, spin_until = composed
    clock_node = make('sim')
    context = clock_node.context
    watched = _Node('watched', context=context, parameter_overrides=[Parameter('use_sim_time', value=True)])
    fired: list[float] = []
    timer = watched.create_timer(0.1, lambda: fired.append(round(watched.get_clock().now().nanoseconds * 1e-9, 6)))
    assert isinstance(timer, SimTimeTimer)
    clock_pub = clock_node.create_publisher(Clock, '/clock', qos.CLOCK)

    def tick(t: float) -> None:
        clock_pub.publish(Clock(clock=rclpy.time.Time(nanoseconds=round(t * 1e9)).to_msg()))
        spin_until(lambda: not bus.pending, what=f'clock {t}')

    try:
        tick(0.05)
        assert fired == []
        tick(0.1)
        assert fired == [0.1]
        tick(0.15)
        tick(0.55)  # four periods missed: fires once, next deadline 0.6
        assert fired == [0.1, 0.55]
        tick(0.6)
        assert fired == [0.1, 0.55, 0.6]
        timer.cancel()
        tick(1.0)
        assert len(fired) == 3
        timer.reset()  # restarts from now: next deadline 1.1
        tick(1.05)
        tick(1.1)
        assert fired[-1] == 1.1
        watched.destroy_timer(timer)
        tick(2.0)
        assert fired[-1] == 1.1
    finally:
        watched.destroy_node()


def test_timers_on_the_wall_clock_stay_with_the_executor(composed):
    make, _bus, _spin_until = composed
    node = make('walltime')
    timer = node.create_timer(0.1, lambda: None)
    assert type(timer).__name__ == 'Timer'  # use_sim_time is false: a real rcl timer


def test_sim_time_timers_also_fire_when_the_clock_comes_over_dds(composed, probe):
    """An outside /clock publisher (Gazebo, a bag, a probe) drives the composed node's timers too."""
    from rclpy.parameter import Parameter
    from rosgraph_msgs.msg import Clock

    make, bus, spin_until = composed
    context = make('anchor').context
    watched = _Node('watched_dds', context=context, parameter_overrides=[Parameter('use_sim_time', value=True)])
    fired: list[int] = []
    watched.create_timer(0.1, lambda: fired.append(watched.get_clock().now().nanoseconds))
    clock_pub = probe.publisher('/clock', Clock, qos.CLOCK)
    try:
        probe.wait_for_subscribers(clock_pub)
        executor = EventsExecutor(context=context)
        executor.add_node(watched)

        def publish_and_spin() -> bool:
            clock_pub.publish(Clock(clock=rclpy.time.Time(seconds=5.0).to_msg()))
            spin_composed(executor, bus, 0.05)
            return bool(fired)

        wait_until(publish_and_spin, 10.0, what='the timer on a DDS clock')
        assert fired[0] == 5_000_000_000
        executor.remove_node(watched)
        executor.shutdown()
    finally:
        watched.destroy_node()


class _FakeSubscription:
    """What LocalSubscription reads from an rclpy subscription (no DDS needed for the ordering rule)."""

    def __init__(self, topic: str, depth: int, callback) -> None:
        self.topic_name = topic
        self.msg_type = Int32
        self.qos_profile = _profile(True, depth=depth)
        self.raw = False
        self.callback = callback


def test_keep_last_overflow_never_delivers_a_message_ahead_of_an_earlier_publish():
    """Depth 1: cmd@t1, clock@t2, cmd@t2 must deliver [clock t2, cmd t2], never cmd t2 before its clock."""
    from rover_nav.runtime.intra_process import IntraProcessBus

    bus = IntraProcessBus()
    got: list[tuple[str, int]] = []
    cmd = bus.add(None, _FakeSubscription('/cmd', 1, lambda m: got.append(('cmd', m.data))))
    clock = bus.add(None, _FakeSubscription('/clock', 1, lambda m: got.append(('clock', m.data))))
    cmd_route, clock_route = bus.route('/cmd', Int32, cmd.qos), bus.route('/clock', Int32, clock.qos)
    bus.push(cmd_route, Int32(data=1))
    bus.push(clock_route, Int32(data=2))
    bus.push(cmd_route, Int32(data=2))
    assert bus.deliver() == 2
    assert got == [('clock', 2), ('cmd', 2)]
    assert not bus.pending


class _FakeClockNode:
    def __init__(self) -> None:
        self.now_ns = 0

    def get_clock(self):
        node = self

        class _Clock:
            def now(self):
                return rclpy.time.Time(nanoseconds=node.now_ns)

        return _Clock()


def test_sim_time_timer_skips_missed_periods_to_the_first_deadline_after_now():
    """rcl's rule: after a jump over several periods the timer fires once, and its next deadline is the
    first period boundary after now (not the next missed one, which would fire again at once)."""
    from rover_nav.runtime.intra_process import SimTimeTimer

    node = _FakeClockNode()
    fired: list[int] = []
    timer = SimTimeTimer(node, lambda: fired.append(node.now_ns), 100)
    for now in (50, 100, 150, 550, 580, 599, 600, 650, 700):
        node.now_ns = now
        timer.fire_if_due(now)
    assert fired == [100, 550, 600, 700]


def test_a_raising_callback_is_counted_and_the_next_messages_still_delivered(capsys):
    """One hostile message (RecursionError, OverflowError in a node) must not end every node of the process."""
    from rover_nav.runtime.intra_process import IntraProcessBus

    bus = IntraProcessBus()
    got: list[int] = []

    def fragile(msg: Int32) -> None:
        if msg.data == 1:
            raise RecursionError('nested too deep')
        got.append(msg.data)

    sub = bus.add(None, _FakeSubscription('/events', 10, fragile))
    route = bus.route('/events', Int32, sub.qos)
    for i in range(3):
        bus.push(route, Int32(data=i))
    assert bus.deliver() == 3
    assert got == [0, 2]
    assert bus.callback_errors['/events'] == 1
    assert 'RecursionError' in capsys.readouterr().err
