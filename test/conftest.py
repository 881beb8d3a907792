"""Test-wide set-up: every test process gets its own ROS domain and leaves no child behind;
every rosbag2 bag a test writes (in this process or a child, anywhere) must conform to Jazzy."""

from __future__ import annotations

import os
from pathlib import Path
import tempfile

from helpers.processes import stop_all
import pytest

from rover_bringup.ros_domain import claim_domain, claim_spare_domain
from rover_nav.tracklog.bag import AUDIT_ENV

# Before any rclpy context exists in this process (or in a child it starts).
claim_domain()

# Every BagWriter of this test process and its children notes its folder here (see _bags_conform).
_fd, _AUDIT_PATH = tempfile.mkstemp(prefix='rover_bag_audit_', suffix='.txt')
os.close(_fd)
os.environ[AUDIT_ENV] = _AUDIT_PATH


def pytest_configure(config):
    config.addinivalue_line('markers', 'torn_bags: the test leaves unfinished bags on purpose; they are checked '
                            'after `repair_bag` on a copy instead of as they are')
    config.addinivalue_line('markers', 'no_bag_check: the test writes deliberately broken bags (say why)')


def _audited_bags(start: int) -> list[Path]:
    try:
        with open(_AUDIT_PATH, encoding='utf-8') as f:
            f.seek(start)
            lines = f.read().splitlines()
    except OSError:
        return []
    return list(dict.fromkeys(Path(line) for line in lines if line))


@pytest.fixture(autouse=True)
def _bags_conform(request):
    """After each test: every bag it wrote reads back with rosbags and follows rosbag2 Jazzy's rules."""
    start = os.path.getsize(_AUDIT_PATH) if os.path.exists(_AUDIT_PATH) else 0
    yield
    if request.node.get_closest_marker('no_bag_check'):
        return
    bags = [b for b in _audited_bags(start) if (b / 'metadata.yaml').is_file()]
    if not bags:
        return
    from helpers.bag_check import check_bag, check_torn_bag

    torn_ok = request.node.get_closest_marker('torn_bags') is not None
    failures = []
    for bag in bags:
        errors = check_torn_bag(bag) if torn_ok else check_bag(bag)
        if errors:
            failures.append(f'{bag}:\n    ' + '\n    '.join(errors))
    if failures:
        pytest.fail('bags that rosbag2 Jazzy / rosbags would not read as written:\n  ' + '\n  '.join(failures),
                    pytrace=False)


@pytest.fixture(scope='session', autouse=True)
def _no_orphan_processes():
    yield
    stop_all()
    if os.path.exists(_AUDIT_PATH):
        os.unlink(_AUDIT_PATH)


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
