"""`rover run --link PROFILE`: the drive with an emulated Earth-Moon link between operator and rover.

Two ROS domains: the rover's (the private domain of the run: simulator, `plan_executor`,
chain, drive, odometry, logger) and the ground station's (a second private domain: the
scenario operator, which sends the scenario's commands and plans). By default all in one
process; with `--processes` every node is a process of its own (the operator's with the
ground's ROS_DOMAIN_ID) and the link one more, holding both domains. In one process each
domain is an rclpy context with its own intra-process bus and executor; `LinkBridge`
(rover_nav.link) holds a node in each and is the only path between them.

In one process lockstep stays deterministic: the simulator's tick reaches the bridge first on the rover's
bus; the bridge forwards the clock to the ground side and runs the ground bus right there
(`after_clock`), so the operator answers every tick at the same point of every run, and the
link's seeded channels decide the rest. The rover side's answer to each tick comes from
`plan_executor` (one command per tick, stamped t_k), never from the late operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import json
import os
from pathlib import Path
import sys
from typing import Any

from rover_bringup import graph
from rover_bringup.runner import (
    RunConfig,
    _drive_until_done,
    _executor,
    _load_class,
    _parameters,
    _private_context,
    executable_argv,
    failed_children,
)
from rover_nav.link.profile import LinkProfile

PLAN_EXECUTOR = graph.PLAN_EXECUTOR


def rover_side() -> tuple[graph.NodeSpec, ...]:
    """The rover's nodes: the simulated drive without an operator, the plan executor in its place."""
    return (graph.SIMULATOR, PLAN_EXECUTOR, *graph.CHAIN, *graph.DRIVE, graph.LOGGER)


def _ground_context(args: list[str], domain_id: int) -> Any:
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    context = rclpy.Context()
    rclpy.init(context=context, args=args, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
    return context


def run_linked_in_process(cfg: RunConfig, profile: LinkProfile, ground_domain: int) -> int:
    """Both sides and the link in this process; returns an exit code. Adds `link` to summary.json."""
    import rclpy

    from rover_bringup.monitor import MonitorNode
    from rover_nav.link.link_node import LinkBridge
    from rover_nav.runtime.intra_process import attach_bus
    from rover_nav.runtime.spinning import run_shutdown_hooks, shutting_down, spin_composed, spin_slice

    previous_switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    rover_ctx = _private_context(cfg.log_args())
    ground_ctx = _ground_context(cfg.log_args(), ground_domain)
    rover_bus = attach_bus(rover_ctx) if cfg.intra_process else None
    ground_bus = attach_bus(ground_ctx) if cfg.intra_process else None
    rover_exec, ground_exec = _executor(rover_ctx), _executor(ground_ctx)
    monitor = MonitorNode(context=rover_ctx, parameter_overrides=_parameters({'use_sim_time': True}))
    rover_exec.add_node(monitor)
    nodes: list[tuple[Any, Any]] = []  # (node, executor)
    bridge = None
    try:
        bridge = LinkBridge(profile, ground_ctx, rover_ctx, seed=cfg.seed or 0,
                            parameter_overrides=_parameters({'use_sim_time': True}),
                            after_clock=ground_bus.deliver if ground_bus is not None else None)
        rover_exec.add_node(bridge.rover)
        ground_exec.add_node(bridge.ground)
        for spec in rover_side():
            nodes.append((_make(spec, cfg, rover_ctx), rover_exec))
        overrides = {**cfg.overrides(graph.OPERATOR), 'tick_topic': 'clock'}
        operator = _load_class(graph.OPERATOR)(
            context=ground_ctx, cli_args=graph.ros_args(graph.OPERATOR, cfg.params_files, {}),
            use_global_arguments=False, parameter_overrides=_parameters(overrides))
        nodes.insert(1, (operator, ground_exec))
        for node, executor in nodes:
            executor.add_node(node)
        for node, _ in nodes if rover_bus is not None else ():
            if hasattr(node, 'announce'):
                node.announce()

        def spin(pause: Any) -> None:
            if rover_bus is not None and ground_bus is not None:
                spin_composed(rover_exec, rover_bus, 0.05, stop=pause)
                spin_composed(ground_exec, ground_bus, 0.0)
            else:
                spin_slice(rover_exec, 0.02)
                spin_slice(ground_exec, 0.0)

        problem = _drive_until_done(spin, monitor, cfg)
        if problem:
            print(f'rover run: {problem}', file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        run_shutdown_hooks('rover run', [node for node, _ in nodes])
        if bridge is not None:
            with shutting_down('rover run'):
                add_link_summary(cfg, bridge.link.summary())
        for node, executor in [*nodes, (monitor, rover_exec)]:
            executor.remove_node(node)
            node.destroy_node()
        if bridge is not None:
            rover_exec.remove_node(bridge.rover)
            ground_exec.remove_node(bridge.ground)
            bridge.destroy()
        rover_exec.shutdown()
        ground_exec.shutdown()
        rclpy.try_shutdown(context=ground_ctx)
        rclpy.try_shutdown(context=rover_ctx)
        sys.setswitchinterval(previous_switch)
    return 0


def _make(spec: graph.NodeSpec, cfg: RunConfig, context: Any) -> Any:
    cls = _load_class(spec)
    return cls(context=context, cli_args=graph.ros_args(spec, cfg.params_files, {}), use_global_arguments=False,
               parameter_overrides=_parameters(cfg.overrides(spec) if spec is not PLAN_EXECUTOR
                                               else {'use_sim_time': True}))


def add_link_summary(cfg: RunConfig, link: dict[str, Any]) -> None:
    """Write the link's statistics into summary.json (the logger wrote the rest, and is done)."""
    path = cfg.out / 'summary.json'
    try:
        summary = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        summary = {}
    summary['link'] = link
    try:
        path.write_text(json.dumps(summary, indent=2))
    except OSError as exc:
        print(f'rover run: could not add the link statistics to {path}: {exc}', file=sys.stderr)


def link_line(summary: dict[str, Any]) -> str:
    """One line for the terminal: delivered/lost and median delay each way."""
    link = summary.get('link')
    if not link:
        return ''
    parts = []
    for name in ('uplink', 'downlink'):
        d = link[name]
        p50 = d.get('one_way_delay_s', {}).get('p50')
        delay = f', delay p50 {p50:.2f} s' if p50 is not None else ''
        parts.append(f'{name} {d["delivered"]} delivered / {d["lost"]} lost{delay}')
    return f'link {link["profile"]}: ' + '; '.join(parts)


@contextmanager
def _domain(domain_id: int) -> Iterator[None]:
    """Children started inside see ROS_DOMAIN_ID = domain_id (ProcessGraph copies os.environ)."""
    saved = os.environ.get('ROS_DOMAIN_ID')
    os.environ['ROS_DOMAIN_ID'] = str(domain_id)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop('ROS_DOMAIN_ID', None)
        else:
            os.environ['ROS_DOMAIN_ID'] = saved


def run_linked_processes(cfg: RunConfig, profile: LinkProfile, ground_domain: int) -> int:
    """Every node in its own process, the link in one more (two contexts); this process watches the clock."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from rover_bringup.monitor import MonitorNode
    from rover_bringup.runner import ProcessGraph
    from rover_nav.runtime.spinning import spin_slice

    children = ProcessGraph(cfg.out / 'logs')
    link_stats = cfg.out / 'logs' / 'link.json'
    level = 'info' if cfg.verbose else 'warn'
    context = _private_context([])
    monitor = MonitorNode(context=context, parameter_overrides=_parameters({'use_sim_time': True}))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor)
    failed = False
    codes: dict[str, int] = {}
    try:
        _start_link(children, profile, ground_domain, link_stats, ['--seed', str(cfg.seed or 0)])
        for spec in rover_side():
            if spec is PLAN_EXECUTOR:
                children.start_node(spec, cfg.params_files, {'use_sim_time': True}, level)
            else:
                overrides = cfg.overrides(spec)
                if spec is graph.SIMULATOR:  # tick 0 waits for the plan executor, the logger and this monitor
                    overrides['start_subscribers'] = 3
                children.start_node(spec, cfg.params_files, overrides, level)
        with _domain(ground_domain):
            children.start_node(graph.OPERATOR, cfg.params_files,
                                {**cfg.overrides(graph.OPERATOR), 'tick_topic': 'clock'}, level)
        problem = _drive_until_done(lambda _pause: spin_slice(executor, 0.05), monitor, cfg, children.exited)
        if problem:
            print(f'rover run: {problem} (logs in {children.logs})', file=sys.stderr)
            failed = True
    except KeyboardInterrupt:
        pass
    finally:
        codes = children.stop()
        executor.shutdown()
        monitor.destroy_node()
        rclpy.try_shutdown(context=context)
        try:
            add_link_summary(cfg, json.loads(link_stats.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            print(f'rover run: no link statistics from the link process: {exc}', file=sys.stderr)
    bad = failed_children(codes)
    if bad:
        print(f'rover run: processes exited with errors: {bad} (logs in {children.logs})', file=sys.stderr)
        return 1
    return 1 if failed else 0


def start_link_processes(children: Any, cfg: RunConfig, profile: LinkProfile, ground_domain: int,
                         level: str = 'warn') -> Path:
    """Start the link process and the rover's plan executor (for `rover teleop --link`); returns
    where the link writes its statistics when it stops."""
    stats = cfg.out / 'logs' / 'link.json'
    _start_link(children, profile, ground_domain, stats)
    children.start_node(PLAN_EXECUTOR, cfg.params_files, {'use_sim_time': True}, level)
    return stats


def _start_link(children: Any, profile: LinkProfile, ground_domain: int, stats: Path,
                extra: list[str] | None = None) -> None:
    """The link process (`earth_link`, the console script link.launch.py starts too)."""
    children.start(graph.LINK_EXECUTABLE, [*executable_argv(graph.LINK_EXECUTABLE), '--profile',
                                           profile.source or profile.name, '--ground-domain', str(ground_domain),
                                           *(extra or []), '--summary', str(stats)])


ground_domain_env = _domain  # children started inside run in the ground station's domain
