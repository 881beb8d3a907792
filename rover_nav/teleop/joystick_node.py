"""`joystick`: a Linux game pad (evdev) -> `joy` (sensor_msgs/Joy), like joy_linux, with hot-plug.

A reader thread waits on the device (select, no polling), feeds events to `JoystickDriverCore`
and publishes a Joy message for every completed change. Without a device it rescans every
`reconnect_period` seconds and takes the pad chosen by `device_path`, `device_name` or
auto-detection. On unplug it publishes ONE neutral message (centred, released) and reports the
loss on /diagnostics. A timer on the node clock republishes the state at `autorepeat_rate`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import os
import select
import sys
import threading
from typing import Any

from sensor_msgs.msg import Joy

from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_ERROR, DIAG_OK, DIAG_WARN, RoverNode
from rover_nav.runtime.spinning import publish_and_flush, spin_keeping_context
from rover_nav.teleop.device_select import choose_device
from rover_nav.teleop.evdev_backend import EvdevBackend, InputBackend, InputHandle
from rover_nav.teleop.joystick_core import JoyFrame, JoystickDriverCore

PARAMS = (
    ParamSpec('device_path', str, '',
              'Event device to read, e.g. /dev/input/event5 or a /dev/input/by-id/...-event-joystick link; '
              "'' = use device_name or auto-detect the first game pad.", read_only=True),
    ParamSpec('device_name', str, '',
              "Device name (exact, else case-insensitive substring), e.g. 'X-Box 360'; '' = auto-detect.",
              read_only=True),
    ParamSpec('deadzone', float, 0.05,
              'Fraction of each axis half range that reads 0 (rescaled outside); too small lets a worn stick '
              'creep, too large loses fine control.', lo=0.0, hi=0.9),
    ParamSpec('autorepeat_rate', float, 20.0,
              'Hz at which an unchanged state is republished (0 = only on change); must be well above '
              '1/joy_timeout of joy_teleop or a held stick goes stale.', lo=0.0, hi=200.0),
    ParamSpec('reconnect_period', float, 1.0, 's between device scans while no pad is connected.',
              lo=0.05, hi=60.0),
    shared.FRAME_PREFIX,
)


@dataclass(frozen=True)
class JoystickParams(Params):
    """joystick's parameter values, typed: one field per entry of PARAMS."""

    device_path: str
    device_name: str
    deadzone: float
    autorepeat_rate: float
    reconnect_period: float
    frame_prefix: str


class Joystick(RoverNode[JoystickParams]):
    """Game pad driver node (see module docstring). `backend` is replaceable for tests."""

    def __init__(self, backend: InputBackend | None = None, **kwargs: Any) -> None:
        super().__init__('joystick', PARAMS, params_type=JoystickParams, **kwargs)
        snap = self.params.snapshot
        self._backend: InputBackend = backend if backend is not None else EvdevBackend()
        self._core = JoystickDriverCore(snap.deadzone, snap.autorepeat_rate)
        self._lock = threading.Lock()
        self._pub = self.create_publisher(Joy, 'joy', qos.JOY)
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._handle: InputHandle | None = None
        self._repeat_timer: Any = None
        self._make_repeat_timer(snap.autorepeat_rate)
        self.create_timer(1.0, self._report)
        self.params.on_change(self._reconfigure)
        self._thread = threading.Thread(target=self._run, name='joystick-reader', daemon=True)
        self._thread.start()

    # -- configuration --------------------------------------------------------------------
    def _make_repeat_timer(self, rate: float) -> None:
        if self._repeat_timer is not None:
            self._repeat_timer.cancel()
            self.destroy_timer(self._repeat_timer)
            self._repeat_timer = None
        if rate > 0.0:  # check twice per period so a republish is never later than ~1.5 periods
            self._repeat_timer = self.create_timer(min(0.5 / rate, 1.0), self._repeat)

    def _reconfigure(self, snap: object) -> None:
        with self._lock:
            self._core.deadzone = snap.deadzone  # type: ignore[attr-defined]
            self._core.autorepeat_rate = snap.autorepeat_rate  # type: ignore[attr-defined]
            mapper = self._core.mapper
            if mapper is not None:
                mapper.deadzone = snap.deadzone  # type: ignore[attr-defined]
        self._make_repeat_timer(snap.autorepeat_rate)  # type: ignore[attr-defined]

    # -- reader thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._handle is None:
                    if not self._try_connect():
                        self._stop.wait(self.params.snapshot.reconnect_period)
                    continue
                self._pump(self._handle)
            except Exception as exc:  # never let the thread die silently: report, drop the device, retry
                self.get_logger().error(f'joystick reader: {type(exc).__name__}: {exc}')
                self._lose(f'reader error: {exc}')
                self._stop.wait(self.params.snapshot.reconnect_period)

    def _try_connect(self) -> bool:
        snap = self.params.snapshot
        path = os.path.realpath(snap.device_path) if snap.device_path else ''  # by-id links resolve once present
        try:
            info = choose_device(self._backend.scan(), path=path, name=snap.device_name)
        except OSError as exc:
            self.warn_throttled(f'cannot list input devices: {exc}')
            return False
        if info is None:
            return False
        try:
            handle = self._backend.open(info)
            pressed = handle.pressed_keys()
        except OSError as exc:
            self.warn_throttled(f'cannot open {info.path} ({info.name}): {exc}')
            return False
        with self._lock:
            self._handle = handle
            frame = self._core.connect(handle.info, pressed, self.now_s())
            self._publish(frame)
        status = self._core.status()
        self.get_logger().info(f'game pad connected: {info.name!r} at {info.path} '
                               f'({status.axes} axes, {status.buttons} buttons, joydev order)')
        self._report()
        return True

    def _pump(self, handle: InputHandle) -> None:
        ready, _, _ = select.select([handle.fileno(), self._wake_r], [], [], 0.5)
        if self._wake_r in ready:
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 64)
        if handle.fileno() not in ready:
            return
        try:
            events = handle.read_events()
            with self._lock:
                for ev_type, code, value in events:
                    self._publish(self._core.on_event(ev_type, code, value, self.now_s()))
                if self._core.needs_resync:
                    self._publish(self._core.resync(handle.abs_values(), handle.pressed_keys(), self.now_s()))
        except OSError as exc:
            self._lose(os.strerror(exc.errno) if exc.errno else str(exc))

    def _lose(self, reason: str, shutting_down: bool = False) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
            self._publish(self._core.disconnect(self.now_s(), reason), flush=shutting_down)
        if handle is None:
            return
        handle.close()
        if shutting_down:
            self.get_logger().info('published a neutral Joy before shutting down')
        else:
            self.get_logger().error(f'game pad lost ({reason}); published a neutral Joy, waiting for it to return')
            self._report()

    # -- executor callbacks -------------------------------------------------------------------
    def _repeat(self) -> None:
        with self._lock:
            self._publish(self._core.repeat(self.now_s()))

    def _report(self) -> None:
        status = self._core.status()
        values = {'device': status.device, 'path': status.path, 'axes': status.axes, 'buttons': status.buttons}
        if status.connected:
            level = DIAG_OK
        elif status.message.startswith('lost'):
            level = DIAG_ERROR
        else:
            level = DIAG_WARN
        self.publish_diagnostic(level, status.message, values)

    def _publish(self, frame: JoyFrame | None, flush: bool = False) -> None:
        if frame is None:
            return
        msg = Joy()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.snapshot.frame_prefix + 'joy'
        msg.axes = [float(a) for a in frame.axes]
        msg.buttons = [int(b) for b in frame.buttons]
        if flush:
            publish_and_flush(self._pub, msg)
        else:
            self._pub.publish(msg)

    def on_shutdown(self) -> None:
        """Stop the reader; a connected pad gets its neutral message so teleops stop at once."""
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b'x')
        self._thread.join(timeout=2.0)
        self._lose('joystick node shut down', shutting_down=True)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def main() -> None:
    sys.exit(run_node(Joystick, spin=spin_keeping_context))


if __name__ == '__main__':
    main()
