"""Parameter schema: pure checks, start-up rejection and runtime rejection that keeps the old value."""

from __future__ import annotations

from dataclasses import dataclass
import math
import os
from pathlib import Path
import sys

from helpers.processes import NodeProcess
from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_nav.runtime.params import ConfigError, Params, ParamSpec, check_value, check_values, validate_all

SPEED = ParamSpec('max_linear_speed', float, 0.0559, 'Cap in m/s.', lo=0.0, hi=0.5)
TEST_DIR = Path(__file__).resolve().parent.parent


def test_check_value_accepts_int_for_float_and_coerces():
    assert check_value(SPEED, 0) == 0.0
    assert isinstance(check_value(SPEED, 0), float)


@pytest.mark.parametrize('bad', [-0.1, 0.51, math.nan, math.inf, 'fast', True, None])
def test_check_value_rejects_with_the_key_named(bad):
    with pytest.raises(ConfigError, match='max_linear_speed'):
        check_value(SPEED, bad)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_float_outside_the_range_is_ever_accepted(value):
    try:
        accepted = check_value(SPEED, value)
    except ConfigError:
        return
    assert 0.0 <= accepted <= 0.5


def test_required_parameter_without_value_names_itself():
    wheel = ParamSpec('wheel_radius', float, None, 'Wheel radius in m.', lo=0.01, hi=1.0)
    with pytest.raises(ConfigError, match="'wheel_radius' is required"):
        check_values([wheel], {})


def test_choices_and_lists():
    mode = ParamSpec('mode', str, 'lockstep', 'Stepping mode.', choices=('lockstep', 'free'))
    with pytest.raises(ConfigError, match='mode'):
        check_value(mode, 'warp')
    addrs = ParamSpec('roboclaw_addresses', list, [128, 129, 130], 'Addresses.', lo=128, hi=135,
                      element_type=int)
    assert check_value(addrs, [128, 129]) == [128, 129]
    with pytest.raises(ConfigError, match=r'roboclaw_addresses\[1\]'):
        check_value(addrs, [128, 12])


@pytest.fixture
def private_context():
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        yield ctx
    finally:
        rclpy.try_shutdown(context=ctx)


@pytest.mark.ros
def test_runtime_set_is_rejected_and_old_value_stays(private_context):
    from helpers.twist_nodes import Relay
    from rclpy.parameter import Parameter

    node = Relay(context=private_context)
    try:
        results = node.set_parameters([Parameter('gain', value=1.5)])
        assert not results[0].successful
        assert 'gain' in results[0].reason  # rclpy's range check or ours, both name the key
        assert node.params.snapshot.gain == 1.0
        assert node.get_parameter('gain').value == 1.0
        assert node.set_parameters([Parameter('gain', value=0.5)])[0].successful
        assert node.params.snapshot.gain == 0.5
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_cross_parameter_rule_rejects_atomically(private_context):
    from helpers.twist_nodes import Relay
    from rclpy.parameter import Parameter

    node = Relay(context=private_context)
    try:
        result = node.set_parameters_atomically([Parameter('gain', value=0.2), Parameter('floor', value=0.3)])
        assert not result.successful
        assert "'floor'" in result.reason
        assert node.params.snapshot.gain == 1.0 and node.params.snapshot.floor == 0.0
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_bad_value_at_startup_exits_2_naming_the_key(tmp_path):
    env = {'PYTHONPATH': os.pathsep.join([str(TEST_DIR), os.environ.get('PYTHONPATH', '')])}
    proc = NodeProcess([sys.executable, '-m', 'helpers.twist_nodes', 'relay', '--ros-args', '-p', 'gain:=2.0'],
                       tmp_path / 'relay.log', env=env)
    try:
        code = proc.proc.wait(timeout=30)
    finally:
        proc.stop()
    assert code == 2, proc.output()
    assert "'gain'" in proc.output()


@dataclass(frozen=True)
class _Speeds(Params):
    max_linear_speed: float
    addresses: list[int]


_SPEED_SPECS = (SPEED, ParamSpec('addresses', list, [128], 'Addresses.', lo=128, hi=135, element_type=int))


def test_a_typed_snapshot_holds_the_checked_values():
    snap = validate_all(_SPEED_SPECS, {'max_linear_speed': 0.05, 'addresses': [129]}, _Speeds)
    assert isinstance(snap, _Speeds) and snap.max_linear_speed == 0.05 and snap.addresses == [129]
    assert snap['max_linear_speed'] == 0.05 and snap.as_dict() == {'max_linear_speed': 0.05, 'addresses': [129]}
    assert snap.replace(max_linear_speed=0.01).max_linear_speed == 0.01 and snap.max_linear_speed == 0.05
    with pytest.raises(KeyError):
        snap['replace']


def test_a_snapshot_class_must_match_its_specs():
    _Speeds.check_specs(_SPEED_SPECS)
    with pytest.raises(TypeError, match='do not match'):
        _Speeds.check_specs(_SPEED_SPECS[:1])  # a field without a spec
    with pytest.raises(TypeError, match='do not match'):  # a float spec for an int-list field
        _Speeds.check_specs((SPEED, ParamSpec('addresses', float, 1.0, 'Wrong type.')))
