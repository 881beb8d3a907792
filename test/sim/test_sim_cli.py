"""`rover sim --snapshot`: an offscreen picture without a display or ROS; bad worlds exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers.tools import skip_if_no_offscreen_gl
import numpy as np

ROVER = [sys.executable, '-m', 'rover_bringup.cli', 'sim']


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    return subprocess.run([*ROVER, *args], capture_output=True, text=True, timeout=120, env=env)


def test_snapshot_writes_a_picture_of_the_rover(tmp_path):
    import matplotlib.image

    out = tmp_path / 'snap.png'
    result = _run('--world', 'flat', '--snapshot', str(out))
    skip_if_no_offscreen_gl(result)
    assert result.returncode == 0, result.stderr
    image = matplotlib.image.imread(out)
    assert image.shape[0] == 720 and image.shape[1] == 960
    assert float(np.std(image[..., :3])) > 0.05  # not a blank frame


def test_unknown_world_exits_2(tmp_path):
    result = _run('--world', 'no_such_world', '--snapshot', str(tmp_path / 'x.png'))
    assert result.returncode == 2
    assert 'no_such_world' in result.stderr


def test_snapshot_and_bench_build_the_lander_world_like_the_node():
    """`rover sim --snapshot` and `rover bench --only simulator` see change4's deck and ramp as metal (as lunar_sim)."""
    from rover_bringup.commands.sim import build_simulation
    from rover_sim import bench
    from rover_sim.terrain import lander_surfaces, load_world

    surfaces = lander_surfaces(load_world('change4'))
    assert len(surfaces) == 2
    for sim in (build_simulation('change4'), bench._core('change4')):
        assert sim.rigid_zones == surfaces
        assert sim.on_rigid.all()  # change4's rover starts on the lander deck
        assert sim.sinkage.max() == 0.0
