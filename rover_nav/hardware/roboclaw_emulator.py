"""A RoboClaw emulator on a pseudo-terminal, speaking the real packet-serial protocol.

It stands in for up to eight controllers sharing one serial line (multi-unit mode), so the
driver, `rover hw-check --emulate` and the tests run the exact bytes a board would send, without
hardware. Each emulated controller has two ideal motors (measured speed = commanded speed),
encoders integrating that speed, a main battery voltage, a status word and the serial timeout
the real controller has: when no valid packet arrives for that long, both motors stop.

Faults can be injected for the next N packets to one address or to all: ``bad_crc`` (a write
arrives corrupted and is dropped; a read is answered with a wrong CRC), ``no_reply`` (the
packet is lost), ``partial`` (only half of the reply is sent), ``garbage`` (a wrong ACK byte).
`cut_link()` models a cut cable: nothing gets through in either direction.

Parking: `load_qpps` models an outside load on the wheels (a rover parked on a slope). Under a
zero SPEED command the velocity loop lets a loaded motor creep at that rate (a speed loop has no
memory of where the wheel was); under a POSITION command (121, the parking brake) the position
loop holds the commanded count.

Time comes from `clock` (default `time.monotonic`), so tests can drive it by hand.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass, field
import os
import select
import threading
import time
import tty

from rover_nav.hardware import roboclaw_protocol as proto
from rover_nav.hardware.crc16 import crc16_ccitt, crc_bytes
from rover_nav.hardware.roboclaw_protocol import Cmd

FAULT_KINDS = ('bad_crc', 'no_reply', 'partial', 'garbage')
#: A packet not completed within this time is discarded (the host gave up on it).
STALE_PACKET_S = 0.05
HISTORY = 20000


@dataclass
class Frame:
    """One valid packet the emulator accepted: receive time, address, command, payload, raw bytes."""

    t: float
    address: int
    cmd: int
    payload: bytes
    raw: bytes


@dataclass
class EmulatedController:
    """State of one emulated RoboClaw."""

    address: int
    m1_qpps: int = 0
    m2_qpps: int = 0
    enc: list[float] = field(default_factory=lambda: [0.0, 0.0])
    serial_timeout_steps: int = 0  # factory default: timeout disabled
    main_battery_v: float = 14.8
    logic_battery_v: float = 5.0
    status: int = 0
    temperature_c: float = 31.5
    currents_a: tuple[float, float] = (0.0, 0.0)
    version: str = 'USB Roboclaw 2x15a v4.2.8 (emulated)'
    last_valid_t: float = 0.0
    timeout_stops: int = 0
    stuck_encoders: set[int] = field(default_factory=set)  # 1 and/or 2: encoder never counts
    ignores_serial_timeout: bool = False  # firmware without the command: ACKs it, keeps 0
    load_qpps: tuple[float, float] = (0.0, 0.0)  # creep of M1/M2 under a zero speed command (slope)
    hold: tuple[int, int] | None = None  # position-hold targets (command 121) while holding

    def speeds(self) -> tuple[int, int]:
        return self.m1_qpps, self.m2_qpps


class RoboClawEmulator:
    """Emulated controllers behind a pty; `port` is the device path the driver opens."""

    def __init__(self, addresses: Iterable[int] = (128, 129, 130),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        now = clock()
        self.controllers = {proto.check_address(a): EmulatedController(a, last_valid_t=now) for a in addresses}
        # bounded, so a long `--emulate` run does not grow without limit
        self.frames: deque[Frame] = deque(maxlen=HISTORY)
        self.speed_log: deque[tuple[float, int, int, int]] = deque(maxlen=HISTORY)  # (t, address, m1, m2)
        self.rx_crc_errors = 0
        self._faults: list[tuple[str, int | None]] = []
        self._link_cut = False
        self._buffer = bytearray()
        self._last_byte_t = now
        self._last_advance_t = now
        self._lock = threading.RLock()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name='roboclaw-emulator', daemon=True)
        self._thread.start()

    # -- test/user controls ---------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, address: int | None = None) -> None:
        """Apply fault `kind` to the next `count` packets (to `address`, or to any address)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f'unknown fault {kind!r}; one of {FAULT_KINDS}')
        with self._lock:
            self._faults.extend([(kind, address)] * count)

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def cut_link(self, cut: bool = True) -> None:
        """Cut (or restore) the cable: while cut, no byte reaches either side."""
        with self._lock:
            self._link_cut = cut
            self._buffer.clear()

    def controller(self, address: int) -> EmulatedController:
        return self.controllers[address]

    def speeds(self, address: int) -> tuple[int, int]:
        with self._lock:
            self._advance(self.clock())
            return self.controllers[address].speeds()

    def all_stopped(self) -> bool:
        with self._lock:
            self._advance(self.clock())
            return all(c.m1_qpps == 0 and c.m2_qpps == 0 for c in self.controllers.values())

    def frames_of(self, cmd: int, address: int | None = None) -> list[Frame]:
        with self._lock:
            return [f for f in self.frames if f.cmd == cmd and (address is None or f.address == address)]

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> RoboClawEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the serial line ------------------------------------------------------------------------

    def _serve(self) -> None:
        while self._running:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.002)
            except (OSError, ValueError):
                return
            data = b''
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:  # no slave side open yet (EIO): keep serving
                    time.sleep(0.002)
            with self._lock:
                now = self.clock()
                self._advance(now)
                if data and not self._link_cut:
                    if now - self._last_byte_t > STALE_PACKET_S:
                        self._buffer.clear()
                    self._buffer += data
                    self._last_byte_t = now
                    self._parse(now)

    def _send(self, data: bytes) -> None:
        if self._link_cut or not data:
            return
        with contextlib.suppress(OSError):
            os.write(self._master, data)

    def _take_fault(self, address: int) -> str | None:
        for i, (kind, target) in enumerate(self._faults):
            if target is None or target == address:
                del self._faults[i]
                return kind
        return None

    def _parse(self, now: float) -> None:
        buf = self._buffer
        while len(buf) >= 2:
            address, cmd = buf[0], buf[1]
            if not proto.ADDRESS_MIN <= address <= proto.ADDRESS_MAX:
                del buf[0]  # resynchronise on the next address byte
                continue
            if cmd in proto.READ_REPLY:
                raw = bytes(buf[:2])
                del buf[:2]
                self._handle(now, address, cmd, b'', raw, is_read=True)
            elif cmd in proto.WRITE_PAYLOAD:
                size = 2 + proto.WRITE_PAYLOAD[cmd] + 2
                if len(buf) < size:
                    return  # wait for the rest
                raw = bytes(buf[:size])
                del buf[:size]
                if crc_bytes(crc16_ccitt(raw[:-2])) != raw[-2:]:
                    self.rx_crc_errors += 1  # the real controller drops it silently
                    continue
                self._handle(now, address, cmd, raw[2:-2], raw, is_read=False)
            else:
                del buf[0]

    def _handle(self, now: float, address: int, cmd: int, payload: bytes, raw: bytes, is_read: bool) -> None:
        ctl = self.controllers.get(address)
        if ctl is None:
            return  # another unit's packet
        fault = self._take_fault(address)
        if fault in ('no_reply',) or (fault == 'bad_crc' and not is_read):
            return  # lost or corrupted on the way in: not applied, no answer
        ctl.last_valid_t = now
        self.frames.append(Frame(now, address, cmd, payload, raw))
        reply = self._read_reply(ctl, cmd) if is_read else self._apply_write(now, ctl, cmd, payload)
        if fault == 'bad_crc':
            reply = reply[:-1] + bytes((reply[-1] ^ 0x5A,))
        elif fault == 'partial':
            reply = reply[:max(1, len(reply) // 2)] if len(reply) > 1 else b''
        elif fault == 'garbage':
            reply = bytes((0x00,)) if not is_read else bytes(len(reply))
        self._send(reply)

    def _apply_write(self, now: float, ctl: EmulatedController, cmd: int, payload: bytes) -> bytes:
        if cmd == Cmd.DRIVE_M1M2_SPEED:
            self._set_speeds(now, ctl, proto.to_i32(payload, 0), proto.to_i32(payload, 4))
        elif cmd == Cmd.DRIVE_M1_SPEED:
            self._set_speeds(now, ctl, proto.to_i32(payload), ctl.m2_qpps)
        elif cmd == Cmd.DRIVE_M2_SPEED:
            self._set_speeds(now, ctl, ctl.m1_qpps, proto.to_i32(payload))
        elif cmd == Cmd.DRIVE_M1M2_POSITION:
            self._set_speeds(now, ctl, 0, 0)
            ctl.hold = (proto.to_i32(payload, 0), proto.to_i32(payload, 4))
            ctl.enc = [float(ctl.hold[0]), float(ctl.hold[1])]  # an ideal position loop
        elif cmd == Cmd.SET_SERIAL_TIMEOUT and not ctl.ignores_serial_timeout:
            ctl.serial_timeout_steps = payload[0]
        elif cmd == Cmd.RESET_ENCODERS:
            ctl.enc = [0.0, 0.0]
        return bytes((proto.ACK,))

    def _read_reply(self, ctl: EmulatedController, cmd: int) -> bytes:
        enc = [int(e) & 0xFFFFFFFF for e in ctl.enc]
        enc_signed = [e - 2**32 if e >= 2**31 else e for e in enc]
        if cmd == Cmd.READ_ENCODERS:
            data = proto.i32(enc_signed[0]) + proto.i32(enc_signed[1])
        elif cmd == Cmd.READ_SPEEDS:
            data = proto.i32(self._measured(ctl, 1)) + proto.i32(self._measured(ctl, 2))
        elif cmd in (Cmd.READ_ENCODER_M1, Cmd.READ_ENCODER_M2):
            data = proto.i32(enc_signed[cmd - Cmd.READ_ENCODER_M1]) + b'\x00'
        elif cmd == Cmd.READ_SERIAL_TIMEOUT:
            data = bytes((ctl.serial_timeout_steps,))
        elif cmd == Cmd.READ_MAIN_BATTERY:
            data = int(round(ctl.main_battery_v * 10)).to_bytes(2, 'big')
        elif cmd == Cmd.READ_LOGIC_BATTERY:
            data = int(round(ctl.logic_battery_v * 10)).to_bytes(2, 'big')
        elif cmd == Cmd.READ_CURRENTS:
            data = b''.join(int(round(a * 100)).to_bytes(2, 'big') for a in ctl.currents_a)
        elif cmd == Cmd.READ_TEMPERATURE:
            data = int(round(ctl.temperature_c * 10)).to_bytes(2, 'big')
        elif cmd == Cmd.READ_STATUS:
            data = ctl.status.to_bytes(4, 'big')
        elif cmd == Cmd.READ_VERSION:
            data = ctl.version.encode('ascii')[:proto.VERSION_MAX_LEN - 2] + b'\n\x00'
        else:  # pragma: no cover - READ_REPLY and this table list the same commands
            return b''
        return proto.encode_reply(ctl.address, cmd, data)

    @staticmethod
    def _measured(ctl: EmulatedController, channel: int) -> int:
        if channel in ctl.stuck_encoders:
            return 0
        return ctl.m1_qpps if channel == 1 else ctl.m2_qpps

    def _set_speeds(self, now: float, ctl: EmulatedController, m1: int, m2: int) -> None:
        ctl.hold = None  # a speed command (or the serial timeout's stop) leaves position mode
        if (m1, m2) != (ctl.m1_qpps, ctl.m2_qpps):
            self.speed_log.append((now, ctl.address, m1, m2))
        ctl.m1_qpps, ctl.m2_qpps = m1, m2

    def _advance(self, now: float) -> None:
        """Integrate the encoders up to `now` and apply each controller's serial timeout."""
        dt = max(0.0, now - self._last_advance_t)
        self._last_advance_t = max(now, self._last_advance_t)
        for ctl in self.controllers.values():
            for ch in (1, 2):
                if ch not in ctl.stuck_encoders and ctl.hold is None:
                    speed = ctl.m1_qpps if ch == 1 else ctl.m2_qpps
                    creep = ctl.load_qpps[ch - 1] if speed == 0 else 0.0
                    ctl.enc[ch - 1] += (speed + creep) * dt
            timeout = ctl.serial_timeout_steps * proto.SERIAL_TIMEOUT_STEP_S
            moving = ctl.m1_qpps != 0 or ctl.m2_qpps != 0
            if ctl.serial_timeout_steps and moving and now - ctl.last_valid_t > timeout:
                self._set_speeds(ctl.last_valid_t + timeout, ctl, 0, 0)
                ctl.timeout_stops += 1
