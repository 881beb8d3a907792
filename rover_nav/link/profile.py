"""Link profiles: what one Earth-Moon link does to the messages in each direction, from YAML.

A profile names the link and gives one channel per direction (`uplink`: ground -> rover,
`downlink`: rover -> ground). The format is in docs/link.md; `rover_bringup/config/links/`
holds the shipped ones (`earth`, `ideal`). Validation names the bad key, so a typo fails
before a drive starts instead of silently meaning "no delay".
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Any

import yaml

from rover_nav.runtime.mapping_check import check_keys, mapping_items, number
from rover_nav.runtime.params import ConfigError

#: Topics whose messages the link layer retransmits until they arrive (a CCSDS COP-1-like ARQ):
#: losing an e-stop or its reset to 1 % random loss would be a design error, not realism.
DEFAULT_RETRANSMIT = ('/estop', '/estop/reset')


@dataclass(frozen=True)
class Blackout:
    """No link from `start_s` for `duration_s` (sim seconds), again every `period_s` if given."""

    start_s: float
    duration_s: float
    period_s: float | None = None

    def covers(self, t: float) -> bool:
        if t < self.start_s:
            return False
        offset = t - self.start_s
        if self.period_s is not None:
            offset = math.fmod(offset, self.period_s)
        return offset < self.duration_s


@dataclass(frozen=True)
class ChannelConfig:
    """One direction of the link (see docs/link.md for the meaning of each field)."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    loss: float = 0.0
    bandwidth_bytes_per_s: float | None = None
    burst_s: float = 1.0
    blackouts: tuple[Blackout, ...] = ()
    retransmit: tuple[str, ...] = DEFAULT_RETRANSMIT
    max_retransmissions: int = 10

    def in_blackout(self, t: float) -> bool:
        return any(b.covers(t) for b in self.blackouts)

    @property
    def max_delay_s(self) -> float:
        """The longest one-way delay of a first transmission (delay + jitter bound)."""
        return self.delay_s + self.jitter_s


@dataclass(frozen=True)
class LinkProfile:
    name: str
    uplink: ChannelConfig
    downlink: ChannelConfig
    heartbeat_period_s: float = 1.0
    seed: int = 0
    description: str = ''
    source: str = field(default='', compare=False)


_CHANNEL_KEYS = {'delay_s', 'jitter_s', 'loss', 'bandwidth_bytes_per_s', 'burst_s', 'blackouts', 'retransmit',
                 'max_retransmissions'}
_TOP_KEYS = {'name', 'description', 'heartbeat_period_s', 'seed', 'uplink', 'downlink'}


def _blackouts(where: str, value: Any) -> tuple[Blackout, ...]:
    if value is None:
        return ()
    out = []
    for here, item in mapping_items(where, value, ('start_s', 'duration_s', 'period_s'), ('start_s', 'duration_s'),
                                    '{start_s, duration_s[, period_s]}'):
        duration = number(f'{here}.duration_s', item['duration_s'], 0.0, 1e9)
        period = None
        if item.get('period_s') is not None:
            period = number(f'{here}.period_s', item['period_s'], 1e-3, 1e9)
            if duration >= period:
                raise ConfigError(f'{here}.duration_s = {duration} must be shorter than period_s = {period}')
        out.append(Blackout(number(f'{here}.start_s', item['start_s'], 0.0, 1e9), duration, period))
    return tuple(out)


def parse_channel(data: Any, where: str) -> ChannelConfig:
    if data is None:
        return ChannelConfig()
    if not isinstance(data, dict):
        raise ConfigError(f'{where} must be a mapping')
    check_keys(where, data, sorted(_CHANNEL_KEYS))
    bandwidth = data.get('bandwidth_bytes_per_s')
    if bandwidth is not None:
        bandwidth = number(f'{where}.bandwidth_bytes_per_s', bandwidth, 1.0, 1e12)
    retransmit = data.get('retransmit', list(DEFAULT_RETRANSMIT))
    if not isinstance(retransmit, list) or not all(isinstance(t, str) and t.startswith('/') for t in retransmit):
        raise ConfigError(f'{where}.retransmit must be a list of absolute topic names, got {retransmit!r}')
    retries = data.get('max_retransmissions', 10)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 1000:
        raise ConfigError(f'{where}.max_retransmissions must be an integer in [0, 1000], got {retries!r}')
    return ChannelConfig(
        delay_s=number(f'{where}.delay_s', data.get('delay_s', 0.0), 0.0, 3600.0),
        jitter_s=number(f'{where}.jitter_s', data.get('jitter_s', 0.0), 0.0, 3600.0),
        loss=number(f'{where}.loss', data.get('loss', 0.0), 0.0, 1.0),
        bandwidth_bytes_per_s=bandwidth,
        burst_s=number(f'{where}.burst_s', data.get('burst_s', 1.0), 0.01, 3600.0),
        blackouts=_blackouts(f'{where}.blackouts', data.get('blackouts')),
        retransmit=tuple(retransmit), max_retransmissions=retries)


def parse_profile(data: Any, source: str = 'link profile') -> LinkProfile:
    """Validate a profile mapping; ConfigError names the bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f'{source}: top level must be a mapping with name, uplink, downlink')
    check_keys(source, data, sorted(_TOP_KEYS))
    name = data.get('name', Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{source}: name must be a non-empty string')
    seed = data.get('seed', 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f'{source}: seed must be a non-negative integer, got {seed!r}')
    description = data.get('description', '')
    if not isinstance(description, str):
        raise ConfigError(f'{source}: description must be a string')
    return LinkProfile(
        name=name, uplink=parse_channel(data.get('uplink'), f'{source}: uplink'),
        downlink=parse_channel(data.get('downlink'), f'{source}: downlink'),
        heartbeat_period_s=number(f'{source}: heartbeat_period_s', data.get('heartbeat_period_s', 1.0), 0.05, 600.0),
        seed=seed, description=description, source=source)


def load_profile(name_or_path: str, links_dir: Path | None = None) -> LinkProfile:
    """A named profile (`links_dir/NAME.yaml`, by default the package's config/links) or a YAML file."""
    path = Path(name_or_path)
    if not (path.suffix in ('.yaml', '.yml') or path.exists()):
        if links_dir is None:
            from rover_description.paths import data_dir
            links_dir = data_dir('config') / 'links'
        path = links_dir / f'{name_or_path}.yaml'
        if not path.is_file():
            known = sorted(p.stem for p in links_dir.glob('*.yaml'))
            raise ConfigError(f'link profile {name_or_path!r} not found; named profiles: {known}, or give a YAML file')
    if not path.is_file():
        raise ConfigError(f'link profile file {path} does not exist')
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f'{path}: not valid YAML: {exc}') from exc
    return parse_profile(data, str(path))
