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

_LOCK_DIR = Path(tempfile.gettempdir()) / 'rover_testbed_domains'
_held = None  # keep the lock file open for the life of the process


def claim_domain(first: int = 1, last: int = 200) -> int:
    """Lock and return a free domain id in [first, last]; export it with localhost-only discovery.

    Fast DDS maps domain d to UDP ports 7400 + 250 d, so ids stay at or below 232.
    """
    global _held
    if _held is not None:
        return int(os.environ['ROS_DOMAIN_ID'])
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
        _held = handle
        os.environ['ROS_DOMAIN_ID'] = str(domain)
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        os.environ.pop('ROS_LOCALHOST_ONLY', None)
        return domain
    raise RuntimeError(f'no free ROS_DOMAIN_ID in [{first}, {last}]')
