"""Fuzz suite set-up: one shared count of hypothesis cases per node, reported at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

CASES: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if CASES:
        terminalreporter.section('fuzz cases per node')
        for node, n in sorted(CASES.items()):
            terminalreporter.write_line(f'{node}: {n} cases')
        terminalreporter.write_line(f'total: {sum(CASES.values())} cases')


@pytest.fixture(scope='module')
def cases():
    """The shared Counter: `cases[node] += 1` per hypothesis example."""
    return CASES
