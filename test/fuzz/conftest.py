"""Fuzz suite set-up: a count of hypothesis cases per node, attached to each test's report.

The count travels in the report's `user_properties` (('fuzz_cases', {node: n})), so it reaches the
controlling process under pytest-xdist too; test/conftest.py prints the totals per node in a
`fuzz cases per node` section at the end of the run.
"""

from __future__ import annotations

from collections import Counter

import pytest

CASES: Counter[str] = Counter()
_REPORTED: Counter[str] = Counter()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == 'call':
        new = CASES - _REPORTED
        if new:
            report.user_properties.append(('fuzz_cases', dict(new)))
            _REPORTED.update(new)


@pytest.fixture(scope='module')
def cases():
    """The shared Counter: `cases[node] += 1` per hypothesis example."""
    return CASES
