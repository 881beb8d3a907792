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
        if _interrupted(exc):
            raise KeyboardInterrupt from exc
        raise ConfigError(f"parameter 'profile' = {profile!r}: cannot load the rover geometry: {exc}") from exc


def _interrupted(exc: BaseException) -> bool:
    """A stop signal that a library turned into another error: xacro, interrupted inside the import
    of its `except` clause's class, raises UnboundLocalError. Ctrl-C at a node's start then read as
    "cannot load the rover geometry" with exit code 2 instead of a normal stop."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
