"""End-to-end drives: `rover run` as a user runs it, one child process per drive."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import sys
from typing import Any

from helpers.processes import NodeProcess
import pytest


@dataclass
class Drive:
    """A finished `rover run`: its exit code, output folder, summary and console output."""

    code: int
    out: Path
    summary: dict[str, Any]
    output: str

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.summary.get('events', []) if e.get('kind') == kind]


def rover_run(tmp_path: Path, *args: str, timeout_s: float = 900.0) -> Drive:
    """Run `rover run ARGS --out tmp --quiet` in a child process and load its summary.

    `timeout_s` only guards against a hang: the 235 s egress took 197 s of wall time at a load
    average of 12-16 on 2 cores, and the test's own bag checks as long again.
    """
    out = tmp_path / 'run'
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', *args, '--out', str(out), '--quiet'],
                       tmp_path / 'rover_run.log')
    try:
        code = proc.proc.wait(timeout=timeout_s)
    finally:
        proc.stop()
    text = proc.output()
    summary_path = out / 'summary.json'
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return Drive(code, out, summary, text)


@pytest.fixture
def run_drive(tmp_path):
    def _run(*args: str, timeout_s: float = 900.0) -> Drive:
        return rover_run(tmp_path, *args, timeout_s=timeout_s)
    return _run
