"""Parameter snapshots are typed: the type checker sees a node's `snap.key` as the spec's type, not Any."""

from __future__ import annotations

from pathlib import Path

import pytest

from rover_description.paths import REPO_ROOT

PROBE = """
from rover_nav.drive.controller_node import DriveControllerParams
from rover_nav.safety.speed_limiter_node import SpeedLimiterNode


def wrong(p: DriveControllerParams, node: SpeedLimiterNode) -> None:
    a: str = p.max_wheel_speed
    b: str = node.params.snapshot.command_timeout
    c: int = p.profile
    p.no_such_key
"""


@pytest.mark.timeout(600)
def test_the_type_checker_sees_the_parameter_types(tmp_path: Path) -> None:
    # mypy is a development tool (requirements-dev.txt): the tier-1 environment does not have it
    api = pytest.importorskip('mypy.api')
    probe = tmp_path / 'probe.py'
    probe.write_text(PROBE)
    # the repository's cache (filled by `make typecheck`, which `make test` runs first) keeps this quick
    out, err, status = api.run(['--config-file', str(REPO_ROOT / 'pyproject.toml'),
                                '--cache-dir', str(REPO_ROOT / '.mypy_cache'), str(probe)])
    assert status == 1, out + err
    assert out.count('error:') == 4, out
    for line in ('probe.py:7: error: Incompatible types in assignment (expression has type "float"',
                 'probe.py:8: error: Incompatible types in assignment (expression has type "float"',
                 'probe.py:9: error: Incompatible types in assignment (expression has type "str"',
                 'probe.py:10: error: "DriveControllerParams" has no attribute "no_such_key"'):
        assert line in out, out
