"""Link profiles: the shipped ones load; a bad key or value is named."""

from __future__ import annotations

import pytest
import yaml

from rover_nav.link.profile import load_profile, parse_profile
from rover_nav.runtime.params import ConfigError


def test_shipped_profiles():
    earth = load_profile('earth')
    assert earth.uplink.delay_s == pytest.approx(1.75, abs=0.05)
    assert earth.downlink.delay_s == pytest.approx(1.75, abs=0.05)
    assert earth.uplink.loss == 0.01 and earth.downlink.bandwidth_bytes_per_s
    assert earth.uplink.blackouts and earth.downlink.blackouts
    assert '/estop' in earth.uplink.retransmit
    ideal = load_profile('ideal')
    assert ideal.uplink.delay_s == 0.0 and ideal.downlink.loss == 0.0 and not ideal.uplink.blackouts


@pytest.mark.parametrize('data, named', [
    ({'uplink': {'delay': 1.0}}, "uplink: unknown key(s) ['delay']"),
    ({'uplink': {'delay_s': -1}}, 'uplink.delay_s'),
    ({'downlink': {'loss': 1.5}}, 'downlink.loss'),
    ({'downlink': {'bandwidth_bytes_per_s': 'fast'}}, 'downlink.bandwidth_bytes_per_s'),
    ({'uplink': {'blackouts': [{'start_s': 1}]}}, 'uplink.blackouts[0].duration_s is required'),
    ({'uplink': {'blackouts': [{'start_s': 1, 'duration_s': 5, 'period_s': 2}]}}, 'must be shorter than period_s'),
    ({'uplink': {'retransmit': ['estop']}}, 'uplink.retransmit'),
    ({'heartbeat_period_s': 0}, 'heartbeat_period_s'),
    ({'latency': 3}, "unknown key(s) ['latency']"),
])
def test_bad_keys_are_named(data, named):
    with pytest.raises(ConfigError, match=None) as info:
        parse_profile({'name': 'x', **data}, 'my.yaml')
    assert named in str(info.value)


def test_unknown_name_lists_the_named_profiles(tmp_path):
    with pytest.raises(ConfigError, match="named profiles: .*'earth'"):
        load_profile('mars')


def test_user_file(tmp_path):
    path = tmp_path / 'slow.yaml'
    path.write_text(yaml.safe_dump({'name': 'slow', 'uplink': {'delay_s': 10.0}}))
    assert load_profile(str(path)).uplink.delay_s == 10.0
    (tmp_path / 'bad.yaml').write_text('uplink: [')
    with pytest.raises(ConfigError, match='not valid YAML'):
        load_profile(str(tmp_path / 'bad.yaml'))
