"""Children that cannot outlive their parent.

`rover run --processes`, `rover teleop` and the tests start nodes in their own sessions (so a
stop reaches whatever they spawn). If the parent is killed outright (SIGKILL, a closed terminal
before its handlers run), such children would keep driving a simulated rover in a domain the
next run may reuse. Linux's PR_SET_PDEATHSIG sends them SIGTERM when the parent goes, which every
node handles as a normal stop.
"""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` for subprocess.Popen: SIGTERM this child when its parent exits (Linux only)."""
    if sys.platform.startswith('linux'):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
