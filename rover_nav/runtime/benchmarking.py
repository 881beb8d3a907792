"""Benchmark results as ratios against a baseline measured in the same run.

Each area exposes `run_benchmarks() -> list[BenchResult]` in its own `bench.py`; `rover bench`
(and `make bench`) collects them. Ratios, not absolute times, are what we compare across
machines; no test asserts on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time


@dataclass(frozen=True)
class BenchResult:
    """One measurement and its same-run baseline; `ratio` = value / baseline."""

    name: str
    value: float
    baseline: float
    unit: str
    baseline_name: str
    note: str = ''

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float('inf')


def best_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """Best-of-`repeat` wall time of `fn()` in seconds (the least disturbed run)."""
    best = float('inf')
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
