"""`rover sim`: the lunar simulator alone, for your own ROS 2 stack over DDS.

It publishes /clock, imu, joint_states, ground_truth and hazcam/points and obeys joint_commands
and estop (the `lunar_sim` node). `--viewer` opens MuJoCo's live viewer where a display exists;
`--snapshot PNG` renders one offscreen picture of the rover on the world and exits (works
headless with MUJOCO_GL=osmesa, which is set when no display is found).
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


def _headless_gl() -> None:
    if not os.environ.get('DISPLAY') and not os.environ.get('WAYLAND_DISPLAY'):
        os.environ.setdefault('MUJOCO_GL', 'osmesa')
        os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')


def build_simulation(world: str, profile: str = 'yutu2', seed: int = 0):
    """The world's simulation as the lunar_sim node builds it: its terrain, a lander's deck and ramp as metal."""
    from rover_sim.simulation import SimConfig, Simulation
    from rover_sim.terrain import load_world

    return Simulation.for_world(load_world(world), SimConfig(profile=profile, seed=seed))


def snapshot(world: str, path: str, profile: str = 'yutu2', camera: str = 'chase', seed: int = 0,
             width: int = 960, height: int = 720) -> Path:
    """Render the rover standing at the world's spawn point into a PNG file; returns its path."""
    _headless_gl()
    import matplotlib.image
    import mujoco

    sim = build_simulation(world, profile, seed)
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
    from rover_nav.runtime.params import ConfigError

    if args.snapshot:
        try:
            path = snapshot(args.world, args.snapshot, args.profile, args.camera, args.seed)
        except (ConfigError, FileNotFoundError, ValueError) as exc:
            print(f'rover sim: {exc}', file=sys.stderr)
            return EXIT_CONFIG
        print(f'rover sim: snapshot written to {path}')
        return EXIT_OK
    from rover_nav.runtime.node_main import run_node
    from rover_sim.sim_node import LunarSim

    argv = ['rover-sim', '--ros-args', '-p', f'world:={args.world}', '-p', f'mode:={args.mode}',
            '-p', f'seed:={args.seed}', '-p', f'profile:={args.profile}', '-p', f'output_dir:={args.out}']
    spin = None
    if args.viewer:
        spin = _viewer_spin
    print(f'rover sim: world {args.world}, {args.mode} mode; Ctrl-C to stop', flush=True)
    return run_node(LunarSim, argv, spin=spin)


def _viewer_spin(node) -> None:
    """Spin the node while a passive MuJoCo viewer shows every step (closes with the window)."""
    import mujoco.viewer
    import rclpy

    with mujoco.viewer.launch_passive(node.sim.model, node.sim.data) as viewer:
        node.after_step = viewer.sync
        while rclpy.ok(context=node.context) and viewer.is_running():
            rclpy.spin_once(node, timeout_sec=0.05)
