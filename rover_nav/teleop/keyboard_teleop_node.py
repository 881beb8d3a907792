"""`keyboard_teleop`: drive from a terminal (arrows / WASD) and watch the rover's state.

The main thread owns the terminal: raw keys in, a status screen out (redrawn at `ui_rate`). A
background executor thread runs the ROS side: the `teleop/cmd_vel` timer at `publish_rate` on
the node clock and the status subscriptions (`odom`, `ground_truth`, `imu`, `events`, `estop`).
Key holds are timed on the steady clock (they model the terminal's key repeat, which runs in
wall time even when the rover runs on sim time).

Stopping: `q`, Ctrl-C, Ctrl-D, SIGINT, SIGTERM, the terminal closing (SIGHUP or end of input)
all end the loop; the terminal is restored in `finally`, and the shutdown hook publishes a zero
command (the context stays valid because rclpy's signal handlers are replaced, see `rover_nav.runtime.spinning`).
"""

from __future__ import annotations

from dataclasses import dataclass
import os
import sys
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Imu
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import stamp_seconds
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, Params, ParamSpec
from rover_nav.runtime.rover_node import RoverNode
from rover_nav.runtime.spinning import publish_and_flush, use_python_signal_handlers
from rover_nav.teleop.keyboard import (
    MOTION_KEYS,
    STOP_KEYS,
    KeyboardCommand,
    KeyboardConfig,
    KeyboardTeleopCore,
    KeyDecoder,
)
from rover_nav.teleop.rover_status import RoverStatus, render_lines
from rover_nav.teleop.terminal import RawTerminal, TerminalGoneError

PARAMS = (
    shared.MAX_LINEAR_SPEED,
    shared.MAX_ANGULAR_SPEED,
    ParamSpec('hold_timeout', float, 0.7,
              's a key press holds its command; must exceed the terminal autorepeat delay (typically '
              '0.25-0.66 s) or the rover stutters after the first press; longer = later stop on release.',
              lo=0.6, hi=10.0),
    ParamSpec('speed_step', float, 0.1, 'Fraction of the max speeds added or removed by +/-.', lo=0.01, hi=1.0),
    ParamSpec('initial_speed_fraction', float, 0.5, 'Speed fraction at start.', lo=0.01, hi=1.0),
    shared.PUBLISH_RATE,
    ParamSpec('ui_rate', float, 5.0, 'Hz of screen redraws.', lo=1.0, hi=30.0),
    shared.FRAME_PREFIX,
)


@dataclass(frozen=True)
class KeyboardTeleopParams(Params):
    """keyboard_teleop's parameter values, typed: one field per entry of PARAMS."""

    max_linear_speed: float
    max_angular_speed: float
    hold_timeout: float
    speed_step: float
    initial_speed_fraction: float
    publish_rate: float
    ui_rate: float
    frame_prefix: str


def config_from(snap: KeyboardTeleopParams) -> KeyboardConfig:
    """The core's configuration; ConfigError names the offending key."""
    try:
        return KeyboardConfig(max_linear_speed=snap.max_linear_speed, max_angular_speed=snap.max_angular_speed,
                              hold_timeout=snap.hold_timeout, speed_step=snap.speed_step,
                              initial_speed_fraction=snap.initial_speed_fraction)
    except ValueError as exc:
        raise ConfigError(f'keyboard_teleop parameters: {exc}') from exc


class KeyboardTeleop(RoverNode[KeyboardTeleopParams]):
    """Keyboard teleop node; `on_key` is called from the terminal thread, the rest from the executor."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('keyboard_teleop', PARAMS, cross_check=config_from, params_type=KeyboardTeleopParams, **kwargs)
        snap = self.params.snapshot
        self._lock = threading.Lock()
        self._core = KeyboardTeleopCore(config_from(snap))
        self.status = RoverStatus()
        self._pub = self.create_publisher(TwistStamped, 'teleop/cmd_vel', qos.COMMAND)
        self.create_subscription(Odometry, 'odom', lambda m: self._on_odom('odom', m), qos.STATE)
        self.create_subscription(Odometry, 'ground_truth', lambda m: self._on_odom('ground_truth', m), qos.STATE)
        self.create_subscription(Imu, 'imu', self._on_imu, qos.SENSOR_SUB)
        self.create_subscription(String, 'events', self._on_event, qos.EVENTS)
        self.create_subscription(Bool, 'estop', self._on_estop, qos.LATCHED)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, qos.DIAGNOSTICS)
        self._timer = self.create_timer(1.0 / snap.publish_rate, self._tick)
        self.params.on_change(self._reconfigure)

    @property
    def quit_requested(self) -> bool:
        return self._core.quit_requested

    def _reconfigure(self, snap: KeyboardTeleopParams) -> None:
        with self._lock:
            self._core.reconfigure(config_from(snap))
        self._timer.cancel()
        self.destroy_timer(self._timer)
        self._timer = self.create_timer(1.0 / snap.publish_rate, self._tick)

    # -- terminal thread --------------------------------------------------------------------
    def on_key(self, key: str) -> None:
        """Apply one key; motion and stop keys publish at once (no wait for the next tick)."""
        now = time.monotonic()
        with self._lock:
            self._core.on_key(key, now)
            cmd = self._core.command(now)
        if key in MOTION_KEYS or key in STOP_KEYS:
            self._publish(cmd)

    def screen(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            cmd = self._core.command(now)
            fraction = self._core.fraction
            limits = (self._core.config.max_linear_speed, self._core.config.max_angular_speed)
        return render_lines(cmd, fraction, limits, self.status, now, domain=os.environ.get('ROS_DOMAIN_ID', '0'))

    def stop_until_standing(self, timeout_s: float = 5.0, wait: Any = time.sleep) -> bool:
        """After `q`: publish zero at once and on every tick until the rover stands (or timeout_s).

        The speed limiter ramps an operator's zero down (max_linear_decel), so the rover needs
        about half a second to stand; leaving at once would let the chain's command timeouts
        stop it instead (and log command_timeout events). Returns whether it was seen standing;
        with no speed data at all (no simulator, no odometry) it returns False at once.
        """
        with self._lock:
            self._core.stop()
        zero = KeyboardCommand(0.0, 0.0, '')
        period = 1.0 / self.params.snapshot.publish_rate
        deadline = time.monotonic() + timeout_s
        while self.context.ok():
            self._publish(zero, flush=True)
            standing = self.status.standing(time.monotonic())
            if standing is None and self.status.speed is None:
                return False
            if standing or time.monotonic() >= deadline:
                return bool(standing)
            wait(period)
        return False

    # -- executor thread --------------------------------------------------------------------
    def _tick(self) -> None:
        with self._lock:
            cmd = self._core.command(time.monotonic())
        self._publish(cmd)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith('link: '):  # the Earth-Moon link's own status (rover teleop --link)
                self.status.on_link_status(f'{status.name[6:]}: {status.message}', time.monotonic())

    def _on_odom(self, topic: str, msg: Odometry) -> None:
        if topic == 'odom' and self.status.link is not None:
            stamp = msg.header.stamp
            self.status.on_telemetry_stamp(self.now_s() - stamp_seconds(stamp))
        self.status.on_odometry(topic, msg.twist.twist.linear.x, msg.twist.twist.angular.z, time.monotonic())

    def _on_imu(self, msg: Imu) -> None:
        q = msg.orientation
        self.status.on_imu(q.x, q.y, q.z, q.w, time.monotonic())

    def _on_event(self, msg: String) -> None:
        self.status.on_event(msg.data, time.monotonic())

    def _on_estop(self, msg: Bool) -> None:
        self.status.on_estop(msg.data, time.monotonic())

    def _publish(self, cmd: KeyboardCommand, flush: bool = False) -> None:
        msg = TwistStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.snapshot.frame_prefix + 'base_link'
        msg.twist.linear.x = cmd.linear
        msg.twist.angular.z = cmd.angular
        if flush:
            publish_and_flush(self._pub, msg)
        else:
            self._pub.publish(msg)

    def on_shutdown(self) -> None:
        """Zero command: the rover stops when the teleop ends, however it ends."""
        with self._lock:
            self._core.stop()
        self._publish(KeyboardCommand(0.0, 0.0, ''), flush=True)


def run_terminal(node: KeyboardTeleop, fd_in: int = 0, fd_out: int = 1) -> None:
    """The `spin` for run_node: terminal loop in this thread, executor in a background thread."""
    from rclpy.executors import SingleThreadedExecutor

    if not os.isatty(fd_in):
        raise ConfigError('keyboard_teleop needs an interactive terminal on stdin (run it in a shell, not under '
                          'launch or with redirected input)')
    use_python_signal_handlers()
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, name='keyboard-teleop-ros', daemon=True)
    spinner.start()
    decoder = KeyDecoder()
    period = 1.0 / node.params.snapshot.ui_rate
    try:
        with RawTerminal(fd_in, fd_out) as term:
            next_draw = 0.0
            while not node.quit_requested and node.context.ok():
                data = term.read_keys(0.05)
                keys = decoder.feed(data) if data else decoder.flush()
                for key in keys:
                    node.on_key(key)
                now = time.monotonic()
                if keys or now >= next_draw:
                    term.draw(node.screen())
                    next_draw = now + period
            if node.quit_requested:
                term.draw(['rover keyboard teleop: stopping the rover (publishing zero until it stands)...'])
                node.stop_until_standing()
    except TerminalGoneError as exc:
        node.get_logger().warning(f'{exc}: stopping the rover')
    finally:
        executor.shutdown(timeout_sec=1.0)
        spinner.join(timeout=2.0)


def main() -> None:
    sys.exit(run_node(KeyboardTeleop, spin=run_terminal))


if __name__ == '__main__':
    main()
