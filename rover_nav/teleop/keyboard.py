"""Keyboard teleop core: terminal bytes -> keys -> a held velocity command.

Terminals send key presses only, never releases. Holding a key sends it once, then (after the
terminal's initial autorepeat delay, typically 0.25-0.66 s) repeats it at ~25-30 Hz. So a key
"holds" its command for `hold_timeout` seconds after each press or repeat; the timeout must be
longer than the initial delay (>= 0.6 s) or the command would stutter to zero between the first
press and the first repeat. When the repeats stop (key released), the command drops to zero one
`hold_timeout` later.

Bindings (also shown in the UI):

    w / Up      forward          s / Down    backward
    a / Left    turn left (+w)   d / Right   turn right (-w)
    + / =       faster (one speed step)   - / _   slower
    space / x   stop now         q / Ctrl-C / Ctrl-D   quit

Only one motion key is active at a time (a terminal repeats only the last key pressed).
Speeds: motion = direction x speed fraction x max speed; the fraction moves in `speed_step`
steps within [speed_step, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
import math

UP, DOWN, LEFT, RIGHT = 'UP', 'DOWN', 'LEFT', 'RIGHT'
UNKNOWN = 'UNKNOWN'
ESC = '\x1b'

#: key -> (linear direction, angular direction)
MOTION_KEYS: dict[str, tuple[int, int]] = {
    'w': (1, 0), 'W': (1, 0), UP: (1, 0),
    's': (-1, 0), 'S': (-1, 0), DOWN: (-1, 0),
    'a': (0, 1), 'A': (0, 1), LEFT: (0, 1),
    'd': (0, -1), 'D': (0, -1), RIGHT: (0, -1),
}
FASTER_KEYS = frozenset('+=')
SLOWER_KEYS = frozenset('-_')
STOP_KEYS = frozenset(' xX')
QUIT_KEYS = frozenset(('q', 'Q', '\x03', '\x04'))
_ARROWS = {'A': UP, 'B': DOWN, 'C': RIGHT, 'D': LEFT}


class KeyDecoder:
    """Split terminal input into keys; arrow escape sequences (CSI `ESC [ A` or SS3 `ESC O A`) -> UP...

    Input may arrive split at any byte; an incomplete escape sequence waits for the next `feed`,
    and `flush()` (called when the terminal has been quiet) turns a lone ESC into the key ESC.
    """

    def __init__(self) -> None:
        self._pending = ''

    def feed(self, data: bytes) -> list[str]:
        """Decode bytes read from the terminal; returns the complete keys in order."""
        text = self._pending + data.decode('utf-8', errors='replace')
        self._pending = ''
        keys: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch != ESC:
                keys.append(ch)
                i += 1
                continue
            if i + 1 >= len(text):
                self._pending = text[i:]
                break
            intro = text[i + 1]
            if intro == 'O':  # SS3: one final character
                if i + 2 >= len(text):
                    self._pending = text[i:]
                    break
                keys.append(_ARROWS.get(text[i + 2], UNKNOWN))
                i += 3
            elif intro == '[':  # CSI: parameters, then a final byte in '@'..'~'
                j = i + 2
                while j < len(text) and not '\x40' <= text[j] <= '\x7e':
                    j += 1
                if j >= len(text):
                    self._pending = text[i:]
                    break
                params = text[i + 2:j]
                keys.append(_ARROWS.get(text[j], UNKNOWN) if params in ('', '1') or params.startswith('1;')
                            else UNKNOWN)
                i = j + 1
            else:  # ESC followed by a normal key (Alt+key): report ESC, keep the key
                keys.append(ESC)
                i += 1
        return keys

    def flush(self) -> list[str]:
        """Keys still pending after the terminal went quiet (a lone ESC press)."""
        pending, self._pending = self._pending, ''
        return [ESC] if pending == ESC else ([UNKNOWN] if pending else [])


@dataclass(frozen=True)
class KeyboardConfig:
    """Limits (m/s, rad/s), hold time (s) and speed stepping (fractions of the max speeds)."""

    max_linear_speed: float
    max_angular_speed: float
    hold_timeout: float = 0.7
    speed_step: float = 0.1
    initial_speed_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name in ('max_linear_speed', 'max_angular_speed'):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0.0:
                raise ValueError(f'{name} must be a finite number > 0, got {value!r}')
        if not 0.6 <= self.hold_timeout <= 10.0:
            raise ValueError(f'hold_timeout must be in [0.6, 10] s (longer than the autorepeat delay), '
                             f'got {self.hold_timeout!r}')
        if not 0.0 < self.speed_step <= 1.0:
            raise ValueError(f'speed_step must be in (0, 1], got {self.speed_step!r}')
        if not 0.0 < self.initial_speed_fraction <= 1.0:
            raise ValueError(f'initial_speed_fraction must be in (0, 1], got {self.initial_speed_fraction!r}')


@dataclass(frozen=True)
class KeyboardCommand:
    """Command to publish (m/s, rad/s); `held` is the key holding it or '' when idle."""

    linear: float
    angular: float
    held: str

    @property
    def moving(self) -> bool:
        return self.linear != 0.0 or self.angular != 0.0


class KeyboardTeleopCore:
    """Key presses with their time -> the command at any later time."""

    def __init__(self, config: KeyboardConfig) -> None:
        self.config = config
        self.fraction = min(1.0, max(config.speed_step, config.initial_speed_fraction))
        self.quit_requested = False
        self._direction = (0, 0)
        self._held_key = ''
        self._held_until = -math.inf

    def reconfigure(self, config: KeyboardConfig) -> None:
        self.config = config
        self.fraction = min(1.0, max(config.speed_step, self.fraction))

    def on_key(self, key: str, now: float) -> bool:
        """Apply one key pressed (or auto-repeated) at `now`; True if it was a known key."""
        if key in MOTION_KEYS:
            self._direction = MOTION_KEYS[key]
            self._held_key = key
            self._held_until = now + self.config.hold_timeout
        elif key in STOP_KEYS:
            self.stop()
        elif key in FASTER_KEYS:
            self.fraction = min(1.0, round(self.fraction + self.config.speed_step, 6))
        elif key in SLOWER_KEYS:
            self.fraction = max(self.config.speed_step, round(self.fraction - self.config.speed_step, 6))
        elif key in QUIT_KEYS:
            self.quit_requested = True
            self.stop()
        else:
            return False
        return True

    def stop(self) -> None:
        self._direction = (0, 0)
        self._held_key = ''
        self._held_until = -math.inf

    def command(self, now: float) -> KeyboardCommand:
        """The command at `now`: the held direction at the current speed, or zero after the hold."""
        if now > self._held_until or self.quit_requested:
            self.stop()
            return KeyboardCommand(0.0, 0.0, '')
        lin, ang = self._direction
        return KeyboardCommand(lin * self.fraction * self.config.max_linear_speed + 0.0,
                               ang * self.fraction * self.config.max_angular_speed + 0.0, self._held_key)
