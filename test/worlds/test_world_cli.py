"""`rover world build|show`, atomic writes, and the benchmark entry point."""

from __future__ import annotations

import json

import pytest
import yaml

from rover_bringup import cli
from rover_sim.terrain import atomic
from rover_sim.terrain.bench import bench_world, run_benchmarks

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def test_build_writes_all_four_outputs(tmp_path, capsys):
    assert cli.main(['world', 'build', 'rock_test', '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'rock_test: 601 x 241 nodes at 0.05 m' in out and 'triangles' in out
    for rel in ('rock_test.sdf', 'meshes/rock_test_terrain.obj', 'terrain/rock_test.npz', 'terrain/rock_test.json'):
        assert (tmp_path / rel).is_file(), rel
    meta = json.loads((tmp_path / 'terrain' / 'rock_test.json').read_text())
    assert meta['resolution_m'] == 0.05 and meta['shape'] == [241, 601]
    assert not list(tmp_path.rglob('.*.tmp'))


def test_build_a_file_with_a_seed_override(tmp_path, capsys):
    world = tmp_path / 'mine.yaml'
    world.write_text(yaml.safe_dump({'name': 'mine', 'size_m': [8.0, 6.0], 'resolution_m': 0.1,
                                     'terrain': {'seed': 1, 'roughness_m': 0.02}}))
    assert cli.main(['world', 'build', str(world), '--out', str(tmp_path / 'a'), '--seed', '5']) == 0
    assert cli.main(['world', 'build', str(world), '--out', str(tmp_path / 'b'), '--seed', '6']) == 0
    meta_a = json.loads((tmp_path / 'a' / 'terrain' / 'mine.json').read_text())
    meta_b = json.loads((tmp_path / 'b' / 'terrain' / 'mine.json').read_text())
    assert meta_a['seed'] == 5 and meta_b['seed'] == 6
    assert meta_a['heights_sha256'] != meta_b['heights_sha256']
    assert meta_a['source'] == 'mine.yaml'


def test_invalid_file_exits_2_naming_the_key_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(yaml.safe_dump({'name': 'bad', 'size_m': [10, 10], 'resolution_m': 0.05,
                                   'ramps': [{'x': 0, 'y': 0, 'slope_deg': 80, 'length_m': 2, 'width_m': 2}]}))
    out_dir = tmp_path / 'out'
    assert cli.main(['world', 'build', str(bad), '--out', str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert "'ramps[0].slope_deg' = 80 is out of range [0.5, 60]" in err
    assert not out_dir.exists()


def test_build_needs_a_world_or_all(capsys):
    assert cli.main(['world', 'build']) == 2
    assert cli.main(['world', 'build', 'flat', '--all']) == 2
    assert cli.main(['world', 'build', 'flat', '--mesh-tolerance', '0']) == 2


def test_unknown_world_exits_2(capsys):
    assert cli.main(['world', 'show', 'atlantis']) == 2
    assert 'named worlds: change4, flat' in capsys.readouterr().err


def test_show_prints_figures_and_writes_a_png(tmp_path, capsys):
    png = tmp_path / 'slopes.png'
    assert cli.main(['world', 'show', 'slope_test', '--png', str(png)]) == 0
    out = capsys.readouterr().out
    assert 'ramp 0: foot (-10, 0), heading 0 deg, slope 15 deg' in out
    assert 'slope 25 deg' in out and 'spawn x -14 y 0' in out
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 20_000


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / 'world.sdf'
    atomic.write_text(target, 'old')

    def failing(handle):
        handle.write(b'half a fi')
        raise RuntimeError('disk on fire')

    with pytest.raises(RuntimeError):
        atomic.write_with(target, failing)
    assert target.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['world.sdf']
    atomic.write_text(target, 'new')
    assert target.read_text() == 'new'


def test_benchmarks_report_against_a_same_run_baseline(monkeypatch):
    import rover_sim.terrain.bench as bench

    monkeypatch.setattr(bench, 'bench_world', lambda: bench_world(size_m=8.0, resolution_m=0.1))
    results = run_benchmarks()
    assert [r.name for r in results] == ['terrain.generate_40m_0.05m', 'terrain.mesh_decimate_40m_0.05m']
    for r in results:
        assert r.value > 0 and r.baseline > 0 and r.unit == 's' and 'numpy' in r.baseline_name
