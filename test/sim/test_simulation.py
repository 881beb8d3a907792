"""The stepping core on real worlds: slip on slopes, parking, steering, sensors, ruts, determinism."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from rover_sim.sensors import roll_pitch_yaw, tilt_deg
from rover_sim.simulation import SimConfig, Simulation, rigid_distance
from rover_sim.terrain import build_terrain, lander_surfaces, load_terrain, load_world, parse_world

V_TOP = 0.0559  # m/s, Yutu-2 top speed
RADIUS = 0.15


def slope_world(deg: float):
    ramps = [{'x': -8.0, 'y': 0.0, 'heading_deg': 0.0, 'slope_deg': float(deg), 'length_m': 14.0,
              'width_m': 6.0, 'plateau_m': 1.0}] if deg else []
    return parse_world({'name': f'slope{deg:g}', 'size_m': [24.0, 10.0], 'resolution_m': 0.05, 'ramps': ramps,
                        'spawn': {'x': -3.0, 'y': 0.0, 'yaw_deg': 0.0}})


# steady slip on slopes against an independent model: test/sim/test_mobility.py


def test_parked_rover_holds_on_twenty_degrees():
    sim = Simulation(build_terrain(slope_world(20.0)), SimConfig(hazcam_rate=0.5, imu_rate=10.0))
    sim.command(np.full(6, V_TOP / RADIUS), np.zeros(4))
    sim.advance(3.0)
    sim.stop_wheels()
    sim.advance(3.0)
    p0 = sim.ground_truth().position.copy()
    sim.advance(10.0)
    assert np.linalg.norm(sim.ground_truth().position - p0) < 0.005  # < 5 mm in 10 s
    assert np.all(sim.data.eq_active[sim.layout.lock_eq])


@pytest.fixture(scope='module')
def flat_sim() -> Simulation:
    return Simulation(build_terrain(load_world('flat')), SimConfig(seed=3))


def test_starts_level_at_rest_with_the_gravity_reaction(flat_sim):
    sim = flat_sim
    gt = sim.ground_truth()
    assert np.linalg.norm(gt.linear) < 1e-3
    assert tilt_deg(sim.base_rotation()) < 0.5
    assert gt.position[2] == pytest.approx(RADIUS, abs=0.02)
    sim.advance(0.2)
    acc = np.mean([s.linear_acceleration for s in sim.imu_out], axis=0)
    assert acc[2] == pytest.approx(1.62, abs=0.05)
    sim.imu_out.clear()
    sim.cloud_out.clear()


def test_steering_reaches_its_angles(flat_sim):
    sim = flat_sim
    target = np.array([0.4, -0.3, -0.4, 0.3])
    sim.command(None, target)
    sim.advance(4.0)
    js = sim.joint_states()
    steer = js.position[[js.names.index(n) for n in ('steer_fl_joint', 'steer_rl_joint', 'steer_fr_joint',
                                                     'steer_rr_joint')]]
    np.testing.assert_allclose(steer, target, atol=0.02)
    sim.command(None, np.zeros(4))
    sim.advance(4.0)


STEER_NAMES = ('steer_fl_joint', 'steer_rl_joint', 'steer_fr_joint', 'steer_rr_joint')


@pytest.mark.parametrize('sign', [1.0, -1.0])
def test_a_45_degree_steering_step_swings_at_the_description_rate(sign):
    """A 45 deg step takes about angle / max_steer_rate of simulated time (URDF limit), not the torque limit's ~0.3 s.

    Judged on sim.time. The joint follows its slewed reference with a small servo lag; joint_states
    report the joint's simulated angle, which passes through the intermediate angles. Pivoting in
    place the wheels scrub the soil (up to ~4 N m); a corner held back by that once swung at 1.06x
    the rate when it came free (the reference had run ahead). On its own simulator: with the module's
    shared one the outcome depended on which tests a worker had run before.
    """
    sim = Simulation(build_terrain(load_world('flat')), SimConfig(seed=3))
    sim.advance(0.2)
    from rover_description.geometry import load_geometry

    rate = load_geometry('yutu2').max_steer_rate
    np.testing.assert_allclose(sim.max_steer_rate, rate)
    target = sign * math.pi / 4
    expected = abs(target) / rate  # 1.57 s for yutu2
    idx = [sim.layout.joint_names.index(n) for n in STEER_NAMES]
    sim.command(None, np.zeros(4))
    sim.advance(2.0)
    start = sim.time
    sim.command(None, np.full(4, target))
    times, angles, rates = [], [], []
    while sim.time - start < expected + 1.5:
        sim.advance(0.02)
        js = sim.joint_states()
        times.append(sim.time - start)
        angles.append(js.position[idx])
        rates.append(js.velocity[idx])
    times, angles, rates = np.array(times), np.array(angles), np.array(rates)
    err = np.abs(angles - target).max(axis=1)
    within_3deg = times[np.argmax(err < math.radians(3.0))]  # every corner within ~the drive's resume tolerance
    assert err[-1] < math.radians(0.5)
    assert 0.95 * expected <= within_3deg <= expected + 0.3, (within_3deg, expected)
    assert np.abs(rates).max() <= 1.05 * rate
    # half way through the swing the corners are near half the angle: a ramp, not a jump and a wait
    mid = np.argmin(np.abs(times - expected / 2))
    np.testing.assert_allclose(angles[mid], target / 2, atol=math.radians(6.0))
    sim.command(None, np.zeros(4))
    sim.advance(expected + 1.0)
    assert np.abs(sim.joint_states().position[idx]).max() < math.radians(0.5)


def test_nan_keeps_and_limits_clamp(flat_sim):
    sim = flat_sim
    sim.command(np.full(6, 0.2), np.zeros(4))
    sim.command(np.array([np.nan, 5.0, np.nan, np.nan, -5.0, np.nan]), None)
    assert sim.wheel_cmd[0] == 0.2
    assert sim.wheel_cmd[1] == pytest.approx(1.0) and sim.wheel_cmd[4] == pytest.approx(-1.0)
    sim.stop_wheels()


def test_hazcam_sees_flat_floor_in_hazcam_link(flat_sim):
    sim = flat_sim
    pts = sim.scan().reshape(-1, 3)
    ok = np.all(np.isfinite(pts), axis=1)
    assert ok.sum() > 200
    site = sim.layout.hazcam_site
    world = pts[ok] @ sim.data.site_xmat[site].reshape(3, 3).T + sim.data.site_xpos[site]
    assert np.max(np.abs(world[:, 2])) < 0.03  # on the (slightly rutted) floor


def test_heightfield_rows_are_y():
    """A ridge along x at y = +2 m lifts a rover placed at y = +2, not at y = -2 (row order check)."""
    world = parse_world({'name': 'ridge', 'size_m': [10.0, 10.0], 'resolution_m': 0.05,
                         'ramps': [{'x': -3.0, 'y': 2.0, 'heading_deg': 0.0, 'slope_deg': 5.0, 'length_m': 4.0,
                                    'width_m': 2.5, 'plateau_m': 2.0}],
                         'spawn': {'x': 2.0, 'y': 2.0, 'yaw_deg': 0.0}})
    terrain = build_terrain(world)
    sim = Simulation(terrain, SimConfig(hazcam_rate=0.5, imu_rate=10.0, settle_time=2.0))
    top = float(terrain.height_at(2.0, 2.0))
    assert top > 0.3
    assert sim.ground_truth().position[2] == pytest.approx(top + RADIUS, abs=0.03)


def test_ruts_are_left_behind_and_saved(tmp_path):
    sim = Simulation(build_terrain(load_world('flat')), SimConfig(hazcam_rate=0.5, imu_rate=10.0))
    x0 = sim.ground_truth().position[0]
    sim.command(np.full(6, V_TOP / RADIUS), np.zeros(4))
    sim.advance(10.0)
    depth = sim.ruts.depth_map()
    assert 0.005 < depth.max() < 0.05
    grid = sim.terrain.grid
    ys, xs = np.nonzero(depth > 0.002)
    assert grid.x[xs].min() < x0 and grid.x[xs].max() > x0 + 0.2  # a track along the drive
    assert set(np.round(grid.y[ys] * 2) / 2) <= {-0.5, 0.0, 0.5}  # under the two wheel lines (|y| ~ 0.5 m)
    npz, _ = sim.save_terrain(tmp_path / 'terrain_final')
    saved = load_terrain(npz)
    assert (sim.terrain.heights - saved.heights).max() > 0.005


def test_terrain_final_keeps_the_material_map_and_older_files_still_load(tmp_path):
    """terrain_final.npz carries the simulator's material map (`materials`, uint8 codes of rover_sim.materials):
    the world's rocks, and the rigid zones it was given as metal. A file without the array (written before it
    was saved) still loads, with no map (all regolith)."""
    import json
    import zipfile

    from rover_sim.materials import METAL, NAMES, REGOLITH, ROCK
    from rover_sim.terrain import Rect

    world = parse_world({'name': 'mats', 'size_m': [6.0, 4.0], 'resolution_m': 0.05,
                         'terrain': {'seed': 1, 'roughness_m': 0.0},
                         'rocks': [{'x': 1.5, 'y': 0.0, 'diameter_m': 0.8, 'height_m': 0.1}],
                         'spawn': {'x': -1.5, 'y': 0.0, 'yaw_deg': 0.0}})
    deck = Rect(-2.5, 1.2, 0.0, -0.3, 0.3, 0.3)
    sim = Simulation(build_terrain(world), SimConfig(hazcam_rate=0.5, settle_time=0.0), rigid_zones=[deck])
    assert {REGOLITH, ROCK, METAL} <= set(np.unique(sim.materials).tolist())
    npz, meta_path = sim.save_terrain(tmp_path / 'terrain_final')
    with np.load(npz, allow_pickle=False) as data:
        assert data['materials'].dtype == np.uint8
        np.testing.assert_array_equal(data['materials'], sim.materials)
    meta = json.loads(meta_path.read_text())
    assert meta['materials']['codes'] == {name: code for code, name in enumerate(NAMES)}
    loaded = load_terrain(npz)
    np.testing.assert_array_equal(loaded.materials, sim.materials)
    # the same files without the array, as written before: heights load, no material map
    old = tmp_path / 'old' / 'terrain_final.npz'
    old.parent.mkdir()
    with zipfile.ZipFile(npz) as src, zipfile.ZipFile(old, 'w') as dst:
        for name in src.namelist():
            if name != 'materials.npy':
                dst.writestr(name, src.read(name))
    del meta['materials']
    (old.parent / 'terrain_final.json').write_text(json.dumps(meta))
    before = load_terrain(old)
    assert before.materials is None
    np.testing.assert_array_equal(before.heights, loaded.heights)


def test_same_inputs_same_pose():
    def run() -> np.ndarray:
        sim = Simulation(build_terrain(load_world('rock_test')), SimConfig(seed=7))
        for k in range(30):
            sim.command(np.full(6, 0.3 if k < 20 else 0.0), np.array([0.1, -0.1, 0.1, -0.1]))
            sim.advance(0.1)
        gt = sim.ground_truth()
        return np.r_[gt.position, gt.orientation, sim.imu_out[-1].linear_acceleration, sim.cloud_out[-1][1].ravel()]

    a, b = run(), run()
    np.testing.assert_array_equal(a, b)


def test_imu_pitch_on_a_ramp():
    """Standing nose-up on the 15 degree ramp of slope_test: IMU pitch -15 deg, tilt 15 deg."""
    world = load_world('slope_test')
    ramp = world.ramps[0]
    terrain = build_terrain(world)
    from dataclasses import replace
    terrain = replace(terrain, spawn=replace(terrain.spawn, x=ramp.x + 3.0, y=ramp.y, yaw=0.0))
    sim = Simulation(terrain, SimConfig(hazcam_rate=0.5, settle_time=2.0))
    sim.advance(0.5)
    x, y, z, w = sim.imu_out[-1].orientation
    rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    _, pitch, _ = roll_pitch_yaw(rot)
    assert math.degrees(pitch) == pytest.approx(-15.0, abs=1.5)
    assert tilt_deg(rot) == pytest.approx(15.0, abs=1.5)


def lander_world():
    """A small lander: 0.3 m deck (x -6.2..-3.8), 11 degree ramp down to its foot at x = -2.26, regolith beyond."""
    return parse_world({'name': 'lander_test', 'size_m': [14.0, 6.0], 'resolution_m': 0.05,
                        'lander': {'x': -5.0, 'y': 0.0, 'heading_deg': 0.0, 'deck_height_m': 0.3,
                                   'deck_length_m': 2.4, 'deck_width_m': 2.2, 'ramp_slope_deg': 11.0,
                                   'ramp_width_m': 1.8, 'corridor_width_m': 3.0, 'corridor_length_m': 4.0},
                        'spawn': {'x': -5.0, 'y': 0.0, 'yaw_deg': 0.0}})


def _deck_slip(sim: Simulation) -> float:
    sim.command(np.full(6, V_TOP / RADIUS), np.zeros(4))
    sim.advance(2.0)
    p0, q0 = sim.ground_truth().position.copy(), sim.data.qpos[sim.layout.hub_qpos].mean()
    sim.advance(8.0)
    p1, q1 = sim.ground_truth().position.copy(), sim.data.qpos[sim.layout.hub_qpos].mean()
    return 1.0 - (p1[0] - p0[0]) / ((q1 - q0) * RADIUS)


def test_lander_surfaces_are_the_deck_then_the_ramp():
    world = lander_world()
    deck, ramp = lander_surfaces(world)
    assert deck.contains(-5.0, 0.0) and not deck.contains(-3.7, 0.0)
    assert ramp.contains(-3.7, 0.0) and ramp.contains(-2.3, 0.8) and not ramp.contains(-2.2, 0.0)
    assert lander_surfaces(load_world('flat')) == ()


def test_rigid_distance_of_grid_points():
    world = lander_world()
    zones = lander_surfaces(world)
    d = rigid_distance(zones, np.array([-5.0, -3.7, -2.0, -5.0, 0.0]), np.array([0.0, 0.0, 0.0, 1.6, 0.0]))
    ramp_foot = -3.8 + 0.3 / math.tan(math.radians(11.0))
    np.testing.assert_allclose(d, [0.0, 0.0, -2.0 - ramp_foot, 0.5, -ramp_foot], atol=1e-9)
    assert np.all(rigid_distance((), np.zeros(3), np.zeros(3)) == np.inf)


def test_lander_deck_is_metal_not_regolith():
    """On the deck the tread does not slip, does not sink and leaves no rut; the same deck as soil does all three."""
    world = lander_world()
    metal = Simulation.for_world(world, SimConfig(hazcam_rate=0.5, imu_rate=10.0))
    slip = _deck_slip(metal)
    assert np.all(metal.on_rigid)
    assert abs(slip) < 0.005, slip
    assert np.all(metal.sinkage == 0.0) and np.all(np.abs(metal.slip) < 0.005)
    assert metal.ruts.depth_map().max() == 0.0
    regolith_deck = dataclasses.replace(build_terrain(world), materials=None)  # no material map: all regolith
    soil = Simulation(regolith_deck, SimConfig(hazcam_rate=0.5, imu_rate=10.0))
    assert not np.any(soil.on_rigid)
    assert _deck_slip(soil) > 0.03
    assert soil.ruts.depth_map().max() > 0.005


def test_down_the_metal_ramp_without_slip_and_ruts_only_on_the_regolith():
    sim = Simulation.for_world(lander_world(), SimConfig(hazcam_rate=0.5, imu_rate=10.0))
    sim.command(np.full(6, V_TOP / RADIUS), np.zeros(4))
    # all six wheels are on the ramp from about x = -3.2; from -3.0 the body has finished pitching over
    # the crest (that pitch-over carries base_link ahead of the wheels, see docs/simulator.md)
    while sim.ground_truth().position[0] < -3.0:
        sim.advance(0.5)
    assert np.all(sim.on_rigid)
    p0, q0 = sim.ground_truth().position.copy(), sim.data.qpos[sim.layout.hub_qpos].mean()
    sim.advance(4.0)
    p1, q1 = sim.ground_truth().position.copy(), sim.data.qpos[sim.layout.hub_qpos].mean()
    assert abs(1.0 - np.linalg.norm(p1 - p0) / ((q1 - q0) * RADIUS)) < 0.01  # rolls at the rim speed
    assert tilt_deg(sim.base_rotation()) == pytest.approx(11.0, abs=1.0)
    while sim.ground_truth().position[0] < -1.0:  # off the ramp, 1.3 m onto the regolith
        sim.advance(0.5)
    assert not np.any(sim.on_rigid)
    depth = sim.ruts.depth_map()
    assert np.all(depth[sim.rigid_mask] == 0.0)
    grid = sim.terrain.grid
    row = depth[np.searchsorted(grid.y, 0.5 - 1e-9)]  # the left wheel line
    foot = -3.8 + 0.3 / math.tan(math.radians(11.0))
    assert row[(grid.x > foot + RADIUS) & (grid.x < -1.8)].min() > 0.008  # a full rut on the regolith
    assert row[(grid.x > foot) & (grid.x < foot + 0.05)].max() < 0.4 * row.max()  # fading in, no lip
