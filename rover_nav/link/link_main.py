"""The link as a process of its own: the console script `earth_link --profile earth --ground-domain N`.

The rover's domain is this process's ROS_DOMAIN_ID; the ground station's is `--ground-domain`.
One rclpy context per domain, one `LinkBridge` between them, both executors spun in turn. Started
by `rover run --link --processes`, `rover teleop --link` and `link.launch.py`, where every other
node is a process of its own. It runs on the simulator's /clock (it moves messages when the clock
ticks). SIGINT/SIGTERM end it cleanly (exit 0); with `--summary FILE` it writes the link statistics
(the run summary's `link` entry) there as JSON on the way out. ROS arguments (`--ros-args ...`, as
`ros2 launch` adds them) are ignored: the command line above is its whole configuration; any other
unknown option exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys


def parser() -> argparse.ArgumentParser:
    """The command line (link.launch.py's `arguments` are checked against it)."""
    command = argparse.ArgumentParser(prog='earth_link', description=__doc__.splitlines()[0])
    command.add_argument('--profile', default='earth', help='link profile name or YAML file')
    command.add_argument('--ground-domain', type=_domain_id, required=True,
                         help="the ground station's ROS_DOMAIN_ID (not the rover's)")
    command.add_argument('--seed', type=int, default=0, help="the run's seed (with the profile's)")
    command.add_argument('--summary', default=None, help='write the link statistics here (JSON) at exit')
    return command


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """Our options, strictly (an unknown one exits 2), after dropping the ROS arguments launch adds."""
    from rclpy.utilities import remove_ros_args

    return parser().parse_args(remove_ros_args([parser().prog, *argv])[1:])


def _domain_id(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 232:  # Fast DDS maps domain d to UDP port 7400 + 250 d: at most 232
        raise argparse.ArgumentTypeError(f'{value} is not a ROS domain ID (0-232)')
    if value == int(os.environ.get('ROS_DOMAIN_ID') or 0):
        raise argparse.ArgumentTypeError(f"{value} is the rover's own domain (ROS_DOMAIN_ID): the ground "
                                         'station needs another one, else the link would hear itself')
    return value


def main(argv: list[str] | None = None) -> int:
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions
    from rclpy.utilities import try_shutdown

    from rover_nav.link.link_node import LinkBridge
    from rover_nav.link.profile import load_profile
    from rover_nav.runtime.params import ConfigError
    from rover_nav.runtime.spinning import spin_slice, use_python_signal_handlers

    args = parse_command_line(sys.argv[1:] if argv is None else argv)
    try:
        profile = load_profile(args.profile)
    except ConfigError as exc:
        print(f'link: {exc}', file=sys.stderr)
        return 2
    rover_ctx, ground_ctx = Context(), Context()
    rclpy.init(context=rover_ctx, signal_handler_options=SignalHandlerOptions.NO)
    rclpy.init(context=ground_ctx, domain_id=args.ground_domain, signal_handler_options=SignalHandlerOptions.NO)
    use_python_signal_handlers()
    bridge = LinkBridge(profile, ground_ctx, rover_ctx, seed=args.seed,
                        parameter_overrides=[Parameter('use_sim_time', value=True)])
    executors = (SingleThreadedExecutor(context=rover_ctx), SingleThreadedExecutor(context=ground_ctx))
    executors[0].add_node(bridge.rover)
    executors[1].add_node(bridge.ground)
    try:
        while rover_ctx.ok() and ground_ctx.ok():
            spin_slice(executors[0], 0.01)
            spin_slice(executors[1], 0.0)
    except KeyboardInterrupt:
        pass
    finally:
        if args.summary:
            Path(args.summary).write_text(json.dumps(bridge.link.summary(), indent=2))
        for executor in executors:
            executor.shutdown()
        bridge.destroy()
        try_shutdown(context=ground_ctx)
        try_shutdown(context=rover_ctx)
    return 0


if __name__ == '__main__':
    sys.exit(main())
