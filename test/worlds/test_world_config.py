"""World YAML validation: the named worlds load; every bad file fails naming the key and the allowed range."""

from __future__ import annotations

import copy
import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
import yaml

from rover_nav.runtime.params import ConfigError
from rover_sim.terrain import WorldConfigError, load_world, parse_world

NAMED = ('change4', 'flat', 'rock_test', 'slope_test')

GOOD = {
    'name': 'good',
    'size_m': [20.0, 16.0],
    'resolution_m': 0.1,
    'gravity': 1.62,
    'terrain': {'seed': 3, 'roughness_m': 0.01,
                'craters': {'per_100m2': 1.0, 'min_diameter_m': 0.5, 'max_diameter_m': 4.0},
                'rocks': {'k': 0.01, 'min_diameter_m': 0.1, 'max_diameter_m': 0.6, 'height_ratio': 0.5}},
    'rocks': [{'x': 4.0, 'y': 0.0, 'diameter_m': 0.5, 'height_m': 0.3}],
    'ramps': [{'x': 3.0, 'y': 3.0, 'heading_deg': 0, 'slope_deg': 25, 'length_m': 4, 'width_m': 3}],
    'lander': {'x': -6.0, 'y': -3.0},
    'spawn': {'x': -6.0, 'y': -3.0, 'yaw_deg': 0.0},
}


@pytest.mark.parametrize('name', NAMED)
def test_named_worlds_load(name):
    world = load_world(name)
    assert world.name == name
    assert world.gravity == pytest.approx(1.62)
    assert world.source is not None and world.source.name == f'{name}.yaml'


def test_a_path_loads_like_a_name(tmp_path):
    path = tmp_path / 'mine.yaml'
    path.write_text(yaml.safe_dump(GOOD))
    assert load_world(path).name == 'good'
    assert load_world(str(path)).ramps[0].slope_deg == 25


def test_spec_example_is_valid():
    world = parse_world(GOOD)
    assert world.terrain.craters.max_diameter_m == 4.0
    assert world.terrain.rocks.q == pytest.approx(1.79 + 0.152 / 0.01)
    assert world.ramps[0].rise_m == pytest.approx(4 * math.tan(math.radians(25)))
    assert world.shape == (161, 201)


def _with(path: str, value):
    """GOOD with the value at a dotted path (list index as a number) replaced; value DELETE removes it."""
    data = copy.deepcopy(GOOD)
    keys = path.split('.')
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

BAD = [
    # (dotted path, bad value, text the message must contain)
    ('resolution_m', 0.0, "'resolution_m'"),
    ('resolution_m', DELETE, "'resolution_m' is required"),
    ('resolution_m', 'fine', "'resolution_m' must be a number"),
    ('size_m', [20.0], "'size_m'"),
    ('size_m.0', -5.0, "'size_m[0]'"),
    ('gravity', float('nan'), "'gravity'"),
    ('name', 'has space', "'name'"),
    ('terrain.seed', -1, "'terrain.seed'"),
    ('terrain.seed', 1.5, "'terrain.seed' must be an integer"),
    ('terrain.roughness_m', 5.0, "'terrain.roughness_m' = 5.0 is out of range [0, 2]"),
    ('terrain.craters.min_diameter_m', -1.0, "'terrain.craters.min_diameter_m' = -1.0 is out of range [0.05, 1000]"),
    ('terrain.craters.max_diameter_m', 0.2, "'terrain.craters.max_diameter_m' = 0.2 must be >="),
    ('terrain.craters.exponent', 4.0, "'terrain.craters.exponent'"),
    ('terrain.craters.per_100m2', DELETE, "'terrain.craters.per_100m2' is required"),
    ('terrain.rocks.k', 0.0, "'terrain.rocks.k'"),
    ('terrain.rocks.colour', 'grey', "unknown key 'terrain.rocks.colour'"),
    ('terrain.craters', [1, 2], "'terrain.craters' must be a mapping"),
    ('rocks.0.height_m', 0.0, "'rocks[0].height_m'"),
    ('rocks.0.x', 30.0, "'rocks[0]' puts (30.00, 0.00) off the map"),
    ('rocks', {'x': 1}, "'rocks' must be a list"),
    ('ramps.0.slope_deg', 75.0, "'ramps[0].slope_deg' = 75.0 is out of range [0.5, 60]"),
    ('ramps.0.length_m', 40.0, "'ramps[0]' puts"),
    ('ramps.0.width_m', True, "'ramps[0].width_m' must be a number"),
    ('lander.ramp_slope_deg', 13.0, "'lander.ramp_slope_deg' = 13.0 is out of range [1, 12]"),
    ('lander.ramp_width_m', 1.2, "'lander.ramp_width_m' = 1.2 is out of range [1.4, 10]"),
    ('lander.x', 9.9, "'lander' puts"),
    ('spawn.yaw_deg', 720.0, "'spawn.yaw_deg'"),
    ('spawn.z', 1.0, "unknown key 'spawn.z'"),
    ('colour', 'grey', "unknown key 'colour'"),
]


@pytest.mark.parametrize(('path', 'value', 'needle'), BAD,
                         ids=[f'{p}=<deleted>' if v is DELETE else f'{p}={v!r}' for p, v, _ in BAD])
def test_invalid_world_names_the_key(path, value, needle):
    with pytest.raises(WorldConfigError) as exc:
        parse_world(_with(path, value))
    assert needle in str(exc.value)
    assert isinstance(exc.value, ConfigError) and isinstance(exc.value, ValueError)


def test_invalid_file_names_the_file_and_key(tmp_path):
    path = tmp_path / 'broken.yaml'
    path.write_text(yaml.safe_dump(_with('terrain.craters.min_diameter_m', -1.0)))
    with pytest.raises(WorldConfigError, match=r"broken\.yaml.*'terrain\.craters\.min_diameter_m'"):
        load_world(path)


def test_not_yaml_and_not_a_mapping(tmp_path):
    path = tmp_path / 'junk.yaml'
    path.write_text('name: [unclosed')
    with pytest.raises(WorldConfigError, match='not valid YAML'):
        load_world(path)
    with pytest.raises(WorldConfigError, match='mapping'):
        parse_world(['a', 'list'])


def test_missing_world_lists_the_available_ones():
    with pytest.raises(FileNotFoundError, match='named worlds: change4, flat, rock_test, slope_test'):
        load_world('no_such_world')
    with pytest.raises(FileNotFoundError, match='type --world change4'):  # the generated Gazebo file
        load_world('change4.sdf')


def test_grid_too_large_is_rejected():
    with pytest.raises(WorldConfigError, match="'resolution_m' = 0.005 gives a 400001"):
        parse_world(_with('size_m', [2000.0, 10.0]) | {'resolution_m': 0.005})


def test_with_seed_replaces_only_the_seed():
    world = parse_world(GOOD)
    other = world.with_seed(99)
    assert other.terrain.seed == 99 and other.terrain.craters == world.terrain.craters
    with pytest.raises(WorldConfigError, match="'terrain.seed'"):
        world.with_seed(-3)


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(['roughness_m', 'corner_m', 'hurst', 'min_wavelength_m']),
       value=st.floats(allow_nan=True, allow_infinity=True))
def test_terrain_numbers_are_accepted_exactly_inside_their_range(key, value):
    from rover_sim.terrain.config import _TERRAIN_FIELDS
    lo, hi, _, _ = _TERRAIN_FIELDS[key]
    data = _with(f'terrain.{key}', value)
    if math.isfinite(value) and lo <= value <= hi:
        assert getattr(parse_world(data).terrain, key) == value
    else:
        with pytest.raises(WorldConfigError, match=f"'terrain.{key}'"):
            parse_world(data)


# -- hostile and oversized worlds (issue 18, finding 10) ---------------------------------------------


def test_an_alias_bomb_world_is_refused_fast_with_exit_code_2_meaning(tmp_path):
    from worlds.hostile_yaml import ALIAS_BOMB_WORLD

    path = tmp_path / 'bomb.yaml'
    path.write_text(ALIAS_BOMB_WORLD)
    with pytest.raises(WorldConfigError, match=r'YAML aliases \(\*a\) are not allowed'):
        load_world(path)
    assert issubclass(WorldConfigError, ConfigError)  # `rover run` maps it to exit code 2


@pytest.mark.parametrize(('patch', 'key'), [
    ({'size_m': [2000.0, 2000.0], 'resolution_m': 0.5}, 'resolution_m'),
    ({'size_m': [1000.0, 1000.0], 'resolution_m': 0.5,
      'terrain': {'craters': {'per_100m2': 1000.0, 'min_diameter_m': 0.5, 'max_diameter_m': 4.0}}},
     'terrain.craters.per_100m2'),
    ({'size_m': [1000.0, 1000.0], 'resolution_m': 0.5,
      'terrain': {'rocks': {'k': 0.05, 'min_diameter_m': 0.05, 'max_diameter_m': 1.0}}}, 'terrain.rocks.k'),
])
def test_a_huge_but_valid_world_is_refused_up_front_naming_the_key(patch, key):
    data = copy.deepcopy(GOOD)
    data.update(patch)
    data.pop('rocks'), data.pop('ramps'), data.pop('lander')
    data['spawn'] = {'x': 0.0, 'y': 0.0}
    with pytest.raises(WorldConfigError, match=f"key '{key}'"):
        parse_world(data)


def test_too_many_explicit_rocks_are_refused():
    data = copy.deepcopy(GOOD)
    data['rocks'] = [{'x': 1.0, 'y': 1.0, 'diameter_m': 0.1, 'height_m': 0.05}] * 20_001
    with pytest.raises(WorldConfigError, match="key 'rocks' lists 20001 rocks"):
        parse_world(data)


def test_a_huge_integer_is_out_of_range_not_an_overflow():
    data = copy.deepcopy(GOOD)
    data['gravity'] = 10**400
    with pytest.raises(WorldConfigError, match=r"key 'gravity' = .*\.\.\. is out of range|key 'gravity' = \d+"):
        parse_world(data)
