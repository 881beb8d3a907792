"""The rover geometry behind a node's `profile` parameter, with failures as configuration errors.

Every node that needs the rover's shape reads it from the rover description through its
`profile` parameter (one source of truth, never copied numbers). A description that cannot be
loaded is a configuration problem of that node: it must stop at start-up naming the key.
"""

from __future__ import annotations

from typing import Any

from rover_nav.runtime.params import ConfigError


def geometry_for(profile: str) -> Any:
    """`load_geometry(profile)`, or ConfigError naming parameter 'profile'."""
    from rover_description.geometry import load_geometry

    try:
        return load_geometry(profile)
    except Exception as exc:  # xacro, parse or lookup failures alike
        raise ConfigError(f"parameter 'profile' = {profile!r}: cannot load the rover geometry: {exc}") from exc
