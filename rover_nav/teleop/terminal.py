"""Raw terminal input and a redrawn status screen, restored on every exit path.

`RawTerminal` switches the terminal to non-canonical, no-echo, no-signal mode (Ctrl-C arrives as
the byte 0x03 and is handled as quit, Ctrl-Z cannot suspend a teleop that holds a command), hides
the cursor and clears the screen; leaving the `with` block restores the saved attributes even
when the terminal has already gone away (then restoring fails quietly: there is nothing left).
"""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import os
import select
import termios

CLEAR = '\x1b[H\x1b[2J'
HOME_CLEAR_BELOW = '\x1b[H'
ERASE_LINE = '\x1b[K'
ERASE_BELOW = '\x1b[J'
HIDE_CURSOR = '\x1b[?25l'
SHOW_CURSOR = '\x1b[?25h'


class TerminalGoneError(Exception):
    """The terminal closed (EOF or I/O error on read/write)."""


class RawTerminal:
    """Context manager: raw-ish key input on `fd_in`, screen drawing on `fd_out`."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        if not os.isatty(fd_in):
            raise OSError(f'file descriptor {fd_in} is not a terminal')
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._saved: list | None = None

    def __enter__(self) -> RawTerminal:
        self._saved = termios.tcgetattr(self.fd_in)
        mode = termios.tcgetattr(self.fd_in)
        mode[0] &= ~(termios.IXON | termios.ICRNL | termios.INLCR | termios.IGNCR)  # iflag
        mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)  # lflag
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd_in, termios.TCSANOW, mode)
        self.write(HIDE_CURSOR + CLEAR)
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def restore(self) -> None:
        """Give the terminal back as it was (idempotent; quiet if the terminal is gone)."""
        if self._saved is None:
            return
        saved, self._saved = self._saved, None
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(self.fd_in, termios.TCSADRAIN, saved)
        with contextlib.suppress(OSError, TerminalGoneError):
            self.write(SHOW_CURSOR + '\n')

    def read_keys(self, timeout_s: float) -> bytes | None:
        """Bytes typed within `timeout_s` (b'' none); raises TerminalGoneError on EOF or hang-up."""
        try:
            ready, _, _ = select.select([self.fd_in], [], [], timeout_s)
        except InterruptedError:
            return b''
        if not ready:
            return b''
        try:
            data = os.read(self.fd_in, 256)
        except OSError as exc:
            raise TerminalGoneError(f'terminal read failed: {exc}') from exc
        if not data:
            raise TerminalGoneError('end of input (terminal closed)')
        return data

    def draw(self, lines: Sequence[str]) -> None:
        """Redraw the screen from the top-left corner, erasing leftovers (e.g. log lines)."""
        self.write(HOME_CLEAR_BELOW + ''.join(f'{line}{ERASE_LINE}\n' for line in lines) + ERASE_BELOW)

    def write(self, text: str) -> None:
        data = text.encode()
        try:
            while data:
                written = os.write(self.fd_out, data)
                data = data[written:]
        except OSError as exc:
            raise TerminalGoneError(f'terminal write failed: {exc}') from exc
