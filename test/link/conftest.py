"""`run_drive` for the link's end-to-end drives (the same `rover run` child process as test/e2e)."""

from __future__ import annotations

from e2e.conftest import rover_run
import pytest


@pytest.fixture
def run_drive(tmp_path):
    def _run(*args: str, timeout_s: float = 300.0):
        return rover_run(tmp_path, *args, timeout_s=timeout_s)
    return _run
