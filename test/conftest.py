"""Test-wide set-up: every test process gets its own ROS domain and leaves no child behind."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path

from helpers.processes import stop_all
from helpers.rosdistro import MODULE_KEYS
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
