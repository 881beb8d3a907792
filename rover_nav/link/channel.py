"""One direction of the emulated link: delay, jitter, loss, bandwidth, blackouts; pure Python.

The model, per message sent at time t (sim seconds, the clock both sides share):
1. Blackout: a message sent while the channel is in a blackout window is lost (what was already
   in flight still arrives).
2. Bandwidth: a token bucket of `bandwidth_bytes_per_s`, holding at most `burst_s` seconds of
   it. Telemetry (anything without a `thin` function) always goes and is charged, possibly into
   debt; a thinnable message (a hazcam cloud) is thinned to the bytes left, or dropped when
   none are: the stream that can shrink gives way.
3. Loss: lost with probability `loss`, drawn from a numpy Generator per topic, seeded from the
   channel's seed and the topic name: the same seed and the same messages on a topic, the same
   losses, whatever other topics send (a node's wall-clock diagnostics cannot shift the
   command stream), so lockstep runs stay deterministic. Topics in `retransmit` are sent again one
   round trip later (2 x delay_s) until one copy survives or `max_retransmissions` are spent.
4. Delay: due at t + delay_s + U(0, jitter_s) (+ the round trips spent retransmitting), and
   never before the previous message of the same topic: in order per topic, so the jitter bound
   holds for every message.
`due(now)` hands back what has arrived by `now`, in arrival order (send order on ties).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import heapq
import itertools
from typing import Any
import zlib

import numpy as np

from rover_nav.link.profile import ChannelConfig

#: thin(payload, max_bytes) -> (smaller payload, its size) or None when nothing useful fits
ThinFn = Callable[[Any, float], 'tuple[Any, int] | None']

MAX_DELAY_SAMPLES = 200_000  # one-way delays kept for the percentiles (a reservoir beyond that)


@dataclass(frozen=True)
class Delivery:
    topic: str
    payload: Any
    sent_s: float
    due_s: float


@dataclass
class ChannelStats:
    """What happened to the messages of one direction."""

    sent: int = 0
    delivered: int = 0
    lost_random: int = 0
    lost_blackout: int = 0
    dropped_bandwidth: int = 0
    thinned: int = 0
    retransmissions: int = 0
    bytes_sent: int = 0
    per_topic_delivered: Counter[str] = field(default_factory=Counter)
    per_topic_lost: Counter[str] = field(default_factory=Counter)
    delays: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.lost_random + self.lost_blackout + self.dropped_bandwidth

    def delay_percentiles(self) -> dict[str, float]:
        if not self.delays:
            return {}
        values = np.asarray(self.delays)
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {'p50': round(float(p50), 4), 'p95': round(float(p95), 4), 'p99': round(float(p99), 4),
                'min': round(float(values.min()), 4), 'max': round(float(values.max()), 4)}

    def as_dict(self) -> dict[str, Any]:
        return {'sent': self.sent, 'delivered': self.delivered, 'lost': self.lost,
                'lost_random': self.lost_random, 'lost_blackout': self.lost_blackout,
                'dropped_bandwidth': self.dropped_bandwidth, 'thinned': self.thinned,
                'retransmissions': self.retransmissions, 'bytes_sent': self.bytes_sent,
                'one_way_delay_s': self.delay_percentiles(),
                'delivered_by_topic': dict(sorted(self.per_topic_delivered.items())),
                'lost_by_topic': dict(sorted(self.per_topic_lost.items()))}


class Channel:
    """One direction of the link (see the module docstring); not thread-safe, one caller."""

    def __init__(self, cfg: ChannelConfig, seed: int | Sequence[int] = 0) -> None:
        self.cfg = cfg
        self._seed = [int(seed)] if isinstance(seed, int) else [int(s) for s in seed]
        self._rngs: dict[str, np.random.Generator] = {}
        self.stats = ChannelStats()
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._last_due: dict[str, float] = {}
        self._tokens = self._capacity
        self._tokens_t: float | None = None
        self._reservoir_rng = np.random.default_rng(0)  # apart from `rng`: statistics never shift the losses

    @property
    def _capacity(self) -> float:
        bw = self.cfg.bandwidth_bytes_per_s
        return float('inf') if bw is None else bw * self.cfg.burst_s

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def _refill(self, now: float) -> None:
        bw = self.cfg.bandwidth_bytes_per_s
        if bw is None:
            return
        if self._tokens_t is not None and now > self._tokens_t:
            self._tokens = min(self._capacity, self._tokens + (now - self._tokens_t) * bw)
        self._tokens_t = now if self._tokens_t is None else max(self._tokens_t, now)

    def send(self, topic: str, payload: Any, now: float, size: int = 0, thin: ThinFn | None = None) -> str:
        """Offer one message sent at `now`; returns what became of it: 'queued', 'thinned',
        'lost', 'blackout' or 'dropped' (no bandwidth left for a thinnable message)."""
        cfg = self.cfg
        self.stats.sent += 1
        # draw every random number for every message, in a fixed order, whatever happens to it:
        # one message's fate does not shift the random stream of the next
        rng = self.rng(topic)
        lost_draw = float(rng.random())
        jitter_draw = float(rng.random())
        if cfg.in_blackout(now):
            self.stats.lost_blackout += 1
            self.stats.per_topic_lost[topic] += 1
            return 'blackout'
        outcome = 'queued'
        self._refill(now)
        if cfg.bandwidth_bytes_per_s is not None:
            if thin is not None and size > self._tokens:
                smaller = thin(payload, self._tokens) if self._tokens > 0 else None
                if smaller is None:
                    self.stats.dropped_bandwidth += 1
                    self.stats.per_topic_lost[topic] += 1
                    return 'dropped'
                payload, size = smaller
                self.stats.thinned += 1
                outcome = 'thinned'
            self._tokens -= size
        self.stats.bytes_sent += size
        extra = 0.0
        if lost_draw < cfg.loss:
            if topic not in cfg.retransmit:
                self.stats.lost_random += 1
                self.stats.per_topic_lost[topic] += 1
                return 'lost'
            extra = self._retransmit(now, rng)
            if extra < 0.0:
                self.stats.lost_random += 1
                self.stats.per_topic_lost[topic] += 1
                return 'lost'
        due = now + extra + cfg.delay_s + jitter_draw * cfg.jitter_s
        due = max(due, self._last_due.get(topic, -float('inf')))
        self._last_due[topic] = due
        heapq.heappush(self._queue, (due, next(self._order), Delivery(topic, payload, now, due)))
        return outcome

    def rng(self, topic: str) -> np.random.Generator:
        """The topic's own random stream (seed, crc32 of the name)."""
        rng = self._rngs.get(topic)
        if rng is None:
            rng = self._rngs[topic] = np.random.default_rng([*self._seed, zlib.crc32(topic.encode())])
        return rng

    def _retransmit(self, now: float, rng: np.random.Generator) -> float:
        """Extra seconds until a retransmitted copy gets through, or -1 when every copy is lost."""
        cfg = self.cfg
        round_trip = max(2.0 * cfg.delay_s, 1e-3)
        for attempt in range(1, cfg.max_retransmissions + 1):
            self.stats.retransmissions += 1
            t = now + attempt * round_trip
            survived = float(rng.random()) >= cfg.loss
            if survived and not cfg.in_blackout(t):
                return attempt * round_trip
        return -1.0

    def due(self, now: float) -> list[Delivery]:
        """Every message that has arrived by `now`, in arrival order."""
        out = []
        while self._queue and self._queue[0][0] <= now + 1e-9:
            _, _, delivery = heapq.heappop(self._queue)
            out.append(delivery)
            self.stats.delivered += 1
            self.stats.per_topic_delivered[delivery.topic] += 1
            self._record_delay(now - delivery.sent_s)
        return out

    def _record_delay(self, delay: float) -> None:
        delays = self.stats.delays
        if len(delays) < MAX_DELAY_SAMPLES:
            delays.append(delay)
        else:  # reservoir sampling keeps the percentiles honest on very long runs
            j = int(self._reservoir_rng.integers(0, self.stats.delivered))
            if j < MAX_DELAY_SAMPLES:
                delays[j] = delay


class Link:
    """Both directions of one link, seeded from the profile's seed and the run's seed."""

    def __init__(self, profile: Any, run_seed: int = 0) -> None:
        self.profile = profile
        self.uplink = Channel(profile.uplink, (int(profile.seed), int(run_seed), 0))
        self.downlink = Channel(profile.downlink, (int(profile.seed), int(run_seed), 1))
        self._next_heartbeat: float | None = None

    def heartbeat_due(self, now: float) -> bool:
        """True once per `heartbeat_period_s`: time for the ground to say "still here" up the link."""
        if self._next_heartbeat is None or now + 1e-9 >= self._next_heartbeat:
            period = self.profile.heartbeat_period_s
            self._next_heartbeat = now + period if self._next_heartbeat is None else max(
                self._next_heartbeat + period, now)
            return True
        return False

    def summary(self) -> dict[str, Any]:
        """The run summary's `link` entry: profile, delivered/lost per direction, delay percentiles."""
        return {'profile': self.profile.name, 'source': self.profile.source,
                'uplink': self.uplink.stats.as_dict(), 'downlink': self.downlink.stats.as_dict()}
