"""`rover ARGS` whose first command through the speed limiter takes longer than the simulator's tick-0
repeat period, as on a loaded machine (run as `python -m helpers.slow_start ARGS`, `test/` on the path).

The simulator then says tick 0 again while the chain is still answering it, and the chain answers
that repeat too, late: a drive must not depend on it (tests compare it with the same drive run normally).
"""

from __future__ import annotations

import atexit
import sys
import time
from typing import Any

from rover_bringup import cli
from rover_nav.safety.speed_limiter_node import SpeedLimiterNode
from rover_sim.sim_node import REPEAT_PERIOD_S, LunarSim


def slow_down_the_first_command() -> None:
    on_command = SpeedLimiterNode._on_command
    calls = []

    def slow(self: Any, msg: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(REPEAT_PERIOD_S + 0.3)  # past the repeat period: the simulator repeats tick 0
        on_command(self, msg)

    SpeedLimiterNode._on_command = slow  # type: ignore[method-assign]


def count_repeats() -> None:
    """Print at exit how often the simulator said a tick again (the test checks the slow start caused one)."""
    publish_tick = LunarSim._publish_tick
    repeats = []

    def counted(self: Any, repeat: bool = False) -> None:
        if repeat:
            repeats.append(self.tick)
        publish_tick(self, repeat)

    LunarSim._publish_tick = counted  # type: ignore[method-assign]
    atexit.register(lambda: print(f'slow_start: repeated ticks {repeats}', file=sys.stderr, flush=True))


if __name__ == '__main__':  # the track logger's writer is spawned: its child re-imports this module
    slow_down_the_first_command()
    count_repeats()
    sys.exit(cli.main(sys.argv[1:]))
