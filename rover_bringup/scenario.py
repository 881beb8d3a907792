"""Scenario files: the scripted operator's commands (ROVER_SPEC section 5), loaded and validated.

A scenario is a list of segments `{duration_s, linear_x, angular_z}` played back on
`/teleop/cmd_vel` at `rate_hz`; after the last one the operator commands zero. It may also
hold drive plans (`plans: [{at_s, segments, seq?}]`, docs/link.md), sent once each on
`/drive_plan` at `at_s` seconds after the start: the way to drive behind the Earth-Moon link.
Validation names the offending key, so a bad file fails before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rover_nav.runtime.bounded_yaml import YamlLimitError, load_bounded
from rover_nav.runtime.mapping_check import check_keys, mapping_items, number
from rover_nav.runtime.params import ConfigError


@dataclass(frozen=True)
class Segment:
    """Hold (linear_x m/s, angular_z rad/s) for duration_s seconds."""

    duration_s: float
    linear_x: float
    angular_z: float


PLAN_SLACK = 1.25


@dataclass(frozen=True)
class PlannedSend:
    """One drive plan the operator sends on /drive_plan at `at_s` (JSON text, ready to publish)."""

    at_s: float
    seq: int
    text: str
    expected_s: float  # how long its segments take at their speeds


@dataclass(frozen=True)
class Scenario:
    name: str
    rate_hz: float
    segments: tuple[Segment, ...]
    plans: tuple[PlannedSend, ...] = ()

    @property
    def duration_s(self) -> float:
        commands = sum(s.duration_s for s in self.segments)
        # a plan takes longer than its segments at their speeds: steering swings, slip, the link's delay
        plans = max((p.at_s + PLAN_SLACK * p.expected_s for p in self.plans), default=0.0)
        return max(commands, plans)

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


def parse_scenario(data: Any, source: str = 'scenario') -> Scenario:
    """Validate a scenario mapping; raise ConfigError naming the bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f'{source}: top level must be a mapping with name, rate_hz, commands')
    check_keys(source, data, ('name', 'rate_hz', 'commands', 'plans'))
    name = data.get('name', Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{source}: name must be a non-empty string')
    rate = number(f'{source}: rate_hz', data.get('rate_hz', 10), 1.0, 100.0)
    plans = _plans(data.get('plans'), source)
    commands = data.get('commands', [] if plans else None)
    if not isinstance(commands, list) or not (commands or plans):
        raise ConfigError(f'{source}: commands must be a non-empty list of {{duration_s, linear_x, angular_z}}')
    segments = []
    for where, cmd in mapping_items(f'{source}: commands', commands, ('duration_s', 'linear_x', 'angular_z'),
                                    ('duration_s',), '{duration_s, linear_x, angular_z}'):
        segments.append(Segment(
            duration_s=number(f'{where}.duration_s', cmd['duration_s'], 0.0, 86400.0),
            linear_x=number(f'{where}.linear_x', cmd.get('linear_x', 0.0), -10.0, 10.0),
            angular_z=number(f'{where}.angular_z', cmd.get('angular_z', 0.0), -10.0, 10.0)))
    return Scenario(name=name, rate_hz=rate, segments=tuple(segments), plans=plans)


def _plans(data: Any, source: str) -> tuple[PlannedSend, ...]:
    """`plans: [{at_s, segments, seq?}]`: segments checked for shape (the rover checks its limits)."""
    from rover_nav.link.plan import Limits, PlanError, parse_segment, plan_message

    if data is None:
        return ()
    loose = Limits(max_speed=10.0, max_turn_rate_deg=360.0, max_distance_m=1e4, max_angle_deg=3600.0)
    out: list[PlannedSend] = []
    for where, item in mapping_items(f'{source}: plans', data, ('at_s', 'segments', 'seq'), ('at_s',),
                                     '{at_s, segments[, seq]}'):
        at_s = number(f'{where}.at_s', item['at_s'], 0.0, 86400.0)
        seq = item.get('seq', (out[-1].seq + 1) if out else 1)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ConfigError(f'{where}.seq must be a non-negative integer, got {seq!r}')
        raw = item.get('segments')
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f'{where}.segments must be a non-empty list of {{distance_m | angle_deg, speed}}')
        try:
            segments = [parse_segment(seg, f'{where}.segments[{j}]', loose) for j, seg in enumerate(raw)]
        except PlanError as exc:
            raise ConfigError(str(exc)) from exc
        out.append(PlannedSend(at_s, seq, plan_message(seq, raw), sum(s.expected_s() for s in segments)))
    return tuple(sorted(out, key=lambda p: p.at_s))


def load_scenario(name_or_path: str) -> Scenario:
    """Load a named scenario (`rover_bringup/scenarios/NAME.yaml`) or a YAML file path."""
    from rover_description.paths import named_file

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
