"""Optional Debian packages (check_urdf, ign sdf, tmux, libosmesa6): skip where missing, fail under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest


def require_tool(tool: str, package: str) -> str:
    """Path of a validator; skip when missing, but fail under CI=true where it must be installed."""
    path = shutil.which(tool)
    if path:
        return path
    missing(tool, package)


def missing(what: str, package: str) -> NoReturn:
    """Skip a test that needs an optional Debian package, naming it; under CI=true fail instead."""
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(f'{what} is missing under CI=true; .ci/run must apt-get install {package}')
    pytest.skip(f'{what} not installed (apt-get install {package})')


def skip_if_no_offscreen_gl(result: subprocess.CompletedProcess) -> None:
    """After a rendering command: skip (fail under CI) when it reported no offscreen OpenGL library."""
    if result.returncode == 1 and 'offscreen rendering unavailable' in result.stderr:
        missing(f'offscreen OpenGL ({result.stderr.strip()})', 'libosmesa6')
