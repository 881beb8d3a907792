"""External validators (check_urdf, ign sdf): skip where missing, fail under CI=true."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(tool: str, package: str) -> str:
    """Path of a validator; skip when missing, but fail under CI=true where it must be installed."""
    path = shutil.which(tool)
    if path:
        return path
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(f'{tool} is missing under CI=true; .ci/run must apt-get install {package}')
    pytest.skip(f'{tool} not installed (apt-get install {package})')
