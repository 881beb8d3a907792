"""The height grid, checked numerically: ramps, rocks, craters, rock abundance, determinism, the change4 egress."""

from __future__ import annotations

from dataclasses import replace
import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from rover_sim.terrain import (
    CraterField,
    RampSpec,
    RockField,
    RockSpec,
    SpawnSpec,
    TerrainRelief,
    WorldConfig,
    build_terrain,
    load_terrain,
    load_world,
    save_terrain,
)
from rover_sim.terrain.relief import expected_rock_count, golombek_cumulative_area
from rover_sim.terrain.store import heights_npz_bytes

# ----------------------------------------------------------------------------------------------
# ramps


def _measured_slope_deg(terrain, ramp: RampSpec) -> float:
    """Least-squares slope of the terrain along the ramp's centre line, over its middle 80 %."""
    h = math.radians(ramp.heading_deg)
    s = np.linspace(0.1 * ramp.length_m, 0.9 * ramp.length_m, 50)
    z = terrain.height_at(ramp.x + s * math.cos(h), ramp.y + s * math.sin(h))
    return math.degrees(math.atan(np.polyfit(s, z, 1)[0]))


def test_slope_test_ramps_match_their_slope_within_half_a_degree():
    world = load_world('slope_test')
    terrain = build_terrain(world)
    slopes = sorted(r.slope_deg for r in world.ramps)
    assert slopes == [15.0, 25.0]
    for ramp in world.ramps:
        assert abs(_measured_slope_deg(terrain, ramp) - ramp.slope_deg) < 0.5
        # and on the grid nodes themselves: the slope map in the ramp's interior
        h = math.radians(ramp.heading_deg)
        mid = ramp.length_m / 2
        assert abs(float(terrain.slope_deg_at(ramp.x + mid * math.cos(h), ramp.y + mid * math.sin(h)))
                   - ramp.slope_deg) < 0.5


def test_slope_test_ramps_are_reachable_along_plus_x_from_the_spawn():
    world = load_world('slope_test')
    terrain = build_terrain(world)
    spawn = terrain.spawn
    assert spawn.yaw == 0.0
    for ramp in world.ramps:
        assert ramp.heading_deg == 0.0 and ramp.x > spawn.x
    ahead = [r for r in world.ramps if abs(r.y - spawn.y) < r.width_m / 2]
    assert ahead, 'one ramp must be straight ahead of the spawn'
    # the ground between the spawn and that ramp's foot is gentle
    x = np.arange(spawn.x, ahead[0].x - 0.2, 0.05)
    assert float(terrain.slope_deg_at(x, np.full_like(x, spawn.y)).max()) < 5.0


@settings(max_examples=25, deadline=None)
@given(slope=st.floats(2.0, 40.0), heading=st.floats(-180.0, 180.0), length=st.floats(2.0, 5.0),
       resolution=st.sampled_from([0.05, 0.1]), seed=st.integers(0, 1000))
def test_any_ramp_has_its_slope(slope, heading, length, resolution, seed):
    ramp = RampSpec(x=0.0, y=0.0, heading_deg=heading, slope_deg=slope, length_m=length, width_m=2.0, plateau_m=1.0)
    world = WorldConfig(name='ramp', size_m=(16.0, 16.0), resolution_m=resolution,
                        terrain=TerrainRelief(seed=seed, roughness_m=0.01), ramps=(ramp,),
                        spawn=SpawnSpec(-6.0, -6.0, 0.0))
    terrain = build_terrain(world)
    assert abs(_measured_slope_deg(terrain, ramp) - slope) < 0.5
    # the plateau is flat and at the top of the slope
    h = math.radians(heading)
    top = terrain.height_at(length + 0.5, 0.0) if heading == 0 else terrain.height_at(
        (length + 0.5) * math.cos(h), (length + 0.5) * math.sin(h))
    foot = terrain.height_at(0.0, 0.0)
    assert float(top - foot) == pytest.approx(ramp.rise_m, abs=0.02 + resolution * math.tan(math.radians(slope)))


# ----------------------------------------------------------------------------------------------
# rocks


def _peak(terrain, x, y, radius):
    rows, cols, dx, dy = terrain.grid.window(x, y, radius)
    block = terrain.heights[rows, cols]
    i, j = np.unravel_index(np.argmax(block), block.shape)
    return float(block[i, j]), float(dx[0, j]), float(dy[i, 0])


def _ring_ground(terrain, x, y, radius):
    """Median terrain height on a ring just outside a rock (the local ground)."""
    a = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    return float(np.median(terrain.height_at(x + radius * np.cos(a), y + radius * np.sin(a))))


def test_rock_test_rocks_stand_their_height_above_the_ground():
    world = load_world('rock_test')
    terrain = build_terrain(world)
    heights = sorted(r.height_m for r in world.rocks)
    assert heights == [0.1, 0.3]
    first, second = sorted(world.rocks, key=lambda r: r.x)
    assert first.height_m == 0.1 and second.height_m == 0.3, 'the 0.1 m rock comes first along +x'
    spawn = terrain.spawn
    for rock in world.rocks:
        assert rock.x > spawn.x and abs(rock.y - spawn.y) < 0.5, 'rocks are on the path ahead of the spawn'
        peak, px, py = _peak(terrain, rock.x, rock.y, rock.diameter_m)
        ground = _ring_ground(terrain, rock.x, rock.y, rock.diameter_m)
        assert abs(peak - ground - rock.height_m) <= world.resolution_m
        assert math.hypot(px, py) <= world.resolution_m  # the peak is within one cell of the centre
    assert 2.0 <= second.x - first.x <= 8.0, 'a few metres apart'


@settings(max_examples=30, deadline=None)
@given(x=st.floats(-3.0, 3.0), y=st.floats(-3.0, 3.0), diameter=st.floats(0.15, 1.5),
       ratio=st.floats(0.2, 1.0), resolution=st.sampled_from([0.05, 0.1]))
def test_any_rock_peak_is_within_one_cell(x, y, diameter, ratio, resolution):
    rock = RockSpec(x=x, y=y, diameter_m=diameter, height_m=diameter * ratio)
    world = WorldConfig(name='rock', size_m=(10.0, 10.0), resolution_m=resolution,
                        terrain=TerrainRelief(seed=1, roughness_m=0.01), rocks=(rock,),
                        spawn=SpawnSpec(-4.5, -4.5, 0.0), clear_radius_m=0.0)
    terrain = build_terrain(world)
    peak, px, py = _peak(terrain, x, y, diameter)
    ground = _ring_ground(terrain, x, y, diameter)
    assert abs(peak - ground - rock.height_m) <= resolution
    assert math.hypot(px, py) <= resolution * math.sqrt(2) / 2 + 1e-9
    explicit = [r for r in terrain.rocks if r.explicit]
    assert len(explicit) == 1 and explicit[0].height_m == rock.height_m


# ----------------------------------------------------------------------------------------------
# determinism


def _relief_world(seed: int) -> WorldConfig:
    return WorldConfig(
        name='seeded', size_m=(20.0, 20.0), resolution_m=0.05,
        terrain=TerrainRelief(seed=seed, roughness_m=0.03,
                              craters=CraterField(per_100m2=4.0, min_diameter_m=0.5, max_diameter_m=5.0),
                              rocks=RockField(k=0.03, min_diameter_m=0.1, max_diameter_m=1.0)),
        rocks=(RockSpec(3.0, 0.0, 0.4, 0.2),), spawn=SpawnSpec(-8.0, 0.0, 0.0))


def test_same_seed_gives_byte_identical_output(tmp_path):
    a = build_terrain(_relief_world(11))
    b = build_terrain(_relief_world(11))
    assert a.heights.tobytes() == b.heights.tobytes()
    assert heights_npz_bytes(a.heights) == heights_npz_bytes(b.heights)
    save_terrain(a, tmp_path / 'a' / 'w')
    save_terrain(b, tmp_path / 'b' / 'w')
    for suffix in ('.npz', '.json'):
        assert (tmp_path / 'a' / f'w{suffix}').read_bytes() == (tmp_path / 'b' / f'w{suffix}').read_bytes()


def test_different_seeds_differ():
    a = build_terrain(_relief_world(11))
    b = build_terrain(_relief_world(12))
    assert not np.array_equal(a.heights, b.heights)
    assert float(np.abs(a.heights - b.heights).mean()) > 0.005
    assert a.craters.shape != b.craters.shape or not np.allclose(a.craters, b.craters)


def test_adding_rocks_does_not_move_the_craters():
    with_rocks = build_terrain(_relief_world(5))
    world = _relief_world(5)
    without = build_terrain(replace(world, terrain=replace(world.terrain, rocks=None)))
    assert np.array_equal(with_rocks.craters, without.craters)


def test_save_and_load_round_trip_exactly(tmp_path):
    terrain = build_terrain(load_world('change4'))
    npz, meta = save_terrain(terrain, tmp_path / 'change4')
    assert npz.name == 'change4.npz' and meta.name == 'change4.json'
    loaded = load_terrain(meta)
    assert np.array_equal(loaded.heights, terrain.heights)
    assert loaded.spawn == terrain.spawn
    assert loaded.resolution == terrain.resolution and loaded.origin_xy == terrain.origin_xy
    assert loaded.corridors == terrain.corridors
    assert len(loaded.rocks) == len(terrain.rocks)
    x = np.array([-12.0, 0.37, 5.123])
    assert np.array_equal(loaded.height_at(x, -x / 3), terrain.height_at(x, -x / 3))
    assert not list(tmp_path.glob('*.tmp')), 'no temporary files left behind'


def test_load_rejects_tampered_heights(tmp_path):
    terrain = build_terrain(load_world('rock_test'))
    save_terrain(terrain, tmp_path / 'rt')
    other = build_terrain(load_world('rock_test').with_seed(9))
    (tmp_path / 'rt.npz').write_bytes(heights_npz_bytes(other.heights))
    with pytest.raises(ValueError, match='SHA-256'):
        load_terrain(tmp_path / 'rt.json')


# ----------------------------------------------------------------------------------------------
# height_at / slope


def test_height_at_is_exact_on_nodes_bilinear_between_and_clamped_outside():
    terrain = build_terrain(_relief_world(3))
    grid = terrain.grid
    i, j = 123, 301
    assert terrain.height_at(grid.x[j], grid.y[i]) == pytest.approx(terrain.heights[i, j], abs=1e-12)
    mid = terrain.height_at(grid.x[j] + terrain.resolution / 2, grid.y[i] + terrain.resolution / 2)
    assert mid == pytest.approx(terrain.heights[i:i + 2, j:j + 2].mean(), abs=1e-12)
    x_min, x_max, y_min, y_max = terrain.extent
    assert terrain.height_at(x_max + 5.0, y_min - 5.0) == pytest.approx(terrain.heights[0, -1])
    xs = np.linspace(x_min, x_max, 7)
    assert terrain.height_at(xs[:, None], xs[None, :]).shape == (7, 7)


def test_flat_world_is_flat_at_zero():
    terrain = build_terrain(load_world('flat'))
    assert np.all(terrain.heights == 0.0)
    assert float(terrain.slope_map().max()) == 0.0
    assert terrain.spawn.z == 0.0 and terrain.gravity == pytest.approx(1.62)


def test_fractal_roughness_has_the_configured_rms():
    world = WorldConfig(name='rough', size_m=(30.0, 30.0), resolution_m=0.05,
                        terrain=TerrainRelief(seed=2, roughness_m=0.04))
    heights = build_terrain(world).heights
    assert float(heights.std()) == pytest.approx(0.04, rel=0.01)


# ----------------------------------------------------------------------------------------------
# craters and rocks statistics


@pytest.mark.parametrize('exponent', [2.0, 2.4, 2.8])
def test_crater_sizes_follow_the_configured_power_law(exponent):
    cfg = CraterField(per_100m2=2.0, min_diameter_m=1.0, max_diameter_m=60.0, exponent=exponent)
    world = WorldConfig(name='field', size_m=(300.0, 300.0), resolution_m=0.5,
                        terrain=TerrainRelief(seed=int(exponent * 10), craters=cfg), clear_radius_m=0.0)
    terrain = build_terrain(world)
    d = terrain.craters[:, 2]
    assert d.size > 1000
    # maximum-likelihood exponent of a (nearly untruncated, D_max / D_min = 60) Pareto law
    fitted = d.size / float(np.log(d / cfg.min_diameter_m).sum())
    assert abs(fitted - exponent) < 0.3
    # and the cumulative counts N(>D) on a log-log plot have the same slope
    ds = np.geomspace(1.0, 8.0, 10)
    n = np.array([(d >= x).sum() for x in ds])
    slope = -np.polyfit(np.log(ds), np.log(n), 1)[0]
    assert abs(slope - exponent) < 0.3
    # the craters are really in the grid: big ones are bowls (centre well below the rim crest)
    big = terrain.craters[terrain.craters[:, 2] >= 6.0]
    centre = terrain.height_at(big[:, 0], big[:, 1])
    rim = terrain.height_at(big[:, 0] + big[:, 2] / 2, big[:, 1])
    assert np.median((rim - centre) / big[:, 2]) > 0.1


def test_crater_density_matches_per_100m2():
    cfg = CraterField(per_100m2=3.0, min_diameter_m=0.5, max_diameter_m=2.0)
    world = WorldConfig(name='dense', size_m=(100.0, 100.0), resolution_m=0.25,
                        terrain=TerrainRelief(seed=8, craters=cfg), clear_radius_m=0.0)
    count = len(build_terrain(world).craters)
    assert abs(count - 300) < 4 * math.sqrt(300)


def test_golombek_rock_abundance():
    cfg = RockField(k=0.03, min_diameter_m=0.1, max_diameter_m=2.0, height_ratio=0.5)
    world = WorldConfig(name='rocky', size_m=(80.0, 80.0), resolution_m=0.05,
                        terrain=TerrainRelief(seed=4, rocks=cfg), clear_radius_m=0.0)
    terrain = build_terrain(world)
    rocks = terrain.rocks
    expected = expected_rock_count(cfg, 6400.0)
    assert abs(len(rocks) - expected) < 4 * math.sqrt(expected)
    d = np.array([r.diameter_m for r in rocks])
    # covered area fraction of rocks >= D follows F(D) = k exp(-q D) (minus the part above D_max)
    for threshold in (0.1, 0.2, 0.3):
        covered = float((np.pi * d[d >= threshold] ** 2 / 4).sum()) / 6400.0
        model = float(golombek_cumulative_area(cfg.k, threshold) - golombek_cumulative_area(cfg.k, 2.0))
        assert covered == pytest.approx(model, rel=0.25)
    assert all(r.height_m == pytest.approx(0.5 * r.diameter_m) for r in rocks)


def test_procedural_features_keep_clear_of_the_spawn():
    world = replace(_relief_world(21), clear_radius_m=3.0)
    terrain = build_terrain(world)
    s = terrain.spawn
    for r in terrain.rocks:
        if not r.explicit:
            assert math.hypot(r.x - s.x, r.y - s.y) >= 3.0 + r.diameter_m / 2 - 1e-9 - world.resolution_m
    for x, y, d in terrain.craters:
        assert math.hypot(x - s.x, y - s.y) >= 3.0 + d - world.resolution_m


# ----------------------------------------------------------------------------------------------
# change4: lander, egress ramp, clear corridor


@pytest.fixture(scope='module')
def change4():
    world = load_world('change4')
    return world, build_terrain(world)


def test_change4_egress_ramp_is_gentle_and_wide(change4):
    world, terrain = change4
    lander = world.lander
    assert lander is not None
    assert lander.ramp_slope_deg <= 12.0
    assert lander.ramp_width_m >= 1.6, 'the ~1.0 m track plus 0.15 m wheels needs margin on a 1.4 m minimum'
    ramp_rect, corridor = terrain.corridors
    # measured slope along the ramp centre line
    h = math.radians(lander.heading_deg)
    s = np.linspace(ramp_rect.along_lo + 0.3, ramp_rect.along_hi - 0.3, 40)
    z = terrain.height_at(lander.x + s * math.cos(h), lander.y + s * math.sin(h))
    measured = -math.degrees(math.atan(np.polyfit(s, z, 1)[0]))
    assert abs(measured - lander.ramp_slope_deg) < 0.5
    # the flat ramp surface is at least 1.4 m wide: count nodes across the middle on the ramp plane
    mid = (ramp_rect.along_lo + ramp_rect.along_hi) / 2
    across = np.arange(-2.0, 2.0 + 1e-9, world.resolution_m)
    cx = lander.x + mid * math.cos(h) - across * math.sin(h)
    cy = lander.y + mid * math.sin(h) + across * math.cos(h)
    plane = float(terrain.height_at(lander.x + mid * math.cos(h), lander.y + mid * math.sin(h)))
    on_plane = np.abs(terrain.height_at(cx, cy) - plane) < 0.002
    assert on_plane.sum() * world.resolution_m >= 1.4


def test_change4_rover_spawns_on_a_deck_it_fits(change4):
    world, terrain = change4
    lander = world.lander
    s = terrain.spawn
    assert (s.x, s.y) == (lander.x, lander.y)
    ramp_rect = terrain.corridors[0]
    foot = terrain.height_at(lander.x + ramp_rect.along_hi * math.cos(s.yaw),
                             lander.y + ramp_rect.along_hi * math.sin(s.yaw))
    assert s.z - float(foot) == pytest.approx(lander.deck_height_m, abs=0.01)
    assert math.degrees(s.yaw) == pytest.approx(lander.heading_deg)
    # a Yutu-2 footprint (1.5 m x 1.0 m) around the spawn is level deck
    ax, ay = np.meshgrid(np.linspace(-0.75, 0.75, 31), np.linspace(-0.5, 0.5, 21))
    z = terrain.height_at(s.x + ax * math.cos(s.yaw) - ay * math.sin(s.yaw),
                          s.y + ax * math.sin(s.yaw) + ay * math.cos(s.yaw))
    assert float(np.ptp(z)) < 1e-3
    assert lander.deck_length_m >= 1.5 + 0.4 and lander.deck_width_m >= 1.0 + 0.4


def test_change4_corridor_has_no_slope_above_12_degrees_and_no_rock_above_10_cm(change4):
    world, terrain = change4
    grid = terrain.grid
    px, py = np.meshgrid(grid.x, grid.y)
    slope = terrain.slope_map()
    res = world.resolution_m
    ramp_rect, ground = terrain.corridors
    # the drivable ramp surface (two cells in from its side edges, whose central differences see
    # the drop), then the ground corridor
    inner_ramp = replace(ramp_rect, half_width=ramp_rect.half_width - 2 * res)
    for rect in (inner_ramp, ground):
        inside = rect.contains(px, py)
        assert inside.sum() > 1000
        assert float(slope[inside].max()) <= 12.0, rect
    # no rock above 0.1 m: the corridor is the same with and without the rock field ...
    no_rocks = build_terrain(replace(world, terrain=replace(world.terrain, rocks=None)))
    for rect in (ramp_rect, ground):
        inside = rect.contains(px, py)
        assert float(np.abs(terrain.heights - no_rocks.heights)[inside].max()) <= 0.1
    # ... and no catalogued rock touches it
    for rock in terrain.rocks:
        if rock.height_m > 0.1:
            a = np.linspace(0, 2 * np.pi, 16)
            edge_x = rock.x + rock.diameter_m / 2 * np.cos(a)
            edge_y = rock.y + rock.diameter_m / 2 * np.sin(a)
            assert not any(rect.contains(edge_x, edge_y).any() for rect in (ramp_rect, ground))
            assert not any(rect.contains(rock.x, rock.y) for rect in (ramp_rect, ground))


def test_change4_has_craters_and_rocks_of_all_sizes_around(change4):
    _, terrain = change4
    d = np.array([r.diameter_m for r in terrain.rocks])
    assert len(terrain.craters) >= 15
    assert float(terrain.craters[:, 2].max()) >= 3.0
    for lo, hi in ((0.1, 0.2), (0.2, 0.4), (0.4, 1.5)):
        assert ((d >= lo) & (d < hi)).sum() >= 3, (lo, hi)


def test_edited_heights_save_quantised_and_reload(tmp_path):
    """The simulator saves rutted terrains: any float heights store within half a quantisation level."""
    terrain = build_terrain(load_world('rock_test'))
    rutted = replace(terrain, heights=terrain.heights - 0.0123456789 * (terrain.grid.x[None, :] > 0), _slope=None)
    save_terrain(rutted, tmp_path / 'rutted')
    loaded = load_terrain(tmp_path / 'rutted.json')
    step = (rutted.heights.max() - rutted.heights.min()) / 65535
    assert float(np.abs(loaded.heights - rutted.heights).max()) <= step / 2 + 1e-12
    save_terrain(loaded, tmp_path / 'again')
    assert (tmp_path / 'again.npz').read_bytes() == (tmp_path / 'rutted.npz').read_bytes()
