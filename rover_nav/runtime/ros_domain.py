"""A private ROS domain for a simulated run or a test process: a free ROS_DOMAIN_ID, held by a file
lock, and localhost-only discovery.

A simulated drive must never talk to a real rover on the network (its /cmd_vel would drive it),
and two drives on one machine must not hear each other. Several runs and pytest workers may
share a machine; a lock file per domain id makes the choice unique without guessing from pids.
The lock lives as long as the process; children inherit the environment.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
import tempfile
from typing import TextIO

_LOCK_DIR = Path(tempfile.gettempdir()) / 'rover_testbed_domains'
_held: list[TextIO] = []  # lock files kept open for the life of the process


def _lock_free_domain(first: int, last: int) -> int:
    """Lock a domain id in [first, last] that no other process holds; the lock lives as long as we do."""
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    start = os.getpid() % (last - first + 1)
    for offset in range(last - first + 1):
        domain = first + (start + offset) % (last - first + 1)
        handle = open(_LOCK_DIR / f'{domain}.lock', 'w')  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held.append(handle)
        return domain
    raise RuntimeError(f'no free ROS_DOMAIN_ID in [{first}, {last}]')


def claim_domain(first: int = 1, last: int = 200) -> int:
    """Lock and return a free domain id in [first, last]; export it with localhost-only discovery.

    Fast DDS maps domain d to UDP ports 7400 + 250 d, so ids stay at or below 232. Repeated calls
    return the domain already claimed.
    """
    if _held:
        return int(os.environ['ROS_DOMAIN_ID'])
    domain = _lock_free_domain(first, last)
    os.environ['ROS_DOMAIN_ID'] = str(domain)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.pop('ROS_LOCALHOST_ONLY', None)
    return domain


def claim_spare_domain(first: int = 1, last: int = 200) -> int:
    """Lock one more free domain (not exported), e.g. for a test that SIGKILLs a DDS participant.

    A killed Fast DDS participant leaves its discovery entry and shared-memory ports behind until
    they time out; keeping such a test in a domain of its own spares the tests that follow.
    """
    return _lock_free_domain(first, last)
