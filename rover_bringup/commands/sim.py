"""`rover sim`: the lunar simulator alone, for your own ROS 2 stack over DDS.

It publishes /clock, imu, joint_states, ground_truth and hazcam/points and obeys joint_commands
and estop (the `lunar_sim` node). `--viewer` opens MuJoCo's live viewer where a display exists;
`--snapshot PNG` renders one offscreen picture of the rover on the world and exits (works
headless with MUJOCO_GL=osmesa or egl, chosen when no display is found; a missing library is
named in one line, exit 1).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys

EXIT_OK = 0
EXIT_CONFIG = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--world', default='change4', help='world name (worlds/NAME.yaml) or YAML file')
    parser.add_argument('--mode', choices=('free', 'lockstep'), default='free',
                        help='free: real time, for live teleop (default); lockstep: step on each tick '
                             'joint_commands stamped with the tick (your stack must copy stamps)')
    parser.add_argument('--seed', type=int, default=0, help='sensor noise seed (default 0)')
    parser.add_argument('--profile', default='yutu2', choices=('yutu2', 'hobby'), help='rover description profile')
    parser.add_argument('--out', default='', help='folder to write terrain_final.npz (with ruts) into at exit')
    parser.add_argument('--viewer', action='store_true', help='open the MuJoCo viewer (needs a display)')
    parser.add_argument('--snapshot', metavar='PNG', default=None,
                        help='render one offscreen picture of the rover at its spawn point and exit (no ROS)')
    parser.add_argument('--camera', default='chase', help='camera for --snapshot: chase, hazcam, mastcam or free')


EXIT_FAILED = 1


class BadCameraError(ValueError):
    """--camera names no camera of the model (the message lists them)."""


def build_simulation(world: str, profile: str = 'yutu2', seed: int = 0):
    """The world's simulation as the lunar_sim node builds it: its terrain, a lander's deck and ramp as metal."""
    from rover_sim.simulation import SimConfig, Simulation
    from rover_sim.terrain import load_world

    return Simulation.for_world(load_world(world), SimConfig(profile=profile, seed=seed))


def camera_names(model) -> list[str]:
    """Every camera --snapshot can use: the model's own, plus 'free' (a view from above and behind)."""
    import mujoco

    return [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)] + ['free']


def snapshot(world: str, path: str, profile: str = 'yutu2', camera: str = 'chase', seed: int = 0,
             width: int = 960, height: int = 720) -> Path:
    """Render the rover standing at the world's spawn point into a PNG file; returns its path.

    Checks in the order a user can fix them: the world (ConfigError/FileNotFoundError), the
    camera (BadCameraError), then offscreen OpenGL (OffscreenUnavailableError, saying what to install).
    """
    from rover_description.render import OffscreenUnavailableError, choose_gl_backend, offscreen_problem
    from rover_sim.terrain import load_world

    load_world(world)  # a bad world is a bad argument (exit 2), whatever the renderer can do
    choose_gl_backend()
    problem = offscreen_problem()
    if problem:  # importing mujoco with a broken backend would die inside PyOpenGL
        os.environ['MUJOCO_GL'] = 'disable'  # still build the model: a bad --camera is reported first
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.image
    import mujoco

    sim = build_simulation(world, profile, seed)
    names = camera_names(sim.model)
    if camera not in names:
        raise BadCameraError(f'--camera {camera!r} is not a camera of this rover; cameras: {", ".join(names)}')
    if problem:
        raise OffscreenUnavailableError(problem)
    renderer = mujoco.Renderer(sim.model, height=height, width=width)
    try:
        if camera == 'free':
            cam = mujoco.MjvCamera()
            cam.lookat[:] = sim.ground_truth().position
            cam.distance, cam.azimuth, cam.elevation = 5.0, 135.0, -25.0
            renderer.update_scene(sim.data, camera=cam)
        else:
            renderer.update_scene(sim.data, camera=camera)
        pixels = renderer.render()
    finally:
        renderer.close()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(out, pixels)
    return out


def run(args: argparse.Namespace) -> int:
    from rover_description.render import OffscreenUnavailableError
    from rover_nav.runtime.params import ConfigError
    from rover_sim.terrain import load_world

    if args.snapshot:
        try:
            path = snapshot(args.world, args.snapshot, args.profile, args.camera, args.seed)
        except (ConfigError, FileNotFoundError, BadCameraError) as exc:
            print(f'rover sim: {exc}', file=sys.stderr)
            return EXIT_CONFIG
        except (OffscreenUnavailableError, RuntimeError) as exc:
            print(f'rover sim: {exc}', file=sys.stderr)
            return EXIT_FAILED
        print(f'rover sim: snapshot written to {path}')
        return EXIT_OK
    try:
        load_world(args.world)  # a bad world is named before any node starts
    except (ConfigError, FileNotFoundError) as exc:
        print(f'rover sim: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    if args.viewer:
        problem = viewer_problem()
        if problem:
            print(f'rover sim: {problem}', file=sys.stderr)
            return EXIT_FAILED
    from rover_nav.runtime.node_main import run_node
    from rover_sim.sim_node import LunarSim

    argv = ['rover-sim', '--ros-args', '-p', f'world:={args.world}', '-p', f'mode:={args.mode}',
            '-p', f'seed:={args.seed}', '-p', f'profile:={args.profile}']
    if args.out:  # an empty `-p output_dir:=` is not a parameter rule rclpy can parse
        argv += ['-p', f'output_dir:={Path(args.out).resolve()}']
    print(f'rover sim: world {args.world}, {args.mode} mode; Ctrl-C to stop', flush=True)
    return run_node(LunarSim, argv, spin=_viewer_spin if args.viewer else None)


def viewer_problem() -> str | None:
    """Why MuJoCo's live viewer cannot open here, in one line, or None.

    Checked before GLFW runs: it fails without a display, and writes MUJOCO_LOG.TXT into the
    working directory when it does.
    """
    if not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        return ('--viewer needs a display (DISPLAY or WAYLAND_DISPLAY is not set); '
                'use --snapshot PNG for a picture without one')
    if os.environ.get('MUJOCO_GL', 'glfw').lower() not in ('glfw', ''):
        return f'--viewer needs MUJOCO_GL=glfw (or unset), not {os.environ["MUJOCO_GL"]}'
    return None


def _viewer_spin(node) -> None:
    """Spin the node while a passive MuJoCo viewer shows every step (closes with the window)."""
    import mujoco.viewer
    import rclpy

    with mujoco.viewer.launch_passive(node.sim.model, node.sim.data) as viewer:
        node.after_step = viewer.sync
        while rclpy.ok(context=node.context) and viewer.is_running():
            rclpy.spin_once(node, timeout_sec=0.05)
