"""`rover describe`: prints the geometry, writes URDF/MJCF, renders a PNG offscreen."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers.tools import skip_if_no_offscreen_gl
import pytest

from rover_bringup.cli import main
from rover_description.description import urdf_xml


def test_prints_key_geometry_and_writes_the_urdf(tmp_path, capsys):
    out = tmp_path / 'sub' / 'rover.urdf'
    assert main(['describe', '--urdf-out', str(out)]) == 0
    text = capsys.readouterr().out
    assert 'rover profile yutu2: 135.0 kg' in text
    assert 'belly clearance 0.31 m' in text
    assert 'margin on a 20 deg slope' in text
    assert out.read_text() == urdf_xml('yutu2')


def test_json_summary_for_the_hobby_profile(tmp_path, capsys):
    mjcf = tmp_path / 'hobby.xml'
    assert main(['describe', '--profile', 'hobby', '--json', '--mjcf-out', str(mjcf)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary['profile'] == 'hobby' and summary['wheel_radius_m'] == pytest.approx(0.075)
    assert [w['name'] for w in summary['wheels']] == ['fl', 'ml', 'rl', 'fr', 'mr', 'rr']
    assert summary['hazcam']['ground_view_starts_ahead_of_front_m'] <= 0.1
    assert summary['stability_margin_at_20deg_deg'] > 0
    assert '<mujoco model="rover_hobby"' in mjcf.read_text()


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(['describe', '--profile', 'mars'])
    assert exc.value.code == 2
    assert main(['describe', '--size', 'big']) == 2
    assert '--size' in capsys.readouterr().err


def test_renders_a_png_offscreen(tmp_path):
    """In a fresh process (the GL backend must be chosen before mujoco is imported)."""
    png = tmp_path / 'rover.png'
    env = {**os.environ, 'MUJOCO_GL': 'osmesa'}
    env.pop('DISPLAY', None)
    argv = [sys.executable, '-m', 'rover_bringup.cli', 'describe', '--png', str(png), '--size', '320x240']
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    skip_if_no_offscreen_gl(result)
    assert result.returncode == 0, result.stderr
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (240, 320)
    assert image[..., :3].std() > 0.05  # not a blank frame
