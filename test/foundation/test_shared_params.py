"""One key, one meaning, one rule: every node that declares a parameter key declares it alike.

`rover.yaml`'s `/**` section gives one value of a key to every node, so a key whose range differs
between nodes starts some and stops others (`max_clock_skew: 61` once started the drive nodes and
made the chain exit 2). The schemas are read from the node modules without starting ROS.
"""

from __future__ import annotations

import importlib
import re

import pytest
import yaml

from rover_description.paths import REPO_ROOT, data_file
from rover_nav.runtime import shared_params
from rover_nav.runtime.params import ConfigError, ParamSpec, check_value

PACKAGES = ('rover_nav', 'rover_sim', 'rover_bringup')
NODE_CLASS = re.compile(r'^class \w+\((?:RoverNode|ChainNode)\b', re.M)


def node_modules() -> list[str]:
    """Every module that defines a rover node class (found in the source, so a new node is included)."""
    found = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob('*.py')):
            if NODE_CLASS.search(path.read_text(encoding='utf-8')):
                found.append('.'.join(path.relative_to(REPO_ROOT).with_suffix('').parts))
    return found


def node_tables() -> dict[str, tuple[ParamSpec, ...]]:
    """Module -> the parameter schema its node declares (SPECS or PARAMS)."""
    tables = {}
    for name in node_modules():
        module = importlib.import_module(name)
        table = getattr(module, 'SPECS', None) or getattr(module, 'PARAMS', None)
        tables[name] = tuple(table or ())  # the link node declares no parameters
    return tables


def rule(spec: ParamSpec) -> tuple[object, ...]:
    """What must agree between nodes: type, range, choices, list element type."""
    return spec.type, spec.lo, spec.hi, spec.choices, spec.element_type


@pytest.fixture(scope='module')
def tables() -> dict[str, tuple[ParamSpec, ...]]:
    return node_tables()


def declarers(tables: dict[str, tuple[ParamSpec, ...]]) -> dict[str, dict[str, ParamSpec]]:
    by_key: dict[str, dict[str, ParamSpec]] = {}
    for module, table in tables.items():
        for spec in table:
            by_key.setdefault(spec.name, {})[module] = spec
    return by_key


def test_the_node_modules_are_found(tables):
    for module in ('rover_nav.drive.controller_node', 'rover_nav.safety.speed_limiter_node', 'rover_sim.sim_node',
                   'rover_nav.hardware.driver_node', 'rover_nav.link.executor_node', 'rover_bringup.gz_joint_adapter',
                   'rover_nav.teleop.keyboard_teleop_node', 'rover_nav.tracklog.logger_node'):
        assert module in tables


def test_a_key_has_one_type_and_range_in_every_node_that_declares_it(tables):
    for key, nodes in declarers(tables).items():
        rules = {module: rule(spec) for module, spec in nodes.items()}
        assert len(set(rules.values())) == 1, f'{key} is declared differently: {rules}'


def test_a_key_several_nodes_declare_is_the_shared_spec(tables):
    shared = {spec.name: spec for spec in shared_params.SHARED}
    for key, nodes in declarers(tables).items():
        if len(nodes) > 1:
            assert key in shared, f'{key} is declared by {sorted(nodes)}: give it one spec in shared_params'
            for module, spec in nodes.items():
                assert (rule(spec), spec.description) == (rule(shared[key]), shared[key].description), (key, module)


def test_every_key_of_rover_yaml_is_declared_and_valid_everywhere(tables):
    values = yaml.safe_load(data_file('config', 'rover.yaml').read_text())['/**']['ros__parameters']
    by_key = declarers(tables)
    for key, value in values.items():
        assert key in by_key, f'rover.yaml key {key} is declared by no node'
        for spec in by_key[key].values():
            check_value(spec, value)  # ConfigError names the key
        assert key in {s.name for s in shared_params.SHARED} or len(by_key[key]) == 1, key


@pytest.mark.parametrize('value', [61.0, 3000.0])
def test_a_shared_value_is_refused_by_every_node_or_by_none(tables, value):
    """The old bug: max_clock_skew 61 passed the drive nodes (<= 3600) and stopped the chain (<= 60)."""
    outcomes = set()
    for spec in declarers(tables)['max_clock_skew'].values():
        try:
            check_value(spec, value)
            outcomes.add('accepted')
        except ConfigError:
            outcomes.add('refused')
    assert outcomes == {'refused'}


def test_command_timeouts_have_distinct_names_per_meaning(tables):
    by_key = declarers(tables)
    assert set(by_key['command_timeout']) == {'rover_nav.safety.speed_limiter_node'}  # ROVER_SPEC section 4
    assert set(by_key['cmd_vel_timeout']) == {'rover_nav.drive.controller_node'}
    assert set(by_key['joint_command_timeout']) == {'rover_sim.sim_node', 'rover_bringup.gz_joint_adapter',
                                                   'rover_nav.hardware.driver_node'}
    assert set(by_key['uplink_command_timeout']) == {'rover_nav.link.executor_node'}


def test_the_shipped_parameter_files_name_declared_keys(tables):
    """rover.yaml and hardware.yaml set no key that no node declares (a renamed key left behind)."""
    declared = set(declarers(tables)) | {'use_sim_time'}
    for name in ('rover.yaml', 'hardware.yaml'):
        for section, body in yaml.safe_load(data_file('config', name).read_text()).items():
            for key in body['ros__parameters']:
                assert key in declared, f'{name}: {section}: {key}'


def test_every_node_has_a_typed_snapshot_matching_its_specs(tables):
    """A node's `Params` dataclass is what the type checker sees: its fields are exactly the specs."""
    from rover_nav.runtime.params import Params

    for module, table in tables.items():
        if not table:
            continue
        classes = [v for v in vars(importlib.import_module(module)).values()
                   if isinstance(v, type) and issubclass(v, Params) and v is not Params
                   and {f for f in v.field_names()} == {s.name for s in table}]
        assert len(classes) == 1, f'{module}: no Params dataclass with one field per spec'
        classes[0].check_specs(table)
