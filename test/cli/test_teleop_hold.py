"""`rover teleop`'s zero hold: it bridges the keyboard's exit and the simulator's stop with zero,
but never holds against an operator who drives."""

from __future__ import annotations

from rover_bringup.commands.teleop import ZeroHold


def test_holds_zero_after_the_operator_falls_silent_after_a_zero():
    hold = ZeroHold(silence_s=0.25)
    assert not hold.due(0.0)  # nothing heard yet
    hold.on_command(zero=False, now=0.0)
    assert not hold.due(1.0)  # silent after a moving command: a real timeout, the chain's to judge
    hold.on_command(zero=True, now=1.0)
    assert not hold.due(1.2)  # the operator is still publishing
    assert hold.due(1.3)  # silent after zero: hold it
    hold.on_command(zero=True, now=1.35)  # our own zero (or the operator's) keeps the hold
    assert hold.due(1.4)
    hold.on_command(zero=False, now=1.5)  # the operator drives again
    assert not hold.due(1.5)


def test_told_to_hold_holds_until_the_operator_drives():
    hold = ZeroHold(silence_s=0.25)
    hold.holding = True
    assert hold.due(0.0)
    hold.on_command(zero=False, now=0.1)
    assert not hold.due(0.1)


def test_the_zero_holder_drops_a_clock_that_is_not_a_time():
    """It runs on sim time in a thread of its own: a raising TimeSource would end that thread silently."""
    from rosgraph_msgs.msg import Clock

    from rover_bringup.commands.teleop import ZeroHolder
    from rover_nav.runtime.clock_guard import ClockMessageFilter

    holder = ZeroHolder()
    try:
        subs = [s for s in holder.node.subscriptions if s.topic_name == '/clock']
        assert subs and all(isinstance(s.callback, ClockMessageFilter) for s in subs)
        bad = Clock()
        bad.clock.sec = -1
        for sub in subs:
            sub.callback(bad)  # dropped, no ValueError
        assert holder._thread.is_alive()
    finally:
        holder.close()
