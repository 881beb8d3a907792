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
import subprocess
import sys
import time

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
    from rover_bringup.paths import data_file
    from rover_bringup.runner import executable_argv

    common = ['--ros-args', *[a for path in params_files for a in ('--params-file', path)],
              '-p', 'use_sim_time:=true', '--log-level', 'warn']
    if args.joystick:
        pad = str(data_file('config', f'gamepads/{args.gamepad}.yaml'))
        joystick = executable_argv('joystick') + common + ['-p', f"device_path:='{args.device}'"]
        joy_teleop = executable_argv('joy_teleop') + common + ['--params-file', pad]
        return [joystick, joy_teleop], None
    return [], executable_argv('keyboard_teleop') + common


@contextmanager
def _linked(children: object, cfg: object, link: object, env: dict[str, str]) -> Iterator[int | None]:
    """With a link: start it and the rover's plan executor, and run what is started inside (the
    operator's processes) and `env` in the ground station's own private domain."""
    if link is None:
        yield None
        return
    from rover_bringup.linked_run import ground_domain_env, start_link_processes
    from rover_bringup.ros_domain import claim_spare_domain

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
    children = runner.ProcessGraph(cfg.out / 'logs')
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
    try:
        if foreground is not None:
            # The keyboard UI owns this terminal; the rest of the stack logs to files.
            subprocess.run(foreground, env=env, check=False, preexec_fn=die_with_parent)
        else:
            print('hold the enable button (LB on an Xbox pad) with the sticks centred to drive; Ctrl-C to stop',
                  flush=True)
            while not children.exited():
                time.sleep(0.5)
            print(f'rover teleop: {", ".join(children.exited())} stopped (logs in {children.logs})', file=sys.stderr)
    except KeyboardInterrupt:
        pass
    codes = children.stop()
    bad = {name: code for name, code in codes.items() if code != 0}
    if bad:
        print(f'rover teleop: processes exited with errors: {bad} (logs in {children.logs})', file=sys.stderr)
    if link is not None:
        _add_link_summary(cfg)
    finish(cfg.out, time.monotonic() - start)
    return 1 if bad else 0
