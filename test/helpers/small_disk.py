"""A really full disk for tests: a tmpfs of a few hundred kB (needs mount rights: root in CI's container).

RLIMIT_FSIZE (prlimit) limits one file, not the disk: every other file still fits. A tmpfs is the
disk filling up as a user meets it (bag, CSV, JSON and temporary files all fail with ENOSPC).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from pathlib import Path
import subprocess

import pytest


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of `size` (e.g. '600k') at `where`; skip the test when mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(where)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here (needs root): {result.stderr.strip()}')
    try:
        yield where
    finally:
        subprocess.run(['umount', '-l', str(where)], capture_output=True, check=False)
