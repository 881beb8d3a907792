"""The e-stop latch protocol, one object per node that obeys `/estop` (docs/safety_chain.md, E-stop).

- `true` on `estop` (std_msgs/Bool, reliable + transient local) from anyone latches a stop.
- A node that *holds* the latch (the chain nodes and the drive controller) re-publishes `true`
  on `estop` from its own transient-local publisher while latched. A node that starts or
  restarts while the e-stop is in force therefore receives `true` from every holder still up,
  even after the one-shot `rover estop` that started it has exited.
- `false` on `estop` never clears a latch (it is ignored, with a warning).
- Only the speed limiter's `estop/reset` service (std_srvs/Trigger) clears: the limiter then
  publishes one `std_msgs/Empty` on `estop/cleared` (reliable, volatile: it is an event, a late
  joiner must not replay an old reset). Each node clears on it, and a holder withdraws its
  latched `true` by publishing `false` (which late joiners ignore).
- Every obeying node reports `estop: True/False` in its `/diagnostics` values: that is how
  `rover estop` confirms that every expected node latched.

Thin rclpy helper (the node supplies the callbacks); the decisions are the few lines below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, Empty

from rover_nav.runtime import qos

#: The reset notice: reliable so it is not lost, volatile so a late joiner never replays it.
CLEARED_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
ESTOP_TOPIC = 'estop'
CLEARED_TOPIC = 'estop/cleared'


class EstopLink:
    """Subscribes to `estop` and `estop/cleared`; calls `on_latch(source)` / `on_clear()` on transitions.

    hold: re-publish `true` (transient local) while latched, so late joiners latch too.
    on_repeat: called for a `true` that finds the node latched already (re-confirm the latch
    on /diagnostics at once: a second `rover estop` must not wait for the periodic status).
    clear_always: call `on_clear` for every reset notice, latched here or not (the hardware
    driver: its GPIO switch latches its core without this link).
    announcer: this node resets the others (`announce_cleared`); its publisher exists from the
    start so the notice reaches every subscriber already matched.
    """

    def __init__(self, node: Any, on_latch: Callable[[str], None], on_clear: Callable[[], None],
                 hold: bool = True, announcer: bool = False, on_repeat: Callable[[], None] | None = None,
                 clear_always: bool = False) -> None:
        self._node = node
        self._on_latch = on_latch
        self._on_clear = on_clear
        self._on_repeat = on_repeat
        self._clear_always = clear_always
        self.hold = hold
        self.latched = False
        self.ignored_false = 0  # `false` samples received while latched (each cleared nothing)
        self._holding = False
        self._pub = node.create_publisher(Bool, ESTOP_TOPIC, qos.LATCHED) if hold else None
        self._cleared_pub = node.create_publisher(Empty, CLEARED_TOPIC, CLEARED_QOS) if announcer else None
        node.create_subscription(Bool, ESTOP_TOPIC, self._on_estop, qos.LATCHED)
        node.create_subscription(Empty, CLEARED_TOPIC, self._on_cleared, CLEARED_QOS)

    def _on_estop(self, msg: Bool) -> None:
        if msg.data:
            if not self.latch('estop topic') and self._on_repeat is not None:
                self._on_repeat()
        elif self.latched:
            self.ignored_false += 1
            self._node.get_logger().warning('false on estop ignored: only the estop/reset service clears the latch',
                                            throttle_duration_sec=5.0)

    def _on_cleared(self, _msg: Empty) -> None:
        if not self.clear() and self._clear_always:
            self._on_clear()

    def latch(self, source: str) -> bool:
        """Latch (idempotent); True when newly latched."""
        if self.latched:
            return False
        self.latched = True
        if self._pub is not None:
            self._pub.publish(Bool(data=True))  # hold it for nodes that (re)start while it is in force
            self._holding = True
        self._on_latch(source)
        return True

    def clear(self) -> bool:
        """Clear (idempotent); True when it was latched. Withdraws this node's held `true`."""
        if self._pub is not None and self._holding:
            self._pub.publish(Bool(data=False))  # replaces our latched true: late joiners ignore false
            self._holding = False
        if not self.latched:
            return False
        self.latched = False
        self._on_clear()
        return True

    def announce_cleared(self) -> None:
        """Tell every node the latch is reset (the speed limiter's `estop/reset`, nobody else)."""
        if self._cleared_pub is None:
            raise RuntimeError('only the announcer (the speed limiter) resets the e-stop')
        self._cleared_pub.publish(Empty())


__all__ = ['CLEARED_QOS', 'CLEARED_TOPIC', 'ESTOP_TOPIC', 'EstopLink']
