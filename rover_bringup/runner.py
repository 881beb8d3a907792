"""The embedded runner behind `rover run`: the simulator and the whole chain, one drive, one folder.

Two ways to compose the same graph (`rover_bringup.graph`): every node in this process on one
executor (default; lockstep with the simulator, deterministic), or every node in its own
process (`--processes`), as a launch file would start them, to prove the nodes are independent
and the DDS wiring is right. Both read the same `rover.yaml` the launch files use.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import importlib
import math
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

from rover_bringup import graph
from rover_bringup.child_process import die_with_parent
from rover_bringup.scenario import Scenario, load_scenario
from rover_description.paths import PACKAGE, data_file
from rover_nav.runtime.node_main import STACK_DUMP_SIGNAL, TEARDOWN_BUDGET_S, TEARDOWN_HUNG
from rover_nav.runtime.params import ConfigError

MAX_STACK_BYTES = 16_000  # of a stuck node's stack dump shown on stderr (the whole dump stays in its log)
STALL_TIMEOUT_S = 60.0  # wall seconds without /clock progress before the run is declared stuck


@dataclass
class RunConfig:
    """A validated drive request."""

    world: str
    scenario: Scenario
    scenario_ref: str
    duration_s: float
    out: Path
    seed: int | None = None
    terrain_seed: int | None = None  # replaces the world's terrain.seed (campaign seeds)
    realtime: bool = False
    processes: bool = False
    profile: str = 'yutu2'
    quiet: bool = False
    verbose: bool = False
    operator: bool = True
    intra_process: bool = True  # in one process: nodes share an intra-process bus (False: DDS only)
    params_files: list[str] = field(default_factory=list)

    def log_args(self) -> list[str]:
        """ROS arguments that keep node logs to warnings unless --verbose."""
        return [] if self.verbose else ['--ros-args', '--log-level', 'warn']

    def overrides(self, spec: graph.NodeSpec) -> dict[str, Any]:
        """Per-node parameter overrides on top of rover.yaml."""
        values: dict[str, Any] = {'use_sim_time': spec is not graph.SIMULATOR}
        if spec.uses_geometry:
            values['profile'] = self.profile
        if spec is graph.SIMULATOR:
            # a loaded 2-core machine can hold one of nine processes for over a second: wait longer
            # for a tick's answer than the node's live default before stepping without it (3 s was still
            # missed once by a process-per-node drive in CI, with two test workers beside it)
            values.update(world=self.world, mode='free' if self.realtime else 'lockstep',
                          output_dir=str(self.out), step_timeout=10.0)
            if self.seed is not None:
                values['seed'] = self.seed
            if self.terrain_seed is not None:
                values['terrain_seed'] = self.terrain_seed
        elif spec is graph.OPERATOR:
            values['scenario'] = self.scenario_ref
        elif spec is graph.LOGGER:
            values.update(output_dir=str(self.out), world=self.world)
        return values


def prepare(world: str, scenario: str, duration: float | None, out: str | None, seed: int | None,
            realtime: bool, processes: bool, quiet: bool = False, operator: bool = True,
            verbose: bool = False, intra_process: bool = True, params: list[str] | None = None,
            terrain_seed: int | None = None) -> RunConfig:
    """Validate world, scenario and parameter files before anything starts (ConfigError names the bad key)."""
    from rover_bringup.params_file import check_hard_limits, check_params_files
    from rover_sim.terrain import load_world

    world_cfg = load_world(world)
    if terrain_seed is not None:
        world_cfg = world_cfg.with_seed(terrain_seed)
    user_params = [str(Path(p).resolve()) for p in params or ()]
    check_params_files(user_params, graph.simulated_drive(operator))
    check_hard_limits([str(data_file('config', 'rover.yaml')), *user_params], graph.simulated_drive(operator),
                      RunConfig.profile)
    scen = load_scenario(scenario)
    duration_s = duration if duration is not None else scen.duration_s + 10.0
    if not duration_s > 0:  # nan too
        raise ConfigError(f'--duration must be positive, got {duration_s}')
    stamp = time.strftime('%Y%m%d-%H%M%S')
    out_dir = Path(out) if out else Path('runs') / f'{world_cfg.name}-{scen.name}-{stamp}'
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f'--out {out_dir} already holds files; give a new or empty folder')
    world_ref = str(Path(world).resolve()) if Path(world).suffix in ('.yaml', '.yml') else world
    scen_ref = str(Path(scenario).resolve()) if Path(scenario).suffix in ('.yaml', '.yml') else scenario
    return RunConfig(world=world_ref, scenario=scen, scenario_ref=scen_ref, duration_s=duration_s,
                     out=out_dir.resolve(), seed=seed, terrain_seed=terrain_seed, realtime=realtime,
                     processes=processes, quiet=quiet,
                     operator=operator, verbose=verbose, intra_process=intra_process,
                     params_files=[str(data_file('config', 'rover.yaml')), *user_params])


CLAIM_FILE = '.rover-run.claim'


def recording_verdict(out: Path) -> int:
    """0 when the logger recorded everything, else 1 with what was lost on stderr (a full disk must not
    end a run with exit 0 and a stale table)."""
    import json

    path = out / 'summary.json'
    try:
        recording = json.loads(path.read_text()).get('recording') or {}
    except (OSError, ValueError) as exc:
        print(f'rover run: FAILED: no readable summary.json in {out} ({exc})', file=sys.stderr)
        return 1
    if recording.get('complete', True):
        return 0
    print(f'rover run: FAILED: the recording is incomplete: {recording.get("lost") or "see summary.json"} '
          f'(summary.json counts exactly what the bag holds)', file=sys.stderr)
    return 1


def claim_output_dir(out: Path) -> None:
    """Make `out` this run's, atomically: two runs given the same --out both pass the "already holds
    files" check in `prepare`, so the folder is claimed with an O_EXCL file; the loser gets ConfigError."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(out / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise ConfigError(f'--out {out} is already used by another run; give a new or empty folder') from None
    with os.fdopen(fd, 'w') as f:
        f.write(f'{os.getpid()}\n')


def _load_class(spec: graph.NodeSpec) -> Callable[..., Any]:
    module_name, class_name = spec.node_class.split(':')
    return getattr(importlib.import_module(module_name), class_name)


class _Progress:
    """Prints a progress line every `every_s` of sim time (or nothing when quiet)."""

    def __init__(self, quiet: bool, every_s: float = 10.0) -> None:
        self.quiet = quiet
        self.every_s = every_s
        self.next_t = math.inf if quiet else 0.0

    def maybe_print(self, progress: Any) -> None:
        if not self.quiet and progress.sim_time >= self.next_t:
            print(progress.line(), flush=True)
            self.next_t = progress.sim_time + self.every_s


def _drive_until_done(spin: Callable[[Callable[[], bool]], None], monitor: Any, cfg: RunConfig,
                      exited: Callable[[], list[str]] = list) -> str | None:
    """Spin until the drive's simulated duration has passed; return why it ended early, or None.

    `spin(pause)` runs one slice; a spin that can stop anywhere (the bus) stops as soon as
    `pause()` is true: at the end of the drive, and at each progress line's time.
    """
    printer = _Progress(cfg.quiet)

    def pause() -> bool:
        return monitor.progress.sim_time >= min(cfg.duration_s, printer.next_t)

    last_time, last_change = -1.0, time.monotonic()
    errors = 0
    next_graph_check = time.monotonic() + 1.0
    while monitor.progress.sim_time < cfg.duration_s:
        try:
            spin(pause)
        except Exception as exc:  # a callback raised inside the executor: drop that message, keep driving
            errors += 1
            if errors == 1 or errors in (10, 100, 1000):
                print(f'rover run: a node callback raised {type(exc).__name__}: {str(exc)[:300]} ({errors} so far; '
                      'the drive goes on)', file=sys.stderr, flush=True)
        printer.maybe_print(monitor.progress)
        if time.monotonic() >= next_graph_check and hasattr(monitor, 'domain_conflict'):
            next_graph_check = time.monotonic() + 2.0
            conflict = monitor.domain_conflict()
            if conflict:
                return conflict
        dead = exited()
        if dead:
            return f'node(s) exited early: {", ".join(dead)}'
        if monitor.progress.sim_time > last_time:  # a repeated tick (the sim waiting) is no progress
            last_time, last_change = monitor.progress.sim_time, time.monotonic()
        elif time.monotonic() - last_change > STALL_TIMEOUT_S:
            return f'simulated time stopped advancing for {STALL_TIMEOUT_S:.0f} s (wall)'
    return None


def _private_context(args: list[str]) -> Any:
    """An rclpy context whose SIGINT leaves it alive, so the nodes' shutdown hooks still publish."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from rover_nav.runtime.spinning import use_python_signal_handlers

    context = rclpy.Context()
    rclpy.init(context=context, args=args, signal_handler_options=SignalHandlerOptions.NO)
    use_python_signal_handlers()
    return context


def _executor(context: Any) -> Any:
    """rclpy's EventsExecutor where available (Jazzy has it as experimental): with ten nodes in one
    process the default executor spends most of its time rebuilding wait sets."""
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        from rclpy.executors import SingleThreadedExecutor
        return SingleThreadedExecutor(context=context)
    return EventsExecutor(context=context)


def run_in_process(cfg: RunConfig) -> int:
    """Every node on one executor in this process; returns an exit code."""
    import rclpy

    from rover_bringup.monitor import MonitorNode
    from rover_nav.runtime.intra_process import attach_bus
    from rover_nav.runtime.spinning import run_shutdown_hooks, spin_composed, spin_slice

    # Other threads (the track logger's writer, rclpy's executor threads) take the GIL whenever this
    # thread releases it (mj_step, every rclpy call); with the default 5 ms switch interval this
    # thread can then wait milliseconds to get it back, several times per tick. 0.5 ms bounds that.
    previous_switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    context = _private_context(cfg.log_args())
    # composed nodes hand messages to each other directly (rover_nav.runtime.intra_process), not through DDS
    bus = attach_bus(context) if cfg.intra_process else None
    nodes: list[Any] = []
    hooks_failed: list[str] = []  # e.g. the simulator could not save the terrain (disk full)
    executor = _executor(context)
    monitor = MonitorNode(context=context, parameter_overrides=_parameters({'use_sim_time': True}))
    executor.add_node(monitor)
    try:
        for spec in graph.simulated_drive(cfg.operator):
            cls = _load_class(spec)
            cli_args = graph.ros_args(spec, cfg.params_files, {})
            node = cls(context=context, cli_args=cli_args, use_global_arguments=False,
                       parameter_overrides=_parameters(cfg.overrides(spec)))
            nodes.append(node)
            executor.add_node(node)
        # On the bus everyone is listening now, so tick 0 need not wait for the simulator's repeat.
        # (Over DDS discovery may still be under way: a tick 0 that reached only some nodes would
        # give them a different start, so there the repeat, half a second later, stays the rule.)
        for node in nodes if bus is not None else ():
            if hasattr(node, 'announce'):
                node.announce()
        if bus is not None:
            problem = _drive_until_done(lambda pause: spin_composed(executor, bus, 0.05, stop=pause), monitor, cfg)
        else:
            problem = _drive_until_done(lambda _pause: spin_slice(executor, 0.05), monitor, cfg)
        if problem:
            print(f'rover run: {problem}', file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        pass  # a user's Ctrl-C is a normal stop: the outputs are still finalised below
    finally:
        # simulator and operator first, logger last: it writes the summary
        hooks_failed += run_shutdown_hooks('rover run', nodes)
        if bus is not None and bus.callback_errors:
            counts = ', '.join(f'{topic}: {n}' for topic, n in sorted(bus.callback_errors.items()))
            print(f'rover run: node callbacks raised on the intra-process bus (those messages were dropped): '
                  f'{counts}', file=sys.stderr)
        for node in [*nodes, monitor]:
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown(context=context)
        sys.setswitchinterval(previous_switch)
    if hooks_failed:
        print(f'rover run: FAILED: could not finish {", ".join(hooks_failed)} (see above)', file=sys.stderr)
        recording_verdict(cfg.out)  # and what the recording lost, if anything
        return 1
    return 0


def _parameters(values: dict[str, Any]) -> list[Any]:
    from rclpy.parameter import Parameter

    return [Parameter(k, value=v) for k, v in values.items()]


def executable_argv(name: str) -> list[str]:
    """argv prefix that starts a console script, preferring the one beside this interpreter."""
    beside = Path(sys.executable).with_name(name)
    if beside.is_file():
        return [str(beside)]
    # tier 1: colcon installs them into <prefix>/lib/rover_testbed, where `ros2 run` looks (not on PATH)
    for prefix in filter(None, os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep)):
        installed = Path(prefix) / 'lib' / PACKAGE / name
        if installed.is_file() and os.access(installed, os.X_OK):
            return [str(installed)]
    found = shutil.which(name)
    if found:
        return [found]
    raise FileNotFoundError(f'console script {name!r} not found; is rover_testbed installed?')


class ProcessGraph:
    """Child processes of one drive, each in its own process group, with a log file each.

    `stop()` sends SIGINT (every node's normal exit: the drive publishes zero, the logger writes
    its summary), waits, and SIGKILLs what is left, after asking it for its threads' stacks (SIGUSR1,
    into its log: why it did not stop); it returns every exit code. Its reports on stderr begin with
    `command`, the one the user typed.
    """

    def __init__(self, logs: Path, command: str = 'rover run') -> None:
        self.logs = logs
        self.command = command
        self.logs.mkdir(parents=True, exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen, Any]] = []

    def start(self, name: str, argv: list[str]) -> None:
        log = open(self.logs / f'{name}.log', 'wb')  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True, preexec_fn=die_with_parent)
        self.children.append((name, proc, log))

    def start_node(self, spec: graph.NodeSpec, params_files: list[str], overrides: dict[str, Any],
                   log_level: str = 'info') -> None:
        argv = graph.ros_args(spec, params_files, overrides) + ['--log-level', log_level]
        self.start(spec.name, executable_argv(spec.executable) + argv)

    def exited(self) -> list[str]:
        return [name for name, proc, _ in self.children if proc.poll() is not None]

    def stop(self, grace_s: float = 20.0) -> dict[str, int]:
        for _name, proc, _log in self.children:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGINT)
        codes = {}
        deadline = time.monotonic() + grace_s
        for name, proc, log in self.children:
            try:
                codes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[name] = self._dump_and_kill(name, proc, grace_s)
            if codes[name] == TEARDOWN_HUNG:
                self._show_stacks(name, f'{name} stopped (its shutdown hook ran) but its DDS teardown hung, so '
                                        f'its watchdog ended it after {TEARDOWN_BUDGET_S} s (a Fast DDS shutdown '
                                        'deadlock, eProsima/Fast-DDS#6502)')
            log.close()
            _signal_group(proc.pid, signal.SIGKILL)  # what the node left in its group (a writer child)
        return codes

    def _dump_and_kill(self, name: str, proc: subprocess.Popen, grace_s: float) -> int:
        """A node that ignored SIGINT: ask for its threads' stacks (into its log), show them, SIGKILL it.

        Shown on stderr too: a test run on a CI machine keeps the output, not the logs."""
        before = (self.logs / f'{name}.log').stat().st_size
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, STACK_DUMP_SIGNAL)
        try:
            code = proc.wait(timeout=2.0)  # time to write the stacks (or to finish stopping after all)
            verdict = f'it exited ({code}) after all'
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            code = proc.wait()
            verdict = 'it is killed'
        self._show_stacks(name, f'{name} did not stop within {grace_s:g} s of SIGINT; {verdict}', start=before)
        return code

    def _show_stacks(self, name: str, what: str, start: int | None = None) -> None:
        """`what` happened to a child, and the stacks it wrote into its log (from `start`, or its last
        MAX_STACK_BYTES) on stderr."""
        with open(self.logs / f'{name}.log', 'rb') as stream:
            stream.seek(0, os.SEEK_END)
            end = stream.tell()
            stream.seek(max(0, end - MAX_STACK_BYTES) if start is None else start)
            stacks = stream.read(MAX_STACK_BYTES).decode(errors='replace').rstrip()
        stacks = textwrap.indent(stacks or '(no stack written)', '    ')
        print(f'{self.command}: {what}. Its threads were in:\n{stacks}', file=sys.stderr)


def failed_children(codes: dict[str, int], tolerated: tuple[int, ...] = ()) -> dict[str, int]:
    """The children whose exit code is an error. `TEARDOWN_HUNG` is not: such a node did its work
    (ProcessGraph.stop says what happened); `tolerated` adds codes a caller expects."""
    return {name: code for name, code in codes.items() if code not in (0, TEARDOWN_HUNG, *tolerated)}


def _signal_group(pgid: int, sig: int) -> None:
    """Signal a child's process group; a group that is already gone (it exited between the poll and
    the kill) is no error: this runs in `finally`, where an exception would hide the real outcome."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_processes(cfg: RunConfig) -> int:
    """Every node in its own process, like a launch file; this process only watches the clock."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from rover_bringup.monitor import MonitorNode
    from rover_nav.runtime.spinning import spin_slice

    children = ProcessGraph(cfg.out / 'logs')
    context = _private_context([])
    monitor = MonitorNode(context=context, parameter_overrides=_parameters({'use_sim_time': True}))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor)
    codes: dict[str, int] = {}
    failed = False
    try:
        for spec in graph.simulated_drive(cfg.operator):
            overrides = cfg.overrides(spec)
            if spec is graph.SIMULATOR:
                # tick 0 waits for the operator, the logger and this monitor: under load the logger's
                # process came up 4.3 s of drive late and its track began there (CI28)
                overrides['start_subscribers'] = int(cfg.operator) + 2
            children.start_node(spec, cfg.params_files, overrides, 'info' if cfg.verbose else 'warn')
        problem = _drive_until_done(lambda _pause: spin_slice(executor, 0.05), monitor, cfg, children.exited)
        if problem:
            print(f'rover run: {problem} (logs in {children.logs})', file=sys.stderr)
            failed = True
    except KeyboardInterrupt:
        pass  # a user's Ctrl-C is a normal stop: the nodes still shut down cleanly below
    finally:
        codes = children.stop()
        executor.shutdown()
        monitor.destroy_node()
        rclpy.try_shutdown(context=context)
    bad = failed_children(codes)
    if bad:
        print(f'rover run: processes exited with errors: {bad} (logs in {children.logs})', file=sys.stderr)
        return 1
    return 1 if failed else 0
