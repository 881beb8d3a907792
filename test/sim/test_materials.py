"""Rigid things are rigid (issue 17 item 5): a per-cell material map, Coulomb contact on rock and metal, no ruts."""

from __future__ import annotations

import numpy as np
import pytest

from rover_sim.materials import COULOMB_FRICTION, METAL, REGOLITH, ROCK, distance_to_cells
from rover_sim.simulation import SimConfig, Simulation
from rover_sim.terrain import build_terrain, load_world, parse_world

V_TOP = 0.0559


def test_the_terrain_maps_rock_and_the_lander_metal():
    rocks = build_terrain(load_world('rock_test'))

    def at(terrain, x, y):
        grid = terrain.grid
        return int(terrain.materials[round((y - grid.origin_y) / grid.resolution),
                                     round((x - grid.origin_x) / grid.resolution)])

    assert at(rocks, -6.0, 0.0) == ROCK and at(rocks, -1.0, 0.0) == ROCK  # the two rocks' tops
    assert at(rocks, -1.0, 0.26) == REGOLITH and at(rocks, -10.0, 0.0) == REGOLITH  # beside them, the spawn
    assert not np.any(rocks.materials == METAL)
    change4 = build_terrain(load_world('change4'))
    lander = load_world('change4').lander
    assert at(change4, lander.x, lander.y) == METAL  # the deck
    assert set(np.unique(change4.materials).tolist()) == {REGOLITH, ROCK, METAL}
    assert not np.any(build_terrain(load_world('flat')).materials)


def test_distance_to_cells():
    mask = np.zeros((7, 9), dtype=bool)
    mask[3, 4] = True
    d = distance_to_cells(mask, 0.05, 0.15)
    assert d[3, 4] == 0.0 and d[3, 5] == pytest.approx(0.05) and d[4, 5] == pytest.approx(0.05 * 2 ** 0.5)
    assert d[3, 7] == pytest.approx(0.15) and d[3, 8] == np.inf and d[0, 0] == np.inf
    assert np.all(distance_to_cells(np.zeros((3, 3), dtype=bool), 0.05, 0.15) == np.inf)


def test_a_rock_is_rigid_coulomb_ground_without_ruts():
    """Driving onto a wide, low rock: the wheels on it have Coulomb contact (the rock's friction), their treads
    do not slip (no soil shear), and no rut is pressed into it; the regolith before it is rutted as before.
    Before the material map the rock was regolith: 12-18 mm ruts on its top."""
    world = parse_world({'name': 'slab', 'size_m': [10.0, 5.0], 'resolution_m': 0.05,
                         'terrain': {'seed': 1, 'roughness_m': 0.0},
                         'rocks': [{'x': 0.5, 'y': 0.0, 'diameter_m': 3.0, 'height_m': 0.08}],
                         'spawn': {'x': -2.5, 'y': 0.0, 'yaw_deg': 0.0}})
    sim = Simulation(build_terrain(world), SimConfig(hazcam_rate=0.2, imu_rate=10.0))
    sim.command(np.full(6, V_TOP / sim.layout.wheel_radius), np.zeros(4))
    seen = set()
    for _ in range(45):
        sim.advance(1.0)
        seen.update(sim.wheel_materials.tolist())
        assert sim.ground_truth().position[2] < 0.35, 'the rover left the ground'
    assert np.all(sim.wheel_materials == ROCK) and np.all(sim.on_rigid), sim.wheel_materials
    assert seen == {REGOLITH, ROCK}
    tread = sim.layout.tread_geom
    assert np.all(sim.model.geom_friction[tread, 0] == COULOMB_FRICTION[ROCK])
    con = sim.data.contact
    on_tread = np.isin(con.geom[:sim.data.ncon], tread).any(axis=1)
    assert on_tread.any() and np.all(con.friction[:sim.data.ncon][on_tread, 0] == COULOMB_FRICTION[ROCK])
    assert np.all(np.abs(sim.slip) < 0.01) and np.all(sim.sinkage == 0.0)
    depth = sim.ruts.depth_map()
    print(f'rock: deepest rut on rock {1000 * depth[sim.materials == ROCK].max():.2f} mm, on regolith '
          f'{1000 * depth.max():.2f} mm')
    assert depth[sim.materials == ROCK].max() == 0.0
    assert depth.max() > 0.008  # the regolith before the rock
