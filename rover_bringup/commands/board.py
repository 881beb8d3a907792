"""`rover board`: bring up the real rover board on the embedded tier (no ROS install, no launch).

The same nodes as `rover.launch.py`, composed in one process on one executor: hardware_driver
(configures and activates itself), drive_controller, wheel_odometry, speed_limiter ->
slope_guard [-> obstacle_guard] -> cmd_vel, track_logger (track from odometry) and, with
`--teleop joystick`, our evdev gamepad reader and joy_teleop. Every node reads rover.yaml then
hardware.yaml, as on tier 1. SIGINT or SIGTERM (systemd) stops the motors and closes the bag.
`--emulate` drives the pty RoboClaw emulator and fake I2C/GPIO devices instead of the board.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time
from typing import Any

HARDWARE = ('hardware_driver', 'hardware_driver', 'rover_nav.hardware.driver_node:HardwareDriverNode')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--params', action='append', type=Path, metavar='FILE',
                        help='ROS parameter files for every node, in order (default: config/rover.yaml then '
                             'config/hardware.yaml)')
    parser.add_argument('--out', type=Path, default=Path('runs/board'),
                        help='folder for the track logger (bag/, track.csv, summary.json; default runs/board)')
    parser.add_argument('--teleop', choices=('none', 'joystick'), default='none',
                        help='joystick: also run the evdev gamepad reader and joy_teleop on the board')
    parser.add_argument('--gamepad', default='xbox', choices=('xbox', 'playstation', 'f710'),
                        help='gamepad profile for --teleop joystick (config/gamepads)')
    parser.add_argument('--obstacle-guard', action='store_true',
                        help='insert the obstacle guard (needs a depth sensor on hazcam/points, else it blocks)')
    parser.add_argument('--emulate', action='store_true',
                        help='use the RoboClaw emulator and fake I2C/GPIO devices instead of the board')
    parser.add_argument('--duration', type=float, default=None, help='stop after this many seconds (default: run)')


def board_nodes(obstacle_guard: bool, teleop: str) -> list[Any]:
    """NodeSpecs of the board graph, hardware driver first, logger last (same wiring as the launch file)."""
    from dataclasses import replace

    from rover_bringup import graph

    limiter, slope, obstacle = graph.CHAIN
    nodes = [graph.NodeSpec(*HARDWARE, hard_limited=True), *graph.DRIVE, limiter]
    if obstacle_guard:
        nodes += [slope, obstacle]
    else:
        remaps = tuple((src, 'cmd_vel' if src == 'cmd_vel_out' else dst) for src, dst in slope.remappings)
        nodes.append(replace(slope, remappings=remaps))
    if teleop == 'joystick':
        classes = graph.node_classes()
        nodes += [graph.NodeSpec('joystick', 'joystick', classes['joystick']),
                  graph.NodeSpec('joy_teleop', 'joy_teleop', classes['joy_teleop'])]
    nodes.append(graph.LOGGER)
    return nodes


def run(args: argparse.Namespace) -> int:
    import importlib

    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions

    from rover_bringup import graph
    from rover_description.paths import data_file
    from rover_nav.hardware.devices import Emulation
    from rover_nav.runtime.params import ConfigError
    from rover_nav.runtime.spinning import run_shutdown_hooks, spin_slice, use_python_signal_handlers

    files = [str(p) for p in (args.params or [data_file('config', 'rover.yaml'), data_file('config', 'hardware.yaml')])]
    gamepad = str(data_file('config', f'gamepads/{args.gamepad}.yaml')) if args.teleop == 'joystick' else None
    emulation = Emulation() if args.emulate else None
    context = rclpy.Context()
    rclpy.init(context=context, args=[], signal_handler_options=SignalHandlerOptions.NO)
    # SIGINT, SIGTERM (systemd) and SIGHUP stop the board between executor slices, with the
    # context alive, so that the shutdown hooks below can still command the motors to zero
    use_python_signal_handlers()
    # two threads: the hardware driver's IMU group reads the slow I2C bus beside the motor loop
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    nodes: list[Any] = []
    code = 0
    try:
        from rover_bringup.params_file import check_hard_limits

        check_hard_limits(files, board_nodes(args.obstacle_guard, args.teleop))  # before any motor is enabled
        for spec in board_nodes(args.obstacle_guard, args.teleop):
            module_name, class_name = spec.node_class.split(':')
            cls = getattr(importlib.import_module(module_name), class_name)
            params = files + ([gamepad] if spec.name == 'joy_teleop' and gamepad else [])
            overrides: dict[str, Any] = {}
            kwargs: dict[str, Any] = {}
            if spec is graph.LOGGER:
                overrides = {'output_dir': str(args.out), 'track_source': 'odom', 'world': 'flat'}
            if spec.name == 'hardware_driver':
                overrides = {'autostart': True}
                if emulation is not None:
                    kwargs['factories'] = emulation.factories()
                    overrides['roboclaw_port'] = emulation.emulator.port
            node = cls(context=context, cli_args=graph.ros_args(spec, params, {}), use_global_arguments=False,
                       parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()], **kwargs)
            nodes.append(node)
            executor.add_node(node)
        where = 'EMULATED board' if emulation else 'board'
        print(f'rover board: {len(nodes)} nodes up on the {where} ({", ".join(n.get_name() for n in nodes)}); '
              f'track in {args.out}; Ctrl-C stops', flush=True)
        end = None if args.duration is None else time.monotonic() + args.duration
        while end is None or time.monotonic() < end:
            spin_slice(executor, 0.05)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ConfigError as exc:
        print(f'configuration error: {exc}', file=sys.stderr)
        code = 2
    finally:
        run_shutdown_hooks('rover board', nodes)  # hardware driver first: the motors stop before anything else
        for node in nodes:
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown(context=context)
        if emulation is not None:
            emulation.close()
    return code
