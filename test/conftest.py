"""Test-wide set-up: every test process gets its own ROS domain and leaves no child behind;
every rosbag2 bag a test writes (in this process or a child, anywhere) must conform to Jazzy."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
import tempfile

from helpers.processes import stop_all
from helpers.rosdistro import MODULE_KEYS
import pytest

from rover_nav.runtime.ros_domain import claim_domain, claim_spare_domain
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


class _MissingDependency(pytest.File):
    """A test file whose third-party import is not installed: skipped with the key that installs it."""

    reason = ''

    def collect(self):
        raise pytest.skip.Exception(self.reason, allow_module_level=True)


def _missing_imports(path: Path) -> list[str]:
    """Known test-only modules (MODULE_KEYS) that this file imports at module level and that are absent."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except SyntaxError:
        return []  # let pytest report it
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return sorted(n for n in names & MODULE_KEYS.keys() if importlib.util.find_spec(n) is None)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    """Skip a test file whose test-only dependency is missing, instead of a collection error that aborts
    the whole session (a rosdep install without test keys). Under CI=true it is an error: CI installs all."""
    missing = _missing_imports(Path(module_path))
    if not missing:
        return None
    needs = ', '.join(f'{m} (rosdep key {MODULE_KEYS[m]})' for m in missing)
    if os.environ.get('CI', '').lower() == 'true':
        raise pytest.UsageError(f'{module_path}: missing under CI=true: {needs}')
    node = _MissingDependency.from_parent(parent, path=Path(module_path))
    node.reason = f'not installed: {needs}; rosdep install --from-paths src --ignore-src'
    return node
