"""`rover teleop`: drive the simulated rover yourself, with a gamepad or the keyboard, in one command.

The simulator runs free, at real time, on the chosen world; the whole chain (limiter, guards,
drive, odometry, track logger) runs as in `rover run --processes`, with the same YAML; the
operator is you: `--keyboard` (default) gives the terminal UI, `--joystick` starts our evdev
`joystick` reader and `joy_teleop` with a gamepad profile (hold the enable button, LB on an
Xbox pad, with the sticks centred). `--viewer` opens the live MuJoCo window where a display
exists. The drive is logged like any `rover run`, and the track map is drawn at the end.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

from rover_bringup.child_process import die_with_parent

EXIT_CONFIG = 2
GAMEPADS = ('xbox', 'playstation', 'f710', 'sdl_game_controller')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    how = parser.add_mutually_exclusive_group()
    how.add_argument('--keyboard', action='store_true', help='terminal teleop: WASD / arrows (default)')
    how.add_argument('--joystick', action='store_true', help='a gamepad through evdev (hold the enable button)')
    parser.add_argument('--gamepad', choices=GAMEPADS, default='xbox', help='button/axis profile (default xbox)')
    parser.add_argument('--device', default='', help='gamepad event device, e.g. /dev/input/event5 (default: auto)')
    parser.add_argument('--world', default='change4', help='world name (worlds/NAME.yaml) or YAML file')
    parser.add_argument('--out', default=None, help='output folder (default: runs/WORLD-teleop-TIME)')
    parser.add_argument('--viewer', action='store_true', help='live MuJoCo viewer (needs a display)')
    parser.add_argument('--link', default=None, metavar='PROFILE',
                        help='drive from the ground station through an emulated Earth-Moon link (earth, ideal, '
                             'or a profile YAML; docs/link.md)')


def _teleop_argv(args: argparse.Namespace, params_files: list[str]) -> tuple[list[list[str]], list[str] | None]:
    """(background teleop processes, foreground process or None) as argv lists."""
    from rover_bringup.runner import executable_argv
    from rover_description.paths import data_file

    common = ['--ros-args', *[a for path in params_files for a in ('--params-file', path)],
              '-p', 'use_sim_time:=true', '--log-level', 'warn']
    if args.joystick:
        pad = str(data_file('config', f'gamepads/{args.gamepad}.yaml'))
        joystick = executable_argv('joystick') + common + ['-p', f"device_path:='{args.device}'"]
        joy_teleop = executable_argv('joy_teleop') + common + ['--params-file', pad]
        return [joystick, joy_teleop], None
    return [], executable_argv('keyboard_teleop') + common


def gamepad_line(device: str = '') -> str:
    """One line about the game pad as the joystick node will find it (same choice rules)."""
    from rover_nav.teleop.device_select import choose_device
    from rover_nav.teleop.evdev_backend import EvdevBackend

    try:
        info = choose_device(EvdevBackend().scan(), path=os.path.realpath(device) if device else '')
    except (OSError, ImportError) as exc:
        return f'no game pad found: cannot list /dev/input ({exc})'
    if info is None:
        where = device or '/dev/input (readable by you: the input group)'
        return f'no game pad found in {where}: plug one in, it is picked up when it appears; Ctrl-C to stop'
    return (f'game pad {info.name!r} at {info.path}: hold the enable button (LB on an Xbox pad) with the '
            'sticks centred to drive; Ctrl-C to stop')


def watch_gamepad(children, device: str, period_s: float = 1.0) -> None:
    """Until a node exits: say whether a game pad is there, again each time that changes."""
    shown = None
    while not children.exited():
        line = gamepad_line(device)
        if line != shown:
            print(f'rover teleop: {line}', flush=True)
            shown = line
        time.sleep(period_s)  # polling /dev/input; also the check for exited children


class ZeroHold:
    """The holder's decision, pure: hold zero once the operator has fallen silent after a zero
    command (or once told to); stop holding as soon as the operator commands motion."""

    def __init__(self, silence_s: float) -> None:
        self.silence_s = silence_s
        self.holding = False
        self._last_rx: float | None = None
        self._last_zero = False

    def on_command(self, zero: bool, now: float) -> None:
        self._last_rx, self._last_zero = now, zero
        if not zero:
            self.holding = False  # the operator drives: never hold against it

    def due(self, now: float) -> bool:
        """Whether to publish zero now (called on every tick)."""
        if (not self.holding and self._last_zero and self._last_rx is not None
                and now - self._last_rx > self.silence_s):
            self.holding = True
        return self.holding


class ZeroHolder:
    """Keeps zero on teleop/cmd_vel from the moment the keyboard operator stops publishing after
    a zero command, until closed: the keyboard UI's exit (slow under load) and the simulator's
    stop then never look to the chain like a silent operator (no command_timeout events at the
    end of a drive). It never commands motion, and any moving command from the operator ends
    its hold at once. Created at start-up, so DDS has matched it long before `q`.
    """

    SILENCE_S = 0.25  # wall seconds without an operator command (it publishes at 10 Hz, zero included)

    def __init__(self) -> None:
        import threading

        from geometry_msgs.msg import TwistStamped
        import rclpy
        from rclpy.clock import Clock, ClockType
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.parameter import Parameter
        from rclpy.signals import SignalHandlerOptions

        from rover_nav.runtime import qos
        from rover_nav.runtime.intra_process import IntraProcessMixin

        self._msg_type = TwistStamped
        self._lock = threading.Lock()
        self.decision = ZeroHold(self.SILENCE_S)
        self.context = rclpy.Context()
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        # on the mixin, as every node of ours: a /clock that is not a time is dropped, never raised in its thread
        holder_node = type('ZeroHolderNode', (IntraProcessMixin, Node), {})
        self.node = holder_node('teleop_zero_holder', context=self.context,
                                parameter_overrides=[Parameter('use_sim_time', value=True)])
        self._pub = self.node.create_publisher(TwistStamped, 'teleop/cmd_vel', qos.COMMAND)
        self.node.create_subscription(TwistStamped, 'teleop/cmd_vel', self._on_command, qos.COMMAND)
        # wall-clock timer: it keeps going while the simulator (and its clock) shuts down
        self.node.create_timer(0.1, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, name='teleop-zero-holder', daemon=True)
        self._thread.start()

    def _on_command(self, msg: Any) -> None:
        zero = msg.twist.linear.x == 0.0 and msg.twist.angular.z == 0.0
        with self._lock:
            self.decision.on_command(zero, time.monotonic())

    def _tick(self) -> None:
        with self._lock:
            holding = self.decision.due(time.monotonic())
        if holding:
            msg = self._msg_type()
            msg.header.stamp = self.node.get_clock().now().to_msg()
            msg.header.frame_id = 'base_link'
            self._pub.publish(msg)

    def hold(self) -> None:
        """Hold zero from now on (the operator has gone)."""
        with self._lock:
            self.decision.holding = True

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=1.0)
        self._thread.join(timeout=2.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def stop_simulator_first(children, grace_s: float = 10.0) -> None:
    """Stop the simulator before the chain: with the simulated clock stopped, the operator's
    leaving cannot time out the chain's commands (no command_timeout events at the end)."""
    import contextlib

    for name, proc, _log in children.children:
        if name == 'lunar_sim' and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):  # children.stop() kills what is left
                proc.wait(timeout=grace_s)


@contextmanager
def _linked(children: object, cfg: object, link: object, env: dict[str, str]) -> Iterator[int | None]:
    """With a link: start it and the rover's plan executor, and run what is started inside (the
    operator's processes) and `env` in the ground station's own private domain."""
    if link is None:
        yield None
        return
    from rover_bringup.linked_run import ground_domain_env, start_link_processes
    from rover_nav.runtime.ros_domain import claim_spare_domain

    ground = claim_spare_domain()
    start_link_processes(children, cfg, link, ground)
    env['ROS_DOMAIN_ID'] = str(ground)
    with ground_domain_env(ground):
        yield ground


def _add_link_summary(cfg: object) -> None:
    import json

    from rover_bringup.linked_run import add_link_summary
    try:
        add_link_summary(cfg, json.loads((cfg.out / 'logs' / 'link.json').read_text()))
    except (OSError, ValueError) as exc:
        print(f'rover teleop: no link statistics: {exc}', file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from rover_bringup import graph, runner
    from rover_bringup.commands.run import finish, private_domain
    from rover_nav.runtime.params import ConfigError
    from rover_nav.runtime.spinning import use_python_signal_handlers

    use_python_signal_handlers()  # SIGTERM / SIGHUP (terminal closed) stop the stack like Ctrl-C

    if not args.joystick and not (os.isatty(0) and os.isatty(1)):
        print('rover teleop: --keyboard needs an interactive terminal on stdin and stdout (run it in a shell, '
              'without < or |); to drive from a program use `rover run --no-operator`', file=sys.stderr)
        return EXIT_CONFIG
    try:
        cfg = runner.prepare(args.world, 'straight', 1e9, args.out, None, realtime=True, processes=True,
                             quiet=True, operator=False)
        link = None
        if args.link is not None:
            from rover_nav.link.profile import load_profile
            link = load_profile(args.link)
    except (ConfigError, FileNotFoundError) as exc:
        print(f'rover teleop: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    if args.out is None:
        cfg.out = cfg.out.with_name(cfg.out.name.replace('-straight-', '-teleop-'))
    cfg.out.mkdir(parents=True, exist_ok=True)
    domain = private_domain()
    background, foreground = _teleop_argv(args, cfg.params_files)
    children = runner.ProcessGraph(cfg.out / 'logs', command='rover teleop')
    sim = [*runner.executable_argv('rover'), 'sim', '--world', cfg.world, '--mode', 'free', '--out', str(cfg.out)]
    if args.viewer:
        sim.append('--viewer')
    children.start('lunar_sim', sim)
    for spec in (*graph.CHAIN, *graph.DRIVE, graph.LOGGER):
        children.start_node(spec, cfg.params_files, cfg.overrides(spec), 'warn')
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    with _linked(children, cfg, link, env) as ground:
        for i, argv in enumerate(background):
            children.start(Path(argv[0]).name or f'teleop{i}', argv)
    print(f'rover teleop: world {args.world}, {domain}; logs and track in {cfg.out}', flush=True)
    if link is not None:
        print(f'link: {link.name}, ~{link.uplink.delay_s:.2f} s up and {link.downlink.delay_s:.2f} s down; you are '
              f'the ground station (ROS domain {ground})', flush=True)
        if args.joystick:
            print('WARNING: stick driving behind a delayed link is unsafe: what you see is '
                  f'{link.downlink.delay_s:.1f} s old and the rover obeys {link.uplink.delay_s:.1f} s late; only the '
                  "rover's own guards stop it in time. Prefer drive plans (docs/link.md).", flush=True)
    start = time.monotonic()
    holder = ZeroHolder() if foreground is not None else None
    try:
        if foreground is not None:
            # The keyboard UI owns this terminal; the rest of the stack logs to files.
            subprocess.run(foreground, env=env, check=False, preexec_fn=die_with_parent)
        else:
            watch_gamepad(children, args.device)
            print(f'rover teleop: {", ".join(children.exited())} stopped (logs in {children.logs})', file=sys.stderr)
    except KeyboardInterrupt:
        pass
    if holder is not None:
        holder.hold()  # zero until the simulator (and with it the simulated clock) has stopped
    stop_simulator_first(children)
    if holder is not None:
        holder.close()
    codes = children.stop()
    # -SIGINT: a node still starting up when you pressed Ctrl-C (no handler yet): stopped as asked
    bad = runner.failed_children(codes, tolerated=(-signal.SIGINT,))
    if bad:
        print(f'rover teleop: processes exited with errors: {bad} (logs in {children.logs})', file=sys.stderr)
    if link is not None:
        _add_link_summary(cfg)
    finish(cfg.out, time.monotonic() - start)
    return 1 if bad else 0
