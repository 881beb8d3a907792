"""The track logger's files written by a child process: for nodes composed in one process.

In `rover run` every node shares one Python interpreter, and the logger's writer thread
(`RunWriter`: MCAP records, chunk compression, CSV, JSON) competes for the GIL with the
control chain: measured, dropping the bag writing alone took the lockstep drive from ~19x to
~25x real time. `ProcessRunWriter` has `RunWriter`'s interface but runs the very same
`RunWriter` in a child process (the second core): the logger's thread here only hands over
batches of CDR bytes through a pipe.

Guarantees kept: messages are bounded here as well (full -> dropped and counted); rows, topics
and JSON are never dropped; the child reports its `WriterStatus` (errors, counts) back; a
SIGKILL of this process closes the pipe and the child finishes the bag (footer, metadata) with
what it got, which is at most `send_period_s` less than the thread would have had.

If the CHILD dies (killed, crashed), later messages and rows are lost (counted), and at close()
this process finishes the files itself: it repairs the torn bag (every whole chunk kept,
metadata.yaml rebuilt), counts what the bag really holds, removes the child's temporary files
and writes the last summary.json with those counts and what was lost.
"""

from __future__ import annotations

from collections import deque
import contextlib
import dataclasses
import multiprocessing
from pathlib import Path
import threading
import time
from typing import Any

from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog import cdr_encode
from rover_nav.tracklog.files import write_json_atomic
from rover_nav.tracklog.io_thread import RESERVE_NAME, SUMMARY_NAME, RunWriter, WriterStatus, recording_report

STATUS_PERIOD_S = 0.2


def _child(conn: Any, status_conn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The child: a RunWriter fed from the pipe until 'close' or EOF (the parent died), then closed.

    Ctrl-C reaches the whole process group: the parent decides when the files are finished. A
    SIGTERM (the parent's multiprocessing at exit) finishes them at once.
    """
    import signal

    def finish(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, finish)
    writer = RunWriter(*args, **kwargs)
    writer.start()
    next_status = 0.0
    try:
        while True:
            if conn.poll(0.05):
                try:
                    batch = conn.recv()
                except (EOFError, OSError):
                    break
                if batch is None:
                    break
                for item in batch:
                    kind = item[0]
                    if kind == 'msg':
                        writer.message(item[1], item[2], item[3])
                    elif kind == 'topic':
                        writer.add_topic(item[1])
                    elif kind == 'row':
                        writer.row(item[1])
                    elif kind == 'json':
                        writer.json(item[1], item[2], item[3])
                    elif kind == 'sync':  # the parent waits for this status: everything before it written
                        writer.sync()
                        status_conn.send({**dataclasses.asdict(writer.status()), 'sync': item[1]})
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + STATUS_PERIOD_S
                status_conn.send(dataclasses.asdict(writer.status()))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ValueError):
            status_conn.send(dataclasses.asdict(writer.status()))


class ProcessRunWriter:
    """`RunWriter`'s interface; the writing happens in a child process (see the module docstring)."""

    def __init__(self, out_dir: Path, bag_split_bytes: int, compression: str = 'zstd', flush_period_s: float = 0.5,
                 queue_size: int = 2000, send_period_s: float = 0.02) -> None:
        self._queue_size = queue_size
        self._send_period_s = send_period_s
        self._out_dir = Path(out_dir)
        self._accepted = 0  # bag messages handed over (queued here)
        self._refused = 0  # bag messages refused here (queue full), part of _dropped
        self._rows_dropped = 0  # rows that could not be sent (the child was gone)
        self._last_summary: Any = None  # the newest summary.json content asked for
        self._items: deque[tuple[Any, ...]] = deque()  # appended by the ROS thread, sent by the sender
        self._dropped = 0
        ctx = multiprocessing.get_context('spawn')  # no fork of a process with DDS threads
        self._conn_recv, self._conn = ctx.Pipe(duplex=False)
        self._status_recv, self._status_send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, name='track_logger_writer',
                                 args=(self._conn_recv, self._status_send,
                                       (Path(out_dir), bag_split_bytes, compression, flush_period_s, queue_size),
                                       {}), daemon=True)
        self._status = WriterStatus()
        self._sync_id = 0
        self._synced = 0
        self._stop = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name='track_logger_sender', daemon=True)
        self._lock = threading.Lock()
        self._recv_lock = threading.Lock()
        # sync()/close() (ROS thread) and the sender thread both send: two unlocked Connection.send on
        # one pipe interleave their bytes and the child dies unpickling them
        self._send_lock = threading.Lock()

    # -- producer side (ROS callbacks), as RunWriter ------------------------------------------
    def start(self) -> None:
        self._proc.start()
        self._conn_recv.close()  # the child's ends: with them closed here, a dead child is EOF/EPIPE, not a hang
        self._status_send.close()
        self._sender.start()

    def add_topic(self, topic: Any) -> None:
        self._items.append(('topic', topic))

    def message(self, topic: str, data: Any, log_ns: int) -> bool:
        if len(self._items) >= self._queue_size:  # the child is not keeping up: drop, count, never block
            self._dropped += 1
            self._refused += 1
            return False
        if not isinstance(data, (bytes, bytearray)):
            data = cdr_encode.serialize(data)  # an in-process message object: the child gets the wire's CDR bytes
        self._items.append(('msg', topic, bytes(data), log_ns))
        self._accepted += 1
        return True

    def row(self, line: str) -> None:
        self._items.append(('row', line))

    def json(self, sink: str, name: str, obj: Any) -> None:
        if name == SUMMARY_NAME:
            self._last_summary = (sink, obj)
        self._items.append(('json', sink, name, obj))

    def sync(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) until the child has written everything queued so far: status() then counts it.

        The bound is generous: a spawned child on a loaded machine takes seconds just to import.
        """
        self._sync_id += 1
        self._items.append(('sync', self._sync_id))
        self._send_batch()
        deadline = time.monotonic() + timeout_s
        while self._synced < self._sync_id and self._proc.is_alive() and time.monotonic() < deadline:
            self._read_status(wait_s=0.05)

    def status(self) -> WriterStatus:
        self._read_status()
        with self._lock:
            s = self._status
            return WriterStatus(dict(s.errors), s.messages_written, s.messages_dropped + self._dropped,
                                s.rows_written, s.queue_depth + len(self._items), s.bag_files, s.bag_bytes,
                                s.alive and self._proc.is_alive(), s.rows_dropped + self._rows_dropped)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued, let the child finish the files, and wait for it."""
        self._stop.set()
        if self._sender.is_alive():
            self._sender.join(timeout=timeout_s)
        self._send_batch()
        with contextlib.suppress(OSError, ValueError), self._send_lock:
            self._conn.send(None)
        self._proc.join(timeout=timeout_s)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=2.0)
        self._read_status(final=True)
        if self._proc.exitcode != 0:
            self._finish_for_a_dead_child()

    def _finish_for_a_dead_child(self) -> None:
        """The child died before finishing the files: finish them here (see the module docstring)."""
        reason = f'writer process died (exit code {self._proc.exitcode}); what it had not written is lost'
        bag_dir = self._out_dir / 'bag'
        written = 0
        try:
            if bagmod.bag_files(bag_dir):
                bagmod.repair_bag(bag_dir)
                written = bagmod.load_metadata(bag_dir)['message_count']
        except (OSError, ValueError, KeyError) as exc:
            reason += f'; the bag could not be repaired: {exc}'
        for leftover in [self._out_dir / RESERVE_NAME, *self._out_dir.glob('.*.tmp'), *bag_dir.glob('.*.tmp')]:
            with contextlib.suppress(OSError):
                leftover.unlink()
        with self._lock:
            s = self._status
            errors = {**s.errors, 'writer': reason}
            # status() adds _dropped: the total is then (handed over - in the bag) + refused here
            dropped = max(0, self._accepted - written) + self._refused - self._dropped
            self._status = WriterStatus(errors, written, dropped,
                                        s.rows_written, 0, s.bag_files, s.bag_bytes, False, s.rows_dropped)
        if self._last_summary is not None:
            sink, obj = self._last_summary
            if isinstance(obj, dict):
                obj = {**obj, 'recording': recording_report(self.status())}
            with contextlib.suppress(OSError, TypeError, ValueError):
                write_json_atomic(self._out_dir / SUMMARY_NAME, obj)

    # -- the sender thread ------------------------------------------------------------------
    def _send_loop(self) -> None:
        while not self._stop.wait(self._send_period_s):
            self._send_batch()
            self._read_status()  # keep the status pipe drained: a full pipe would block the child

    def _send_batch(self) -> None:
        with self._send_lock:  # one sender at a time, and batches leave in the order they were taken
            items = self._items
            batch = []
            while items:
                batch.append(items.popleft())
            if batch:
                try:
                    self._conn.send(batch)
                except (OSError, ValueError):  # the child is gone: its status says why
                    self._dropped += sum(1 for item in batch if item[0] == 'msg')
                    self._rows_dropped += sum(1 for item in batch if item[0] == 'row')

    def _read_status(self, final: bool = False, wait_s: float = 0.0) -> None:
        with self._recv_lock:  # the sender thread and the ROS thread both read
            self._read_status_locked(final, wait_s)

    def _read_status_locked(self, final: bool, wait_s: float) -> None:
        try:
            while self._status_recv.poll(0.5 if final else wait_s):
                values = self._status_recv.recv()
                self._synced = max(self._synced, values.pop('sync', 0))
                with self._lock:
                    self._status = WriterStatus(**values)
                final, wait_s = False, 0.0
        except (EOFError, OSError):
            pass
