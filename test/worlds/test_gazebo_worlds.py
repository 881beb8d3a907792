"""The generated Gazebo worlds in worlds/: valid SDF, lunar facts, current with their YAML, small enough for git."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import xml.etree.ElementTree as ET

from helpers.tools import require_tool
import numpy as np
import pytest

from rover_description.paths import data_dir
from rover_sim.terrain import load_terrain, load_world
from rover_sim.terrain.build import build_world_outputs, output_paths
from rover_sim.terrain.gazebo import CHANGE4_LATITUDE_DEG, CHANGE4_LONGITUDE_DEG

NAMED = ('change4', 'flat', 'rock_test', 'slope_test')
WORLDS = data_dir('worlds')
SDF_FILES = sorted(WORLDS.glob('*.sdf'))
# sdformat 12 (Debian's validator) predates the Moon surface model that Gazebo Harmonic reads
STATIC_CHECK_SURFACE = 'EARTH_WGS84'


def test_every_named_world_has_its_generated_outputs():
    for name in NAMED:
        for path in output_paths(name, WORLDS).values():
            assert path.is_file(), f'{path} missing: run `rover world build --all`'
    assert {p.stem for p in SDF_FILES} >= set(NAMED)


@pytest.mark.parametrize('sdf', SDF_FILES, ids=[p.stem for p in SDF_FILES])
def test_sdf_passes_the_static_check_after_moon_substitution(sdf, tmp_path):
    ign = require_tool('ign', 'ignition-tools sdformat-sdf')
    text = sdf.read_text()
    assert text.count('<surface_model>MOON_SCS</surface_model>') == 1
    checked = tmp_path / sdf.name
    checked.write_text(text.replace('MOON_SCS', STATIC_CHECK_SURFACE))
    result = subprocess.run([ign, 'sdf', '-k', str(checked)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and 'Valid' in result.stdout, result.stdout + result.stderr


def test_the_static_check_is_not_vacuous(tmp_path):
    ign = require_tool('ign', 'ignition-tools sdformat-sdf')
    broken = tmp_path / 'broken.sdf'
    broken.write_text((WORLDS / 'flat.sdf').read_text().replace('MOON_SCS', STATIC_CHECK_SURFACE)
                      .replace('</gravity>', '</gravityy>'))
    result = subprocess.run([ign, 'sdf', '-k', str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


@pytest.mark.parametrize('sdf', SDF_FILES, ids=[p.stem for p in SDF_FILES])
def test_sdf_world_is_lunar(sdf):
    root = ET.parse(sdf).getroot()
    assert root.tag == 'sdf' and root.get('version') == '1.9'
    world = root.find('world')
    gravity = [float(v) for v in world.findtext('gravity').split()]
    assert gravity == pytest.approx([0.0, 0.0, -1.62])
    assert [float(v) for v in world.findtext('magnetic_field').split()] == [0.0, 0.0, 0.0]
    sph = world.find('spherical_coordinates')
    assert sph.findtext('surface_model') == 'MOON_SCS'
    assert float(sph.findtext('latitude_deg')) == pytest.approx(-45.457) == CHANGE4_LATITUDE_DEG
    assert float(sph.findtext('longitude_deg')) == pytest.approx(177.588) == CHANGE4_LONGITUDE_DEG
    systems = {p.get('name') for p in world.findall('plugin')}
    assert systems == {'gz::sim::systems::Physics', 'gz::sim::systems::UserCommands',
                       'gz::sim::systems::SceneBroadcaster', 'gz::sim::systems::Sensors',
                       'gz::sim::systems::Imu'}
    physics = [p for p in world.findall('plugin') if p.get('name') == 'gz::sim::systems::Physics'][0]
    assert 'bullet-featherstone' in physics.findtext('engine/filename')
    # one light, the sun: directional and low over the horizon; no sky, no atmosphere
    lights = world.findall('light')
    assert len(lights) == 1 and lights[0].get('type') == 'directional'
    direction = np.array([float(v) for v in lights[0].findtext('direction').split()])
    elevation = np.degrees(np.arcsin(-direction[2] / np.linalg.norm(direction)))
    assert 2.0 <= elevation <= 20.0
    assert world.find('scene/sky') is None and world.find('atmosphere') is None
    assert world.findtext('scene/ambient').split()[:3] == ['0', '0', '0']
    # the terrain collides as a mesh (bullet-featherstone has no heightmap) that exists beside the SDF
    assert not list(world.iter('heightmap'))
    uris = {u.text for u in world.iter('uri')}
    assert len(uris) == 1
    mesh = sdf.parent / uris.pop()
    assert mesh.is_file() and mesh.suffix == '.obj'
    collision = world.find('model/link/collision/geometry/mesh/uri')
    assert collision is not None


@pytest.mark.parametrize('name', NAMED)
def test_sdf_spawn_frame_and_metadata_agree(name):
    world = ET.parse(WORLDS / f'{name}.sdf').getroot().find('world')
    pose = [float(v) for v in world.find("frame[@name='rover_spawn']/pose").text.split()]
    meta = json.loads((WORLDS / 'terrain' / f'{name}.json').read_text())
    for key in ('resolution_m', 'shape', 'origin_xy', 'extent', 'height_min', 'height_max', 'gravity', 'spawn',
                'heights_sha256', 'gazebo_world', 'gazebo_mesh'):
        assert key in meta, key
    s = meta['spawn']
    assert pose == pytest.approx([s['x'], s['y'], s['z'], 0.0, 0.0, s['yaw']], abs=1e-6)
    terrain = load_terrain(WORLDS / 'terrain' / f'{name}.json')
    assert terrain.height_range == pytest.approx((meta['height_min'], meta['height_max']), abs=1e-6)
    assert meta['extent']['x_max'] - meta['extent']['x_min'] == pytest.approx(load_world(name).size_m[0])
    assert float(terrain.height_at(s['x'], s['y'])) == pytest.approx(s['z'])


@pytest.mark.parametrize('name', NAMED)
def test_committed_outputs_are_current_with_the_yaml(name, tmp_path):
    """A fresh build matches the committed files: byte for byte when the heights hash agrees.

    numpy's SIMD math (exp, FFT) may differ in the last bits between CPUs, which can move a
    height by one 26 um quantisation level; then the heights must still agree numerically.
    """
    result = build_world_outputs(load_world(name), tmp_path)
    fresh_meta = json.loads(result.metadata.read_text())
    committed_meta = json.loads((WORLDS / 'terrain' / f'{name}.json').read_text())
    committed = load_terrain(WORLDS / 'terrain' / f'{name}.json')
    assert committed.shape == result.terrain.shape
    assert float(np.abs(committed.heights - result.terrain.heights).max()) < 1e-4, \
        f'worlds/terrain/{name}.npz is stale: run `rover world build {name}` and commit'
    assert len(fresh_meta['rocks']) == len(committed_meta['rocks'])
    assert len(fresh_meta['craters']) == len(committed_meta['craters'])
    if fresh_meta['heights_sha256'] == committed_meta['heights_sha256']:
        for fresh in result.files:
            stored = WORLDS / fresh.relative_to(tmp_path)
            assert fresh.read_bytes() == stored.read_bytes(), \
                f'{stored} is stale: run `rover world build {name}` and commit'
    assert not list(tmp_path.rglob('*.tmp'))


def test_generated_data_stays_small():
    generated = [p for p in WORLDS.rglob('*') if p.is_file() and p.suffix in ('.sdf', '.obj', '.npz', '.json')]
    total = sum(p.stat().st_size for p in generated)
    assert total < 12e6, f'{total / 1e6:.1f} MB of generated worlds: raise the mesh tolerance or shrink a world'


def test_relative_mesh_paths_work_from_any_folder(tmp_path):
    """A world built elsewhere references its own mesh, so --out folders are self-contained."""
    result = build_world_outputs(load_world('rock_test'), tmp_path / 'out')
    uri = ET.parse(result.sdf).getroot().find('world/model/link/collision/geometry/mesh/uri').text
    assert not Path(uri).is_absolute() and (result.sdf.parent / uri).resolve() == result.mesh.resolve()
