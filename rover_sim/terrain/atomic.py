"""Atomic file writes: write a temporary file next to the target, then rename it into place.

A crash or an exception halfway through never leaves a half-written world behind: either the old
file or the complete new one is there (rename within one directory is atomic on POSIX).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import os
from pathlib import Path
import tempfile
from typing import BinaryIO


@contextlib.contextmanager
def atomic_open(path: Path | str) -> Iterator[BinaryIO]:
    """Open a temporary binary file for writing; on success it replaces `path`, on error it is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.tmp', dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, 'wb') as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path | str, data: bytes) -> None:
    """Atomically replace `path` with `data`."""
    with atomic_open(path) as handle:
        handle.write(data)


def write_text(path: Path | str, text: str) -> None:
    """Atomically replace `path` with UTF-8 `text`."""
    write_bytes(path, text.encode('utf-8'))


def write_with(path: Path | str, writer: Callable[[BinaryIO], None]) -> None:
    """Atomically replace `path` with whatever `writer(handle)` writes."""
    with atomic_open(path) as handle:
        writer(handle)
