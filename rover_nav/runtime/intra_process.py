"""Intra-process delivery for nodes composed in one process (what rclcpp's `use_intra_process_comms` does).

rclpy has no intra-process path: a message from one node to another node of the same process is
serialised, written to DDS, taken and deserialised again, and for a lockstep drive (a dozen
topics at 10-50 Hz through eight nodes) that is most of the chain's cost. When a runner
attaches an `IntraProcessBus` to the rclpy context it composes its nodes in, every node built
on `IntraProcessMixin` (all our nodes) hands messages to the other nodes of that context
directly, as the very same Python object:
- A publish goes to each local subscription of the same topic and type whose QoS DDS would
  match (a best-effort publisher does not reach a reliable subscriber, and so on). The
  subscription queues it (keep-last, its own depth; raw subscriptions get the CDR bytes, as a
  `SerializedMessage` that also carries the object: `message_of` skips the decoding; a raw
  subscription whose callback has `takes_messages = True` gets the object itself and serialises
  it when and where it wants, e.g. the track logger in its writer thread) and
  the bus remembers the order; `deliver()` (the runner calls it between executor slices) runs
  the callbacks in publish order, never inside `publish()`. /clock takes the same path, so a
  node's clock has always seen tick k before the node sees a message stamped t_k.
- Every node still creates its real DDS endpoints, so other processes (a `rover estop`, a
  probe, `ros2 topic echo`) reach the composed nodes as before. A publisher uses DDS instead of
  the bus whenever DDS reports a subscriber that is not one of the bus's local ones (the local
  ones then get the message over DDS too, so nothing arrives twice); latched (transient local)
  publishers always use DDS, so late joiners get the latched value from the DDS history.
- Timers on a node's simulated clock (use_sim_time) are fired by the bus, not by the executor:
  right after the node's /clock callback (over the bus or, with an outside /clock subscriber,
  over DDS), every timer of the node whose deadline has passed fires once (rcl's rule: missed
  periods are skipped), in creation order. The executor gets only a few turns per batch of
  messages (~80 us each even when idle), so it could not keep sim-time watchdogs on their
  ticks; this way they see the same clock, at the same point of every tick, on every run.
- Subscribers must treat received messages as read-only, as with rclcpp's shared const
  messages: several subscribers may hold the same object.
Without a bus attached (one node per process, launch files, the real board) nothing changes.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
import sys
import time
import traceback
from typing import Any
import weakref

from rclpy.qos import DurabilityPolicy, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message

from rover_nav.runtime.clock_guard import ClockMessageFilter

_BUSES: weakref.WeakKeyDictionary[Any, IntraProcessBus] = weakref.WeakKeyDictionary()


def attach_bus(context: Any) -> IntraProcessBus:
    """Give `context` an intra-process bus; nodes created on it afterwards use it."""
    bus = _BUSES.get(context)
    if bus is None:
        bus = _BUSES[context] = IntraProcessBus()
    return bus


def bus_of(context: Any) -> IntraProcessBus | None:
    return _BUSES.get(context)


def dds_would_match(pub_qos: Any, sub_qos: Any) -> bool:
    """The DDS request-offered rule for the two policies our profiles set (reliability, durability)."""
    if sub_qos.reliability == ReliabilityPolicy.RELIABLE and pub_qos.reliability != ReliabilityPolicy.RELIABLE:
        return False
    return not (sub_qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
                and pub_qos.durability != DurabilityPolicy.TRANSIENT_LOCAL)


class SerializedMessage(bytes):
    """CDR bytes for a raw subscription, with the message object they were made from (no decoding needed)."""

    message: Any = None


def message_of(data: Any, msg_type: Any) -> Any:
    """The message in raw subscription data: the bus's object when it came over the bus, else decoded CDR."""
    if isinstance(data, msg_type):
        return data
    message = getattr(data, 'message', None)
    if message is not None and isinstance(message, msg_type):
        return message
    return deserialize_message(data, msg_type)


class LocalSubscription:
    """The bus side of one rclpy subscription: a keep-last queue of the messages not yet delivered."""

    def __init__(self, node: Any, subscription: Any) -> None:
        self.node = node
        self.subscription = subscription
        self.msg_type = subscription.msg_type
        self.qos = subscription.qos_profile
        # raw, and the CDR bytes are made here: unless the callback takes message objects too
        self.raw = subscription.raw and not getattr(subscription.callback, 'takes_messages', False)
        self.callback: Callable[[Any], None] = subscription.callback
        # (sequence number of the push, message): keep-last, its own depth
        self.queue: deque[tuple[int, Any]] = deque(maxlen=max(1, self.qos.depth))
        self.delivered = 0


class SimTimeTimer:
    """A timer on a composed node's simulated clock, fired by the bus (the rclpy Timer interface callers use)."""

    def __init__(self, node: Any, callback: Callable[[], Any], period_ns: int, autostart: bool = True) -> None:
        self.node = node
        self.callback = callback
        self._period_ns = int(period_ns)
        self._canceled = not autostart
        self._last_ns = self._now_ns()
        self._next_ns = self._last_ns + self._period_ns

    def _now_ns(self) -> int:
        return int(self.node.get_clock().now().nanoseconds)

    @property
    def clock(self) -> Any:
        return self.node.get_clock()

    @property
    def timer_period_ns(self) -> int:
        return self._period_ns

    @timer_period_ns.setter
    def timer_period_ns(self, value: int) -> None:
        self._period_ns = int(value)
        self._next_ns = self._last_ns + self._period_ns

    def is_ready(self) -> bool:
        return not self._canceled and self._now_ns() >= self._next_ns

    def is_canceled(self) -> bool:
        return self._canceled

    def cancel(self) -> None:
        self._canceled = True

    def reset(self) -> None:
        self._canceled = False
        self._last_ns = self._now_ns()
        self._next_ns = self._last_ns + self._period_ns

    def time_since_last_call(self) -> int:
        return self._now_ns() - self._last_ns

    def time_until_next_call(self) -> int | None:
        return None if self._canceled else self._next_ns - self._now_ns()

    def fire_if_due(self, now_ns: int) -> None:
        """Call back once if the deadline passed; the next deadline is the first one after now."""
        if self._canceled or now_ns < self._next_ns:
            return
        self._last_ns = now_ns
        if self._period_ns > 0:
            self._next_ns += ((now_ns - self._next_ns) // self._period_ns + 1) * self._period_ns
        else:
            self._next_ns = now_ns + 1  # a zero period: once per clock step
        self.callback()

    def destroy(self) -> None:
        self._canceled = True


class _Route:
    """What one publisher reaches on the bus: its matching local subscriptions (recomputed on change)."""

    __slots__ = ('topic', 'local', 'dds_local')

    def __init__(self, topic: str, local: list[LocalSubscription], dds_local: int) -> None:
        self.topic = topic
        self.local = local
        self.dds_local = dds_local


class IntraProcessBus:
    """Local subscriptions by resolved topic name; publishers look their route up here."""

    def __init__(self) -> None:
        self._subs: dict[str, list[LocalSubscription]] = {}
        # one (subscription, sequence number) per push, in publish order; an entry whose message a
        # keep-last queue has since dropped is skipped (its number is no longer at that queue's front)
        self._order: deque[tuple[LocalSubscription, int]] = deque()
        self._seq = 0
        self._timers: dict[Any, list[SimTimeTimer]] = {}  # node -> its sim-time timers
        self._version = 0
        self.local_messages: Counter[str] = Counter()  # per topic: published on the bus
        self.dds_messages: Counter[str] = Counter()  # per topic: published on DDS (an outside subscriber)
        self.callback_errors: Counter[str] = Counter()  # per topic: callbacks that raised (message dropped)

    @property
    def version(self) -> int:
        """Changes whenever a subscription comes or goes (publishers then recompute their routes)."""
        return self._version

    def add(self, node: Any, subscription: Any) -> LocalSubscription:
        local = LocalSubscription(node, subscription)
        self._subs.setdefault(subscription.topic_name, []).append(local)
        self._version += 1
        return local

    def remove(self, subscription: Any) -> None:
        for topic, subs in list(self._subs.items()):
            kept = [s for s in subs if s.subscription is not subscription]
            for gone in subs:
                if gone.subscription is subscription:
                    gone.queue.clear()
            if len(kept) != len(subs):
                self._subs[topic] = kept
                self._version += 1

    def add_timer(self, timer: SimTimeTimer) -> None:
        self._timers.setdefault(timer.node, []).append(timer)

    def remove_timer(self, timer: SimTimeTimer) -> None:
        timers = self._timers.get(timer.node, [])
        if timer in timers:
            timers.remove(timer)
        timer.destroy()

    def fire_timers(self, node: Any, now_ns: int) -> None:
        """Fire the node's sim-time timers that are due (called after its clock moved to `now_ns`)."""
        timers = self._timers.get(node)
        if timers:
            for timer in list(timers):
                timer.fire_if_due(now_ns)

    def remove_node(self, node: Any) -> None:
        for timer in list(self._timers.pop(node, ())):
            timer.destroy()
        for subs in self._subs.values():
            for s in [s for s in subs if s.node is node]:
                self.remove(s.subscription)

    def push(self, route: _Route, msg: Any) -> None:
        """Queue `msg` for every subscription of `route` (raw ones get its CDR bytes)."""
        self.local_messages[route.topic] += 1
        self._seq += 1
        seq = self._seq
        data = None
        for sub in route.local:
            if sub.raw:
                if data is None:
                    data = SerializedMessage(serialize_message(msg))
                    data.message = msg
                sub.queue.append((seq, data))
            else:
                sub.queue.append((seq, msg))
            self._order.append((sub, seq))

    def _callback_failed(self, sub: LocalSubscription, exc: Exception) -> None:
        """Count a callback's exception and report it (with its traceback the first time per topic)."""
        topic = sub.subscription.topic_name
        self.callback_errors[topic] += 1
        n = self.callback_errors[topic]
        if n == 1 or n in (10, 100, 1000) or n % 10000 == 0:
            name = sub.node.get_name() if hasattr(sub.node, 'get_name') else '?'
            text = f'{name}: callback on {topic} raised {type(exc).__name__}: {str(exc)[:300]} ({n} so far; ' \
                   'the message is dropped, the node goes on)'
            if n == 1:
                text += '\n' + ''.join(traceback.format_exception(exc))[-3000:]
            print(text, file=sys.stderr, flush=True)

    @property
    def pending(self) -> bool:
        return bool(self._order)

    def deliver(self, limit: int = 1_000_000, until: float | None = None,
                stop: Callable[[], bool] | None = None) -> int:
        """Run queued callbacks in publish order (callbacks may publish more); returns how many ran.

        Stops after `limit` callbacks, once `time.monotonic()` passes `until`, or as soon as
        `stop()` is true (checked after every callback: a drive ends at the same message on every
        run). A message a keep-last queue dropped on overflow is skipped with its order entry, so
        every message delivered comes at its own place in the publish order (never a later message
        of that subscription in the place of the dropped one: a command ahead of its clock).
        """
        order = self._order
        ran = 0
        while order and ran < limit:
            sub, seq = order.popleft()
            queue = sub.queue
            if queue and queue[0][0] == seq:
                sub.delivered += 1
                ran += 1
                try:
                    sub.callback(queue.popleft()[1])
                except Exception as exc:  # one bad message must not stop every node of the process
                    self._callback_failed(sub, exc)
                if (stop is not None and stop()) or (until is not None and time.monotonic() >= until):
                    break
        return ran

    def route(self, topic: str, msg_type: Any, pub_qos: Any) -> _Route:
        """Local subscriptions a publisher of (topic, type, QoS) reaches, and how many of them DDS also matches."""
        same = [s for s in self._subs.get(topic, ()) if s.msg_type is msg_type]
        matching = [s for s in same if dds_would_match(pub_qos, s.qos)]
        return _Route(topic, matching, len(matching))


class IntraProcessPublisher:
    """Mixed into rclpy's Publisher by `IntraProcessMixin.create_publisher` (see the module docstring)."""

    _bus: IntraProcessBus | None = None
    _route: _Route | None = None
    _route_version = -1

    def publish(self, msg: Any) -> None:
        bus = self._bus
        if bus is None or isinstance(msg, bytes):
            super().publish(msg)  # type: ignore[misc]
            return
        route = self._route
        if route is None or self._route_version != bus.version:
            route = self._route = bus.route(self.topic_name, self.msg_type, self.qos_profile)  # type: ignore[attr-defined]
            self._route_version = bus.version
        if self.get_subscription_count() > route.dds_local:  # type: ignore[attr-defined]
            bus.dds_messages[route.topic] += 1
            super().publish(msg)  # type: ignore[misc]
            return
        if not isinstance(msg, self.msg_type):  # type: ignore[attr-defined]
            raise TypeError(f'Expected {self.msg_type}, got {type(msg)}')  # type: ignore[attr-defined]
        bus.push(route, msg)


_PUBLISHER_CLASSES: dict[type, type] = {}


def _intra_process_class(base: type) -> type:
    cls = _PUBLISHER_CLASSES.get(base)
    if cls is None:
        cls = _PUBLISHER_CLASSES[base] = type(f'IntraProcess{base.__name__}', (IntraProcessPublisher, base), {})
    return cls


def _then_fire_timers(callback: Callable[[Any], Any], bus: IntraProcessBus, node: Any) -> Callable[[Any], None]:
    def clock_then_timers(msg: Any) -> None:
        callback(msg)
        stamp = msg.clock  # the node's clock now reads this (its TimeSource has just set it)
        bus.fire_timers(node, stamp.sec * 1_000_000_000 + stamp.nanosec)

    return clock_then_timers


class IntraProcessMixin:
    """Node mixin: publishers and subscriptions join the context's bus when a runner attached one."""

    def create_publisher(self, msg_type: Any, topic: str, qos_profile: Any, **kwargs: Any) -> Any:
        bus = bus_of(self.context)  # type: ignore[attr-defined]
        if bus is None:
            return super().create_publisher(msg_type, topic, qos_profile, **kwargs)  # type: ignore[misc]
        from rclpy.publisher import Publisher

        base = kwargs.pop('publisher_class', Publisher)
        pub = super().create_publisher(msg_type, topic, qos_profile,  # type: ignore[misc]
                                       publisher_class=_intra_process_class(base), **kwargs)
        if pub.qos_profile.durability != DurabilityPolicy.TRANSIENT_LOCAL:
            pub._bus = bus  # latched publishers keep to DDS: late joiners need the DDS history
        return pub

    def create_subscription(self, msg_type: Any, topic: str, callback: Any, qos_profile: Any, **kwargs: Any) -> Any:
        from rosgraph_msgs.msg import Clock

        bus = bus_of(self.context)  # type: ignore[attr-defined]
        if bus is not None and msg_type is Clock and not kwargs.get('raw'):
            callback = _then_fire_timers(callback, bus, self)  # the node's clock moves here (its TimeSource)
        if msg_type is Clock and not kwargs.get('raw'):  # rclpy's TimeSource raises on a negative /clock
            callback = ClockMessageFilter(callback, self._warn_bad_clock)
        sub = super().create_subscription(msg_type, topic, callback, qos_profile, **kwargs)  # type: ignore[misc]
        from rclpy.subscription import Subscription

        # callbacks that want DDS message info stay DDS-only (their publishers then see an outside subscriber)
        if bus is not None and sub._callback_type == Subscription.CallbackType.MessageOnly:
            bus.add(self, sub)
        return sub

    def _warn_bad_clock(self, text: str) -> None:
        self.get_logger().warning(text, throttle_duration_sec=5.0)  # type: ignore[attr-defined]

    def create_timer(self, timer_period_sec: float, callback: Callable[[], Any], callback_group: Any = None,
                     clock: Any = None, autostart: bool = True) -> Any:
        bus = bus_of(self.context)  # type: ignore[attr-defined]
        if bus is not None and clock is None and self._uses_sim_time():
            timer = SimTimeTimer(self, callback, round(timer_period_sec * 1e9), autostart)
            bus.add_timer(timer)
            return timer
        return super().create_timer(timer_period_sec, callback, callback_group, clock,  # type: ignore[misc]
                                    autostart=autostart)

    def destroy_timer(self, timer: Any) -> bool:
        if isinstance(timer, SimTimeTimer):
            bus = bus_of(self.context)  # type: ignore[attr-defined]
            if bus is not None:
                bus.remove_timer(timer)
            return True
        return bool(super().destroy_timer(timer))  # type: ignore[misc]

    def _uses_sim_time(self) -> bool:
        return bool(self.get_parameter('use_sim_time').value)  # type: ignore[attr-defined]

    def destroy_subscription(self, subscription: Any) -> bool:
        bus = bus_of(self.context)  # type: ignore[attr-defined]
        if bus is not None:
            bus.remove(subscription)
        return bool(super().destroy_subscription(subscription))  # type: ignore[misc]

    def destroy_node(self) -> None:
        bus = bus_of(self.context)  # type: ignore[attr-defined]
        if bus is not None:
            bus.remove_node(self)
        super().destroy_node()  # type: ignore[misc]
