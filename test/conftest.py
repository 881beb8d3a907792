"""Test-wide set-up: every test process gets its own ROS domain and leaves no child behind."""

from __future__ import annotations

from helpers.processes import stop_all
import pytest

from rover_bringup.ros_domain import claim_domain, claim_spare_domain

# Before any rclpy context exists in this process (or in a child it starts).
claim_domain()


@pytest.fixture(scope='session', autouse=True)
def _no_orphan_processes():
    yield
    stop_all()


@pytest.fixture
def probe():
    """A RosProbe in a private context, closed after the test."""
    from helpers.probe import RosProbe

    p = RosProbe()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def spare_domain(monkeypatch):
    """A ROS domain of its own for a test that SIGKILLs a DDS participant (request it first)."""
    domain = claim_spare_domain()
    monkeypatch.setenv('ROS_DOMAIN_ID', str(domain))
    return domain



def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The fuzz suite's case count per node (test/fuzz/conftest.py attaches it to the reports)."""
    from collections import Counter

    totals: Counter[str] = Counter()
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, 'user_properties', ()):
                if name == 'fuzz_cases':
                    totals.update(value)
    if totals:
        terminalreporter.section('fuzz cases per node')
        for node, n in sorted(totals.items()):
            terminalreporter.write_line(f'{node}: {n} cases')
        terminalreporter.write_line(f'total: {sum(totals.values())} cases')
