"""The `rover` command: one entry point for the embedded tier.

Subcommands live in `rover_bringup/commands/<name>.py`, each with `add_arguments(parser)` and
`run(args) -> int`. They are imported only when chosen, so `rover --help` stays fast and a
missing optional dependency affects only its own subcommand.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import importlib
import sys

# name -> (module, one-line help). Order is the order shown by --help.
COMMANDS: dict[str, tuple[str, str]] = {
    'run': ('rover_bringup.commands.run', 'drive the simulated rover through the whole chain: the main job'),
    'campaign': ('rover_bringup.commands.campaign',
                 'many drives (worlds x scenarios x seeds) in parallel or on Ray, with guard statistics'),
    'teleop': ('rover_bringup.commands.teleop', 'drive the simulated rover yourself: keyboard or gamepad'),
    'bench': ('rover_bringup.commands.bench', 'speed and latency benchmarks, as ratios to a same-run baseline'),
    'doctor': ('rover_bringup.commands.doctor',
               'check the embedded ROS 2 runtime: rclpy, DDS loopback, validators'),
    'describe': ('rover_bringup.commands.describe', 'print the rover geometry, write its URDF, render a picture'),
    'world': ('rover_bringup.commands.world', 'build a lunar world (Gazebo SDF, mesh, terrain) or show it as a PNG'),
    'track': ('rover_bringup.commands.track', 'show a drive: track.png map, summary table, CSV/GeoJSON from the bag'),
    'hw-check': ('rover_bringup.commands.hw_check', 'self-test the rover board: motors, encoders, servos, IMU, e-stop'),
    'board': ('rover_bringup.commands.board', 'bring up the real rover board without ROS launch (embedded tier)'),
    'sim': ('rover_bringup.commands.sim', 'the lunar simulator alone, for your own ROS 2 stack (viewer, PNG snapshot)'),
    'estop': ('rover_bringup.commands.estop', 'latch the e-stop on every node, or clear it with --reset'),
    'plan': ('rover_bringup.commands.plan', 'send a drive plan from the ground station (behind the Earth-Moon link)'),
}

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='rover',
        description='Lunar rover testbed (Yutu-2 class): simulate, drive, inspect and log the rover.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        module = importlib.import_module(module_name)
        module.add_arguments(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one subcommand; returns the process exit code.

    A closed pipe (`rover describe --json | head`) ends quietly, including at the final flush.
    """
    stop_on_sigint()
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        code = quiet_broken_pipe()
    return code


def stop_on_sigint() -> None:
    """SIGINT always stops a rover command, even one started with SIGINT ignored.

    A shell script's background job (`rover board &`) starts with SIGINT ignored (POSIX), and
    Python then leaves it ignored: `kill -INT` or Ctrl-C in the script's terminal would not stop the
    motors. A rover command must stop when asked, so the Python handler is put back (main thread).
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(argv: Sequence[str] | None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        from rclpy.utilities import remove_ros_args
        args_in = remove_ros_args(['rover', *args_in])[1:]
    except ImportError:  # the CLI's own --help works without rclpy
        pass
    parser = build_parser()
    args = parser.parse_args(args_in)
    if not getattr(args, 'command', None):
        parser.print_help()
        return EXIT_USAGE
    from rover_description.render import guard_gl_environment

    guard_gl_environment()  # before any command imports mujoco: a missing libOSMesa must not kill the import
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130


def quiet_broken_pipe() -> int:
    """The reader of our output went away (`rover track info | head`): end quietly, as cat would.

    Python would print a BrokenPipeError traceback while flushing stdout at exit; pointing
    stdout at /dev/null first avoids it. Exit 141 is the shell's code for SIGPIPE.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == '__main__':
    sys.exit(main())
