"""`joystick` node over real DDS: hot-plug, recorded evdev stream -> /joy, autorepeat, unplug, replug.

The device side is a fake backend replaying an evtest recording through a pipe (the node waits on
it with select like on a real event device). With a usable /dev/uinput a virtual pad made with
evdev.UInput is read through the real evdev backend instead.
"""

from __future__ import annotations

from collections import deque
import errno
import os
from pathlib import Path
import sys

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from helpers.processes import NodeProcess
import numpy as np
import pytest
from sensor_msgs.msg import Joy

from rover_nav.runtime import qos
from rover_nav.teleop.device_select import DeviceInfo
from rover_nav.teleop.evdev_joy import EV_SYN, SYN_REPORT, EvdevJoyMapper
from rover_nav.teleop.evtest_format import parse_evtest
from rover_nav.teleop.joystick_node import Joystick

pytestmark = pytest.mark.ros
DATA = Path(__file__).resolve().parent / 'data'


class FakePad:
    """An 'opened event device': events written by the test become readable on a pipe."""

    def __init__(self, info: DeviceInfo) -> None:
        self.info = info
        self._r, self._w = os.pipe()
        self._queue: deque[tuple[int, int, int]] = deque()
        self.gone = False
        self.closed = False

    def send(self, events: list[tuple[int, int, int]]) -> None:
        self._queue.extend(events)
        os.write(self._w, b'x')

    def unplug(self) -> None:
        self.gone = True
        os.write(self._w, b'x')

    def fileno(self) -> int:
        return self._r

    def read_events(self) -> list[tuple[int, int, int]]:
        os.read(self._r, 4096)
        if self.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        out = list(self._queue)
        self._queue.clear()
        return out

    def pressed_keys(self) -> list[int]:
        return []

    def abs_values(self) -> dict[int, int]:
        return {a.code: a.value for a in self.info.axes}

    def close(self) -> None:
        self.closed = True
        for fd in (self._r, self._w):
            os.close(fd)


class FakeBackend:
    """Devices present now; tests plug and unplug them."""

    def __init__(self) -> None:
        self.present: dict[str, DeviceInfo] = {}
        self.opened: list[FakePad] = []

    def scan(self) -> list[DeviceInfo]:
        return list(self.present.values())

    def open(self, info: DeviceInfo) -> FakePad:
        pad = FakePad(info)
        self.opened.append(pad)
        return pad


def _diag(box, word: str) -> list:
    return [s for r in box for s in r.msg.status if 'joystick' in s.name and word in s.message]


def test_hotplug_recording_autorepeat_unplug_replug(probe, start_node):
    info, events = parse_evtest((DATA / 'xbox360_drive.evtest').read_text(), path='/dev/input/event7')
    keyboard = DeviceInfo('/dev/input/event0', 'AT Translated Set 2 keyboard', (), (1, 2, 30))
    backend = FakeBackend()
    backend.present[keyboard.path] = keyboard
    joy = probe.subscribe('joy', Joy, qos.JOY)
    diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    start_node(Joystick, {'reconnect_period': 0.1, 'autorepeat_rate': 20.0}, backend=backend)

    probe.wait_for(lambda: _diag(diags, 'no game pad'), 20.0, 'a "no game pad" diagnostic')
    assert not joy                                                   # a keyboard is not a pad
    backend.present[info.path] = info                                # hot-plug
    probe.wait_for(lambda: len(backend.opened) == 1 and joy, 10.0, 'the first Joy after plugging in')
    first = joy[0].msg
    assert len(first.axes) == 8 and len(first.buttons) == 11 and first.header.frame_id == 'joy'
    assert list(first.axes[:2]) == [0.0, 0.0] and first.axes[2] == 1.0

    # Replay the recording up to the kernel overflow; the node must publish each changed frame.
    expected = EvdevJoyMapper(info.axes, info.key_codes, 0.05)
    frames = []
    replay = []
    for ev in events:
        if ev.type == EV_SYN and ev.code != SYN_REPORT:
            break
        replay.append((ev.type, ev.code, ev.value))
        if expected.feed(ev.type, ev.code, ev.value):  # Joy.axes are float32
            frames.append((tuple(float(np.float32(a)) for a in expected.axes), tuple(expected.buttons)))
    pad = backend.opened[0]
    pad.send(replay)
    seen = lambda: [(tuple(r.msg.axes), tuple(r.msg.buttons)) for r in joy]  # noqa: E731
    probe.wait_for(lambda: frames[-1] in seen(), 10.0, 'the last recorded frame on /joy')
    got = seen()
    positions = [got.index(f) for f in frames]
    assert positions == sorted(positions), 'frames out of order'
    driving = frames[2]
    assert driving[1][4] == 1 and driving[0][1] == 1.0              # LB held, stick full forward

    # Autorepeat: with the pad untouched the last state keeps coming.
    count = len(joy)
    probe.wait_for(lambda: len(joy) >= count + 5, 10.0, 'autorepeated Joy messages')
    assert all(seen()[i] == frames[-1] for i in range(count, count + 5))

    # Unplug: one neutral message, an error diagnostic, then silence.
    del backend.present[info.path]
    pad.unplug()
    probe.wait_for(lambda: _diag(diags, 'lost'), 10.0, 'a "lost" diagnostic')
    probe.wait_for(lambda: seen()[-1] == ((0.0,) * 8, (0,) * 11), 5.0, 'the neutral Joy')
    assert _diag(diags, 'lost')[0].level == DiagnosticStatus.ERROR
    assert pad.closed
    after_loss = len(joy)
    probe.spin(0.5)
    assert len(joy) == after_loss, 'published after the pad was lost'

    # Replug: reconnects by itself and publishes again.
    backend.present[info.path] = info
    probe.wait_for(lambda: len(backend.opened) == 2 and len(joy) > after_loss, 10.0, 'Joy after replugging')
    probe.wait_for(lambda: _diag(diags, 'reading'), 5.0, 'an OK diagnostic after replugging')


def test_device_name_selects_among_pads(probe, start_node):
    xbox, _ = parse_evtest((DATA / 'xbox360_drive.evtest').read_text(), path='/dev/input/event3')
    ds4, _ = parse_evtest((DATA / 'ds4_drive.evtest').read_text(), path='/dev/input/event9')
    backend = FakeBackend()
    backend.present = {xbox.path: xbox, ds4.path: ds4}
    joy = probe.subscribe('joy', Joy, qos.JOY)
    start_node(Joystick, {'device_name': 'wireless controller', 'reconnect_period': 0.1, 'frame_prefix': 'r1/'},
               backend=backend)
    probe.wait_for(lambda: joy, 20.0, 'Joy from the named pad')
    assert backend.opened[0].info.name == ds4.name
    assert len(joy[0].msg.buttons) == 13 and joy[0].msg.header.frame_id == 'r1/joy'


def test_executable_without_pads_reports_and_exits_cleanly(tmp_path, probe):
    """The console-script path with the real evdev backend: no pad here -> diagnostics, exit 0 on SIGINT."""
    diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    proc = NodeProcess([sys.executable, '-c', 'from rover_nav.teleop.joystick_node import main; main()',
                        '--ros-args', '-p', 'device_name:=no such pad'], tmp_path / 'joystick.log')
    try:
        probe.wait_for(lambda: _diag(diags, 'no game pad'), 30.0, 'diagnostics from the joystick executable')
    finally:
        code = proc.stop()
    assert code == 0, proc.output()


def _uinput_usable() -> str | None:
    if not os.path.exists('/dev/uinput'):
        return '/dev/uinput does not exist on this machine (no uinput module / not exposed to the container)'
    if not os.access('/dev/uinput', os.W_OK):
        return '/dev/uinput is not writable by this user'
    return None


@pytest.mark.skipif(_uinput_usable() is not None, reason=str(_uinput_usable()))
def test_virtual_gamepad_through_real_evdev(probe, start_node):
    import evdev
    from evdev import AbsInfo, ecodes

    stick = AbsInfo(value=0, min=-32768, max=32767, fuzz=16, flat=128, resolution=0)
    trigger = AbsInfo(value=0, min=0, max=255, fuzz=0, flat=0, resolution=0)
    caps = {
        ecodes.EV_KEY: [ecodes.BTN_SOUTH, ecodes.BTN_EAST, ecodes.BTN_NORTH, ecodes.BTN_WEST, ecodes.BTN_TL,
                        ecodes.BTN_TR, ecodes.BTN_SELECT, ecodes.BTN_START, ecodes.BTN_MODE, ecodes.BTN_THUMBL,
                        ecodes.BTN_THUMBR],
        ecodes.EV_ABS: [(ecodes.ABS_X, stick), (ecodes.ABS_Y, stick), (ecodes.ABS_Z, trigger),
                        (ecodes.ABS_RX, stick), (ecodes.ABS_RY, stick), (ecodes.ABS_RZ, trigger)],
    }
    ui = evdev.UInput(caps, name='rover test virtual pad', vendor=0x045E, product=0x028E)
    try:
        joy = probe.subscribe('joy', Joy, qos.JOY)
        start_node(Joystick, {'device_name': 'rover test virtual pad', 'reconnect_period': 0.1})
        probe.wait_for(lambda: joy, 20.0, 'Joy from the virtual pad')
        assert len(joy[-1].msg.axes) == 6 and len(joy[-1].msg.buttons) == 11
        ui.write(ecodes.EV_KEY, ecodes.BTN_TL, 1)
        ui.write(ecodes.EV_ABS, ecodes.ABS_Y, -32768)
        ui.syn()
        probe.wait_for(lambda: joy[-1].msg.buttons[4] == 1 and joy[-1].msg.axes[1] == 1.0, 10.0,
                       'LB + full forward from the virtual pad')
        ui.close()
        ui = None
        probe.wait_for(lambda: list(joy[-1].msg.axes) == [0.0] * 6 and joy[-1].msg.buttons[4] == 0, 10.0,
                       'the neutral Joy after the virtual pad disappeared')
    finally:
        if ui is not None:
            ui.close()
