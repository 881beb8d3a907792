"""The link channel core: order, delay bounds, loss statistics, bandwidth, blackouts, determinism."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from rover_nav.link.channel import Channel, Link
from rover_nav.link.profile import Blackout, ChannelConfig, LinkProfile

configs = st.builds(ChannelConfig, delay_s=st.floats(0.0, 5.0), jitter_s=st.floats(0.0, 2.0),
                    loss=st.floats(0.0, 0.5), retransmit=st.just(()))
sends = st.lists(st.tuples(st.sampled_from(['/a', '/b', '/c']), st.floats(0.0, 0.5)), min_size=1, max_size=80)


def _run(channel: Channel, plan: list[tuple[str, float]], tick: float = 0.1) -> list:
    """Send (topic, gap) messages at increasing times, polling due() at each tick until drained."""
    out, t = [], 0.0
    for i, (topic, gap) in enumerate(plan):
        t += gap
        channel.send(topic, i, t)
    now = 0.0
    while channel.in_flight:
        now += tick
        out += [(d, now) for d in channel.due(now)]
    return out


@settings(max_examples=150, deadline=None)
@given(cfg=configs, plan=sends, seed=st.integers(0, 2**31))
def test_order_per_topic_is_kept_and_delay_is_bounded(cfg, plan, seed):
    channel = Channel(cfg, seed)
    delivered = _run(channel, plan)
    for topic in ('/a', '/b', '/c'):
        payloads = [d.payload for d, _ in delivered if d.topic == topic]
        assert payloads == sorted(payloads)  # a message never overtakes an earlier one of its topic
    for d, released in delivered:
        assert d.due_s - d.sent_s >= cfg.delay_s - 1e-9
        assert d.due_s - d.sent_s <= cfg.delay_s + cfg.jitter_s + 1e-9
        assert released >= d.due_s - 1e-9
    assert channel.stats.delivered + channel.stats.lost == channel.stats.sent


@pytest.mark.parametrize('loss', [0.01, 0.05, 0.1, 0.3])
@pytest.mark.parametrize('seed', range(5))
def test_loss_rate_within_three_sigma(loss, seed):
    """Fixed seeds: a search over seeds would, rightly, find the 0.3 % of streams beyond 3 sigma."""
    n = 1000
    channel = Channel(ChannelConfig(loss=loss, retransmit=()), seed)
    for i in range(n):
        channel.send('/x', i, i * 0.01)
    sigma = math.sqrt(n * loss * (1 - loss))
    assert abs(channel.stats.lost_random - n * loss) <= 3 * sigma


def test_same_seed_same_fate():
    profile = LinkProfile('p', ChannelConfig(delay_s=1.0, jitter_s=0.5, loss=0.2), ChannelConfig(loss=0.3))

    def fates(seed: int) -> list:
        link = Link(profile, seed)
        return [link.uplink.send('/t', i, i * 0.1) for i in range(300)]

    assert fates(4) == fates(4)
    assert fates(4) != fates(5)


def test_other_topics_do_not_shift_a_topics_losses():
    """A node's extra wall-clock diagnostics must not change which commands are lost."""
    cfg = ChannelConfig(loss=0.3, retransmit=())
    quiet, busy = Channel(cfg, 9), Channel(cfg, 9)
    fates_quiet, fates_busy = [], []
    for i in range(300):
        if i % 7 == 0:
            busy.send('/diagnostics', i, i * 0.1)
        fates_quiet.append(quiet.send('/teleop/cmd_vel', i, i * 0.1))
        fates_busy.append(busy.send('/teleop/cmd_vel', i, i * 0.1))
    assert fates_quiet == fates_busy


def test_retransmitted_topics_arrive_late_but_arrive():
    cfg = ChannelConfig(delay_s=1.0, loss=0.5, retransmit=('/estop',), max_retransmissions=50)
    channel = Channel(cfg, 1)
    for i in range(200):
        channel.send('/estop', i, float(i))
    assert channel.stats.lost == 0
    assert channel.stats.retransmissions > 50
    arrived = channel.due(1e9)
    assert [d.payload for d in arrived] == list(range(200))
    assert max(d.due_s - d.sent_s for d in arrived) >= 3.0  # a round trip (2 s) per retry


def test_blackout_loses_what_is_sent_in_it_and_not_what_was_in_flight():
    cfg = ChannelConfig(delay_s=2.0, blackouts=(Blackout(10.0, 5.0, period_s=100.0),))
    channel = Channel(cfg, 0)
    assert channel.send('/t', 'before', 9.0) == 'queued'  # arrives at 11 s, inside the window
    assert channel.send('/t', 'during', 12.0) == 'blackout'
    assert channel.send('/t', 'after', 15.0) == 'queued'
    assert channel.send('/t', 'next period', 111.0) == 'blackout'
    assert [d.payload for d in channel.due(20.0)] == ['before', 'after']


def test_bandwidth_thins_clouds_and_never_drops_telemetry():
    cfg = ChannelConfig(bandwidth_bytes_per_s=1000.0, burst_s=1.0)
    channel = Channel(cfg, 0)

    def thin(payload, room):
        return (payload[: int(room)], int(room)) if room >= 100 else None

    assert channel.send('/odom', 'x', 0.0, size=800) == 'queued'
    assert channel.send('/cloud', 'c' * 5000, 0.0, size=5000, thin=thin) == 'thinned'  # 200 bytes left
    assert channel.send('/cloud', 'c' * 5000, 0.0, size=5000, thin=thin) == 'dropped'  # none left
    assert channel.send('/odom', 'y', 0.0, size=800) == 'queued'  # telemetry goes, into debt
    assert channel.send('/cloud', 'c' * 5000, 0.5, size=5000, thin=thin) == 'dropped'  # debt not yet repaid
    assert channel.send('/cloud', 'c' * 5000, 2.0, size=5000, thin=thin) == 'thinned'
    sent = sum(len(d.payload) if d.topic == '/cloud' else 0 for d in channel.due(10.0))
    assert sent == 200 + 1000
    assert channel.stats.dropped_bandwidth == 2 and channel.stats.thinned == 2


def test_heartbeat_period():
    link = Link(LinkProfile('p', ChannelConfig(), ChannelConfig(), heartbeat_period_s=1.0))
    beats = [t / 10 for t in range(50) if link.heartbeat_due(t / 10)]
    assert beats == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_delay_percentiles_in_summary():
    link = Link(LinkProfile('p', ChannelConfig(delay_s=1.75), ChannelConfig()))
    for i in range(10):
        link.uplink.send('/t', i, i * 0.1)
    link.uplink.due(100.0)
    summary = link.summary()
    assert summary['profile'] == 'p'
    assert summary['uplink']['delivered'] == 10
    assert summary['uplink']['one_way_delay_s']['min'] >= 1.75
