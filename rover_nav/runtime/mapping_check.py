"""Checks for user-written YAML mappings (scenarios, link profiles): one wording for every file.

A bad file must fail with a message naming the exact place (`egress.yaml: commands[2].duration_s
is required`), never with a KeyError or a silent default; every reader words it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import math
from typing import Any

from rover_nav.runtime.bounded_yaml import short_repr
from rover_nav.runtime.params import ConfigError


def number(where: str, value: Any, lo: float, hi: float) -> float:
    """`value` as a float in [lo, hi]; ConfigError for a bool, a non-number, NaN/inf or out of range."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:  # float() would overflow
        raise ConfigError(f'{where} = {short_repr(value)} is out of range [{lo}, {hi}]')
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f'{where} must be a finite number, got {short_repr(value)}')
    if not lo <= value <= hi:
        raise ConfigError(f'{where} = {value} is out of range [{lo}, {hi}]')
    return float(value)


def check_keys(where: str, data: dict[str, Any], allowed: Sequence[str], required: Iterable[str] = ()) -> None:
    """ConfigError for a key not in `allowed` (listed in its order) or a missing `required` one."""
    extra = set(data) - set(allowed)
    if extra:
        raise ConfigError(f'{where}: unknown key(s) {sorted(extra)}; allowed: {", ".join(allowed)}')
    for key in required:
        if key not in data:
            raise ConfigError(f'{where}.{key} is required')


def mapping_items(where: str, value: Any, allowed: Sequence[str], required: Iterable[str],
                  shape: str) -> list[tuple[str, dict[str, Any]]]:
    """A list of mappings with known keys, as (`where[i]`, item) pairs; ConfigError names the bad one.

    shape: how the list's items look, for the error (`{start_s, duration_s[, period_s]}`)."""
    if not isinstance(value, list):
        raise ConfigError(f'{where} must be a list of {shape}')
    required = tuple(required)
    out = []
    for i, item in enumerate(value):
        here = f'{where}[{i}]'
        if not isinstance(item, dict):
            raise ConfigError(f'{here} must be a mapping')
        check_keys(here, item, allowed, required)
        out.append((here, item))
    return out
