"""The `rover` command as a new user meets it: every documented misuse ends with one clear line
and the README's exit code (0 success, 1 failure, 2 bad arguments), never a traceback; a closed
pipe ends quietly; commands that need an optional package say which."""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys

from helpers.processes import NodeProcess
from helpers.tools import missing
import pytest

from rover_description.render import GL_LIBRARIES, library_loads

ROVER = [sys.executable, '-m', 'rover_bringup.cli']


def rover(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([*ROVER, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert 'Traceback' not in result.stderr, result.stderr
    return result


def headless(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY', 'MUJOCO_GL')}
    return {**env, **extra}


@pytest.mark.parametrize('args, needle', [
    (('run', '--duration', 'nan'), '--duration'),
    (('run', '--duration', '-5'), '--duration'),
    (('run', '--duration', '0'), '--duration'),
    (('run', '--world', 'moon'), 'named worlds: change4, flat, rock_test, slope_test'),
    (('run', '--world', 'change4.sdf'), 'type --world change4'),
    (('run', '--scenario', 'zigzag'), 'named scenarios: climb_and_back, egress, egress_plan, square, straight'),
    (('sim', '--world', 'moon'), 'named worlds'),
    (('sim', '--world', 'no_such_world', '--snapshot', 'x.png'), 'no_such_world'),
    (('sim', '--world', 'flat', '--camera', 'nope', '--snapshot', 'x.png'), 'cameras: '),
    (('describe', '--size', '0x0'), '--size'),
    (('describe', '--size', 'big'), '--size'),
])
def test_bad_arguments_exit_2_with_one_line_and_nothing_written(tmp_path, args, needle):
    result = rover(*args, cwd=tmp_path, env=headless())
    assert result.returncode == 2, result.stdout + result.stderr
    assert needle in result.stderr
    assert result.stdout == ''  # nothing printed before the refusal
    assert list(tmp_path.iterdir()) == []  # no run folder, no picture


def test_camera_names_are_listed(tmp_path):
    result = rover('sim', '--world', 'flat', '--camera', 'nope', '--snapshot', str(tmp_path / 'x.png'),
                   env=headless())
    assert 'chase' in result.stderr and 'hazcam' in result.stderr and 'free' in result.stderr


def _closed_pipe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reader has already gone (as `| head` after its lines)."""
    proc = subprocess.Popen([*ROVER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            stdin=subprocess.DEVNULL)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return subprocess.CompletedProcess(proc.args, proc.wait(timeout=120), '', err)


def test_a_closed_pipe_ends_quietly(tmp_path):
    run = tmp_path / 'run'
    run.mkdir()
    events = [{'t': float(i), 'kind': 'slope_slow', 'detail': 'tilt 16 deg', 'source': 'slope_guard', 'x': 0.0,
               'y': 0.0} for i in range(3000)]  # more than a pipe holds
    (run / 'summary.json').write_text(json.dumps({'distance_m': 1.0, 'events': events}))
    for args in (('describe', '--json'), ('describe',), ('track', 'info', str(run)), ('track', 'info', '--json',
                                                                                       str(run)), ('--help',)):
        result = _closed_pipe(*args)
        assert result.stderr == '', (args, result.stderr)
        assert result.returncode in (0, 141), (args, result.returncode)


def test_realtime_help_says_what_it_does():
    text = ' '.join(rover('run', '--help').stdout.split())
    assert 'at real time (1 simulated second per wall second) instead of lockstep' in text
    assert 'inf runs until Ctrl-C or SIGTERM' in text


def _without_library(library: str, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run argv as on a machine without the shared library (hidden by a bind mount when installed here)."""
    if not library_loads(library):
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)
    import ctypes.util

    found = subprocess.run(['ldconfig', '-p'], capture_output=True, text=True).stdout
    paths = {os.path.realpath(line.split('=>')[-1].strip()) for line in found.splitlines()
             if f'lib{library}.so' in line}
    if os.geteuid() != 0 or not shutil.which('unshare') or not paths or not ctypes.util.find_library(library):
        pytest.skip(f'lib{library} is installed and cannot be hidden here (needs root and unshare)')
    mounts = ' && '.join(f'mount --bind /dev/null {p}' for p in sorted(paths))
    script = f'{mounts} && exec "$@"'
    return subprocess.run(['unshare', '-m', 'sh', '-c', script, 'sh', *argv], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


@pytest.mark.parametrize('args', [('describe', '--png', 'rover.png', '--size', '64x64'),
                                  ('sim', '--world', 'flat', '--snapshot', 'snap.png')])
def test_pictures_without_osmesa_say_what_to_install_and_exit_1(tmp_path, args):
    """MUJOCO_GL=osmesa without libOSMesa: `import mujoco` would die inside PyOpenGL; we say what to install."""
    result = _without_library('OSMesa', [*ROVER, *args], tmp_path, headless(MUJOCO_GL='osmesa'))
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'apt-get install libosmesa6' in lines[0], result.stderr
    assert not (tmp_path / args[2]).exists()


def test_commands_that_never_render_ignore_a_broken_gl_setting(tmp_path):
    """MUJOCO_GL=osmesa set globally without libOSMesa must not break a command that imports mujoco only."""
    code = ('from rover_description.render import guard_gl_environment\n'
            'guard_gl_environment()  # what rover_bringup.cli.main does first\n'
            'from rover_bringup.commands.sim import build_simulation\n'
            'build_simulation("flat")  # imports mujoco\n'
            'print("built")')
    result = _without_library('OSMesa', [sys.executable, '-c', code], tmp_path, headless(MUJOCO_GL='osmesa'))
    assert result.returncode == 0 and 'built' in result.stdout, result.stderr


def test_snapshot_with_a_gl_library_writes_a_picture(tmp_path):
    """Headless, MUJOCO_GL unset: osmesa when it loads, else egl; else the test is skipped naming the package."""
    if not any(library_loads(lib) for lib, _pkg in GL_LIBRARIES.values()):
        missing('offscreen OpenGL (libOSMesa or libEGL)', 'libosmesa6')
    result = rover('sim', '--world', 'flat', '--snapshot', str(tmp_path / 's.png'), env=headless())
    if result.returncode == 1 and 'offscreen rendering unavailable' in result.stderr:
        missing(f'offscreen OpenGL ({result.stderr.strip()})', 'libosmesa6')
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 's.png').stat().st_size > 1000


def test_viewer_without_a_display_refuses_and_leaves_no_log_file(tmp_path):
    result = rover('sim', '--world', 'flat', '--viewer', cwd=tmp_path, env=headless())
    assert result.returncode == 1
    assert 'needs a display' in result.stderr and '--snapshot' in result.stderr
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT


@pytest.mark.ros
@pytest.mark.parametrize('mode', ['free', 'lockstep'])
def test_sim_runs_without_out_and_stops_cleanly(tmp_path, probe, mode):
    """`rover sim` alone (no --out) used to die at once on an empty `-p output_dir:=` rule."""
    from rosgraph_msgs.msg import Clock

    from rover_nav.runtime import qos

    clock = probe.subscribe('/clock', Clock, qos.CLOCK)
    proc = NodeProcess([*ROVER, 'sim', '--world', 'flat', '--mode', mode], tmp_path / 'sim.log')
    try:
        probe.wait_for(lambda: len(clock) > 0, 120.0, what='/clock from rover sim')
        proc.proc.send_signal(signal.SIGINT)
        code = proc.proc.wait(timeout=60)
    finally:
        proc.stop()
    assert code == 0, proc.output()
    assert 'Traceback' not in proc.output() and "Couldn't parse" not in proc.output()
    assert list(tmp_path.iterdir()) == [tmp_path / 'sim.log']  # nothing written without --out


@pytest.mark.e2e
def test_no_operator_says_how_to_drive_and_ends_without_a_driver(tmp_path):
    """Nobody drives: the run prints how to, runs its duration at real time and ends normally."""
    out = tmp_path / 'run'
    proc = NodeProcess([*ROVER, 'run', '--world', 'flat', '--no-operator', '--duration', '3', '--out', str(out)],
                       tmp_path / 'run.log')
    try:
        code = proc.proc.wait(timeout=280)
    finally:
        proc.stop()
    text = proc.output()
    assert code == 0, text
    assert 'no operator (you drive)' in text and 'real time' in text
    domain = os.environ['ROS_DOMAIN_ID']
    assert f'ROS_DOMAIN_ID={domain}' in text and 'keyboard_teleop' in text and '/teleop/cmd_vel' in text
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['sim_time_s'] >= 2.5 and summary['distance_m'] < 0.01


def test_progress_shows_an_estop_reset_as_its_own_event():
    from rover_bringup.monitor import DriveProgress

    p = DriveProgress()
    p.on_event('estop')
    p.on_event('estop_reset')
    assert p.line().endswith('last event=estop_reset')



def test_duration_inf_is_allowed_and_explained():
    import argparse
    import math

    from rover_bringup.commands.run import duration_arg

    assert duration_arg('inf') == math.inf and duration_arg('12.5') == 12.5
    for bad in ('nan', '-inf', '-1', '0', 'ten'):
        with pytest.raises(argparse.ArgumentTypeError):
            duration_arg(bad)
