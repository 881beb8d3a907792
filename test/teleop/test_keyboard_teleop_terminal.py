"""`keyboard_teleop` in a real terminal (a pseudo-terminal it owns as controlling tty) over real DDS.

Keys are typed into the pty master; the screen is read back from it; the probe reads
`teleop/cmd_vel` and feeds the rover state topics. Autorepeat is emulated by retyping a key
every 40 ms like a terminal does. Checks: keys move the command, holding keeps it steady,
silence stops it (never before `hold_timeout`), speed steps, status shown, `q` quits with a zero
command and the terminal restored, closing the terminal (hang-up) stops the rover.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
import select
import signal
import subprocess
import sys
import termios
import threading
import time

from geometry_msgs.msg import TwistStamped
from helpers.processes import wait_until
from nav_msgs.msg import Odometry
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, String

from rover_nav.runtime import qos
from rover_nav.runtime.checks import stamp_seconds

pytestmark = pytest.mark.ros
DEEP = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
# Make the pty slave (our stdin) the controlling terminal of the new session, then run the executable.
_LAUNCH = ('import fcntl, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); '
           'from rover_nav.teleop.keyboard_teleop_node import main; main()')
HOLD = 0.7


class PtyTeleop:
    """keyboard_teleop on a fresh pty; a thread drains the screen output into `screen`."""

    def __init__(self, log_path: Path, *ros_args: str, keep_slave: bool = True) -> None:
        self.master, slave = os.openpty()
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [sys.executable, '-c', _LAUNCH, '--ros-args', *ros_args],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env={**os.environ, 'PYTHONUNBUFFERED': '1'})
        self.saved_attrs = termios.tcgetattr(slave)
        self.slave: int | None = slave
        if not keep_slave:
            os.close(slave)
            self.slave = None
        self._chunks: list[bytes] = []
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if ready:
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    self._chunks.append(data)
            except OSError:  # EIO: the child side is gone, or we closed the master
                return

    @property
    def screen(self) -> str:
        return b''.join(self._chunks).decode(errors='replace')

    def type(self, keys: bytes) -> float:
        os.write(self.master, keys)
        return time.time()

    def hang_up(self) -> None:
        """Close the terminal, as closing the terminal window does."""
        self._stop.set()
        self._reader.join(timeout=2.0)
        os.close(self.master)
        self.master = -1

    def close(self) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5.0)
        self._stop.set()
        self._reader.join(timeout=2.0)
        for fd in (self.master, self.slave):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.log_path.write_text(self.screen)
        return self.proc.returncode


def _cmds(box) -> list[tuple[float, float]]:
    return [(r.msg.twist.linear.x, r.msg.twist.angular.z) for r in box]


def _hold(term: PtyTeleop, probe, key: bytes, duration_s: float) -> float:
    """Emulate a held key: retype it every 40 ms; returns the wall time of the last repeat."""
    end = time.monotonic() + duration_s
    last = term.type(key)
    while time.monotonic() < end:
        probe.spin(0.04)
        last = term.type(key)
    return last


def test_keys_hold_silence_speed_status_and_quit(tmp_path, probe):
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    estop_pub = probe.publisher('estop', Bool, qos.LATCHED)
    events_pub = probe.publisher('events', String, qos.EVENTS)
    odom_pub = probe.publisher('odom', Odometry, qos.STATE)
    term = PtyTeleop(tmp_path / 'screen.txt', '-p', 'max_linear_speed:=0.05', '-p', 'max_angular_speed:=0.1',
                     '-p', f'hold_timeout:={HOLD}')
    try:
        probe.wait_for(lambda: len(box) >= 3, 30.0, 'idle zero commands from keyboard_teleop')
        assert set(_cmds(box)) == {(0.0, 0.0)}                      # idle: zero at the output rate, never silent
        probe.wait_for(lambda: 'rover keyboard teleop' in term.screen, 10.0, 'the status screen')

        # Hold 'w' for 1.5 s: the command moves to 50 % forward and stays exactly there.
        mark = len(box)
        last_key = _hold(term, probe, b'w', 1.5)
        moving = [c for c in _cmds(box)[mark:] if c != (0.0, 0.0)]
        first = _cmds(box).index((0.025, 0.0), mark)
        assert len(moving) >= 8 and set(moving) == {(0.025, 0.0)}
        assert set(_cmds(box)[first:]) == {(0.025, 0.0)}, 'the command dipped while the key was held'

        # Silence: zero, not before hold_timeout after the last repeat, and zeros keep coming.
        probe.wait_for(lambda: _cmds(box)[-1] == (0.0, 0.0), 10.0, 'zero after the key was released')
        first_zero = len(box) - 1
        assert stamp_seconds(box[first_zero].msg.header.stamp) >= last_key + HOLD - 0.05
        probe.wait_for(lambda: len(box) >= first_zero + 5, 5.0, 'zeros after the release')
        assert set(_cmds(box)[first_zero:]) == {(0.0, 0.0)}

        # A single press survives the terminal's initial autorepeat delay (0.5 s here, < hold_timeout).
        mark = len(box)
        term.type(b'+')                                              # 60 %
        term.type(b'\x1b[A')                                         # arrow up
        probe.spin(0.5)
        _hold(term, probe, b'\x1b[A', 0.3)
        seq = _cmds(box)[mark:]
        start = seq.index((pytest.approx(0.03), 0.0))
        assert all(c == (pytest.approx(0.03), 0.0) for c in seq[start:]), 'dropped during the autorepeat delay'

        # Turn left, then space stops at once (before the hold runs out).
        term.type(b'a')
        probe.wait_for(lambda: _cmds(box)[-1] == (0.0, pytest.approx(0.06)), 5.0, 'turn left at 60 %')
        term.type(b' ')
        probe.wait_for(lambda: _cmds(box)[-1] == (0.0, 0.0), 5.0, 'stop on space')

        # The screen shows the rover state from the topics.
        estop_pub.publish(Bool(data=True))
        events_pub.publish(String(data=json.dumps({'t': 1.0, 'kind': 'obstacle_stop', 'detail': 'rock 0.3 m',
                                                   'source': 'obstacle_guard'})))
        odom = Odometry()
        odom.twist.twist.linear.x = 0.0125
        probe.publish_for(odom_pub, lambda: odom, 1.0, rate_hz=10.0,
                          until=lambda: 'v +0.0125' in term.screen and 'LATCHED' in term.screen
                          and 'obstacle_stop' in term.screen)
        probe.wait_for(lambda: 'v +0.0125' in term.screen, 5.0, 'odom speed on screen')
        probe.wait_for(lambda: 'LATCHED' in term.screen and 'obstacle_stop: rock 0.3 m' in term.screen, 5.0,
                       'e-stop and guard on screen')

        # Moving, then q: exits 0, the last command is zero, the terminal is restored.
        term.type(b'd')
        probe.wait_for(lambda: _cmds(box)[-1] != (0.0, 0.0), 5.0, 'turning right')
        term.type(b'q')
        wait_until(lambda: term.proc.poll() is not None, 15.0, what='keyboard_teleop to quit on q')
        probe.spin(0.3)
        assert term.proc.returncode == 0, term.screen
        assert _cmds(box)[-1] == (0.0, 0.0)
        restored = termios.tcgetattr(term.slave)
        assert restored[3] & (termios.ECHO | termios.ICANON) == term.saved_attrs[3] & (termios.ECHO | termios.ICANON)
        assert restored[3] & termios.ECHO
    finally:
        term.close()


def test_closing_the_terminal_stops_the_rover(tmp_path, probe):
    box = probe.subscribe('teleop/cmd_vel', TwistStamped, DEEP)
    term = PtyTeleop(tmp_path / 'screen.txt', '-p', 'max_linear_speed:=0.05', '-p', 'hold_timeout:=5.0',
                     keep_slave=False)
    try:
        probe.wait_for(lambda: len(box) >= 2, 30.0, 'keyboard_teleop running')
        probe.wait_for(lambda: 'rover keyboard teleop' in term.screen, 10.0, 'the status screen')
        term.type(b's')
        probe.wait_for(lambda: _cmds(box)[-1] == (-0.025, 0.0), 5.0, 'backing up')
        mark = len(box)
        term.hang_up()                                   # hold_timeout 5 s: only the hang-up can stop it now
        wait_until(lambda: term.proc.poll() is not None, 15.0, what='keyboard_teleop to exit on hang-up')
        probe.spin(0.3)
        assert term.proc.returncode == 0
        assert _cmds(box)[-1] == (0.0, 0.0), 'no zero command after the terminal closed'
        assert (0.0, 0.0) in _cmds(box)[mark:]
    finally:
        term.close()


def test_refuses_without_a_terminal(tmp_path):
    proc = subprocess.run([sys.executable, '-c', 'from rover_nav.teleop.keyboard_teleop_node import main; main()'],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert 'interactive terminal' in proc.stderr
