"""Scenario files: the scripted operator's commands (ROVER_SPEC section 5), loaded and validated.

A scenario is a list of segments `{duration_s, linear_x, angular_z}` played back on
`/teleop/cmd_vel` at `rate_hz`; after the last one the operator commands zero. Validation
names the offending key, so a bad file fails before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
from typing import Any

import yaml

from rover_nav.runtime.bounded_yaml import YamlLimitError, load_bounded, short_repr
from rover_nav.runtime.params import ConfigError


@dataclass(frozen=True)
class Segment:
    """Hold (linear_x m/s, angular_z rad/s) for duration_s seconds."""

    duration_s: float
    linear_x: float
    angular_z: float


@dataclass(frozen=True)
class Scenario:
    name: str
    rate_hz: float
    segments: tuple[Segment, ...]

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)

    def command_at(self, t: float) -> tuple[float, float]:
        """The operator's (v, w) at t seconds after the start; zero before 0 and after the end."""
        if t < 0.0:
            return 0.0, 0.0
        elapsed = 0.0
        for seg in self.segments:
            if t < elapsed + seg.duration_s:
                return seg.linear_x, seg.angular_z
            elapsed += seg.duration_s
        return 0.0, 0.0


def _number(where: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:  # float() would overflow
        raise ConfigError(f'{where} = {short_repr(value)} is out of range [{lo}, {hi}]')
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f'{where} must be a finite number, got {short_repr(value)}')
    if not lo <= value <= hi:
        raise ConfigError(f'{where} = {value} is out of range [{lo}, {hi}]')
    return float(value)


def parse_scenario(data: Any, source: str = 'scenario') -> Scenario:
    """Validate a scenario mapping; raise ConfigError naming the bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f'{source}: top level must be a mapping with name, rate_hz, commands')
    unknown = set(data) - {'name', 'rate_hz', 'commands'}
    if unknown:
        raise ConfigError(f'{source}: unknown key(s) {sorted(unknown)}; allowed: name, rate_hz, commands')
    name = data.get('name', Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{source}: name must be a non-empty string')
    rate = _number(f'{source}: rate_hz', data.get('rate_hz', 10), 1.0, 100.0)
    commands = data.get('commands')
    if not isinstance(commands, list) or not commands:
        raise ConfigError(f'{source}: commands must be a non-empty list of {{duration_s, linear_x, angular_z}}')
    segments = []
    for i, cmd in enumerate(commands):
        where = f'{source}: commands[{i}]'
        if not isinstance(cmd, dict):
            raise ConfigError(f'{where} must be a mapping')
        extra = set(cmd) - {'duration_s', 'linear_x', 'angular_z'}
        if extra:
            raise ConfigError(f'{where}: unknown key(s) {sorted(extra)}')
        if 'duration_s' not in cmd:
            raise ConfigError(f'{where}.duration_s is required')
        segments.append(Segment(
            duration_s=_number(f'{where}.duration_s', cmd['duration_s'], 0.0, 86400.0),
            linear_x=_number(f'{where}.linear_x', cmd.get('linear_x', 0.0), -10.0, 10.0),
            angular_z=_number(f'{where}.angular_z', cmd.get('angular_z', 0.0), -10.0, 10.0)))
    return Scenario(name=name, rate_hz=rate, segments=tuple(segments))


def load_scenario(name_or_path: str) -> Scenario:
    """Load a named scenario (`rover_bringup/scenarios/NAME.yaml`) or a YAML file path."""
    from rover_bringup.paths import named_file

    path = Path(name_or_path)
    if not (path.suffix in ('.yaml', '.yml') or path.exists() or '/' in name_or_path):
        path = named_file('scenarios', name_or_path, 'scenario')  # FileNotFoundError lists the names
    if not path.is_file():
        raise ConfigError(f'scenario file {path} does not exist')
    try:
        data = load_bounded(path.read_bytes())
    except YamlLimitError as exc:
        raise ConfigError(f'{path}: {exc}') from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f'{path}: not valid YAML: {exc}') from exc
    return parse_scenario(data, str(path))
