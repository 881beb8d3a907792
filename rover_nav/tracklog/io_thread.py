"""The writer thread: every file operation of the logger happens here, never in a ROS callback.

Callbacks hand bag messages over through a bounded deque (an append, no lock: this runs for
every recorded message): when the disk is slow the deque fills and new bag messages are dropped
(and counted) instead of blocking the executor that runs the control chain. The writer thread
polls it every `poll_s` (far below the flush period). Track rows, topic declarations and JSON
snapshots go through a separate control queue and are never dropped for space (they are rare
and small).

Errors (disk full, file size limit, unwritable folder) are caught per sink, kept as a readable
status for /diagnostics and the log, and the sink is retried every `retry_period_s`: a bag gets a
new split file, the CSV is reopened in append mode. The thread itself never dies of an OSError.

A full disk must not cost the record of what was lost: the writer keeps RESERVE_BYTES of the disk
in a hidden file (`.reserve`), retries a failed sink only once the disk has room beyond it again,
and frees it when the run ends, so the final summary.json and bag/metadata.yaml are written and
tell the truth: messages lost in the chunk that could not be written are moved from written to
dropped, and track rows that could not be written are counted (rows_dropped).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import errno
import os
from pathlib import Path
import queue
import shutil
import threading
import time
from typing import Any

from rover_nav.tracklog import cdr_encode
from rover_nav.tracklog.bag import BagWriter, TopicInfo
from rover_nav.tracklog.files import CsvSink, write_json_atomic

SINKS = ('folder', 'bag', 'csv', 'summary', 'geojson', 'writer')
#: Disk space held back for the final summary.json, metadata.yaml and CSV tail (see the module docstring).
RESERVE_BYTES = 512 * 1024
RESERVE_NAME = '.reserve'
SUMMARY_NAME = 'summary.json'


@dataclass
class WriterStatus:
    """A consistent copy of the writer's state for diagnostics (read from the ROS thread)."""

    errors: dict[str, str] = field(default_factory=dict)
    messages_written: int = 0
    messages_dropped: int = 0
    rows_written: int = 0
    queue_depth: int = 0
    bag_files: int = 0
    bag_bytes: int = 0
    alive: bool = True
    rows_dropped: int = 0  # track.csv rows that could not be written

    @property
    def ok(self) -> bool:
        return not self.errors


class RunWriter:
    """Owns the run folder's files; `start()` the thread, feed it, `close()` to finish."""

    def __init__(self, out_dir: Path, bag_split_bytes: int, compression: str = 'zstd', flush_period_s: float = 0.5,
                 queue_size: int = 2000, retry_period_s: float = 5.0,
                 on_error: Callable[[str, str], None] | None = None, poll_s: float = 0.02) -> None:
        self.out_dir = Path(out_dir)
        self.flush_period_s = flush_period_s
        self.retry_period_s = retry_period_s
        self._bag_split_bytes, self._compression, self._flush_period_s = bag_split_bytes, compression, flush_period_s
        # bag messages: appended by the ROS thread, popped by the writer (deque ends are thread-safe)
        self._messages: deque[tuple[str, bytes, int]] = deque()
        self._queue_size = queue_size
        self._accepted = 0  # bag messages queued (ROS thread only); sync() waits for them to be handled
        self._rejected = 0  # of messages_dropped: refused here, never queued
        self._poll_s = poll_s
        self._control: queue.Queue[tuple[Any, ...]] = queue.Queue()  # rows, JSON, topics: never dropped
        self._lock = threading.Lock()
        self._status = WriterStatus()
        self._retry_at: dict[str, float] = {}
        self._on_error = on_error
        self._thread = threading.Thread(target=self._run, name='track_logger_writer', daemon=True)
        self._stop = threading.Event()
        self._bag: BagWriter | None = None
        self._csv = CsvSink(self.out_dir / 'track.csv')
        self._topics: list[TopicInfo] = []
        self._pending_json: dict[str, Any] = {}
        self._meta_wall = 0.0
        self._last_json: dict[str, tuple[str, Any]] = {}  # name -> (sink, obj) last written
        self._reserve = self.out_dir / RESERVE_NAME
        self._disk_full = False

    # -- producer side (ROS callbacks) ----------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def add_topic(self, topic: TopicInfo) -> None:
        self._control.put(('topic', topic))

    def message(self, topic: str, data: Any, log_ns: int) -> bool:
        """Queue one bag message (CDR bytes, or a message object this thread serialises); False (and
        counted as dropped) when the queue is full."""
        if len(self._messages) >= self._queue_size:
            with self._lock:
                self._status.messages_dropped += 1
                self._rejected += 1
            return False
        self._accepted += 1
        self._messages.append((topic, data, log_ns))
        return True

    def row(self, line: str) -> None:
        self._control.put(('row', line))

    def json(self, sink: str, name: str, obj: Any) -> None:
        """Write `obj` to out_dir/name atomically (only the newest pending copy is written)."""
        self._control.put(('json', sink, name, obj))

    def status(self) -> WriterStatus:
        with self._lock:
            s = self._status
            return WriterStatus(dict(s.errors), s.messages_written, s.messages_dropped, s.rows_written,
                                len(self._messages), s.bag_files, s.bag_bytes, self._thread.is_alive(),
                                s.rows_dropped)

    def sync(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) until every bag message queued so far is written (or dropped by the writer):
        status() then counts them. An empty queue is not enough: the writer works in batches."""
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            with self._lock:
                handled = self._status.messages_written + self._status.messages_dropped - self._rejected
            if handled >= self._accepted:
                return
            time.sleep(0.005)

    def close(self, timeout_s: float = 10.0) -> None:
        """Drain the queues, finish the bag (footer, metadata.yaml), close the CSV; join the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    # -- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        self._prepare()
        while not self._stop.is_set():
            self._guarded_step(self._poll_s)
        self._drain_all()
        try:
            self._finish()
        except Exception as exc:  # never lose the thread silently: report it
            self._fail('writer', OSError(0, f'{type(exc).__name__}: {exc}'))

    def _guarded_step(self, block_s: float) -> None:
        try:
            self._step(block_s)
        except Exception as exc:  # a bug must not stop the recording: report it and go on
            self._fail('writer', OSError(0, f'{type(exc).__name__}: {exc}'))

    def _drain_all(self) -> None:
        deadline = time.monotonic() + 5.0
        while (self._messages or not self._control.empty()) and time.monotonic() < deadline:
            self._guarded_step(0.0)

    def _step(self, block_s: float) -> None:
        """Write what is queued (up to a batch); with nothing queued, wait up to `block_s` first."""
        self._handle_control()
        if not self._messages and block_s > 0:
            self._stop.wait(block_s)  # poll: close() ends the wait at once
        pop = self._messages.popleft
        for _ in range(200):
            try:
                item = pop()
            except IndexError:
                break
            self._write_message(*item)
        self._handle_control()
        self._flush_json()
        self._periodic()

    def _prepare(self) -> None:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.out_dir, os.W_OK):
                raise PermissionError(13, 'folder is not writable', str(self.out_dir))
            self._clear('folder')
        except OSError as exc:
            self._fail('folder', exc)
            return
        self._hold_reserve()
        self._open_csv()
        self._open_bag()

    def _hold_reserve(self) -> None:
        """Claim RESERVE_BYTES for the end of the run (best effort: a disk already full gets none)."""
        if self._reserve.exists():
            return
        try:
            with open(self._reserve, 'wb') as f:
                f.write(bytes(RESERVE_BYTES))
        except OSError:
            with contextlib.suppress(OSError):
                self._reserve.unlink()

    def _release_reserve(self) -> None:
        with contextlib.suppress(OSError):
            self._reserve.unlink()

    def _room_to_retry(self) -> bool:
        """After ENOSPC, retry only when the disk has room again: a retry that fills the last bytes
        would cost the final summary its place."""
        if not self._disk_full:
            return True
        try:
            free = shutil.disk_usage(self.out_dir).free
        except OSError:
            return False
        if free < 4 * RESERVE_BYTES:
            return False
        self._disk_full = False
        return True

    def _ready(self, sink: str) -> bool:
        """True when the sink may be used now (no error, or its retry time has come)."""
        with self._lock:
            failed = sink in self._status.errors
        if not failed:
            return True
        if time.monotonic() < self._retry_at.get(sink, 0.0):
            return False
        if not self._room_to_retry():
            self._retry_at[sink] = time.monotonic() + self.retry_period_s
            return False
        if sink != 'folder' and not self._ready('folder'):
            return False
        if sink == 'folder':
            self._prepare()
        elif sink == 'bag':
            self._open_bag()
        elif sink == 'csv':
            self._open_csv()
        else:
            return True  # JSON sinks simply try again
        with self._lock:
            return sink not in self._status.errors

    def _open_bag(self) -> None:
        try:
            if self._bag is None:
                self._bag = BagWriter(self.out_dir / 'bag', split_size_bytes=self._bag_split_bytes,
                                      compression=self._compression, flush_period_s=self._flush_period_s)
                for topic in self._topics:
                    self._bag.add_topic(topic)
            else:
                self._abandon_bag()
            self._bag.write_metadata_yaml(force=True)
            self._clear('bag')
        except OSError as exc:
            self._fail('bag', exc)

    def _abandon_bag(self, uncounted: int = 0) -> None:
        """Drop the bag's current file after an error: messages the file does not hold become dropped.

        `uncounted`: of those, how many the status never counted as written (the message whose
        write failed, when the bag had already taken it).
        """
        if self._bag is None:
            return
        lost = self._bag.abandon_file() - uncounted
        if lost:
            with self._lock:
                self._status.messages_written -= lost
                self._status.messages_dropped += lost

    def _open_csv(self) -> None:
        try:
            self._csv.open()
            self._clear('csv')
        except OSError as exc:
            self._fail('csv', exc)

    def _handle_control(self) -> None:
        while True:
            try:
                item = self._control.get_nowait()
            except queue.Empty:
                return
            kind = item[0]
            if kind == 'topic':
                self._topics.append(item[1])
                if self._bag is not None:
                    self._bag.add_topic(item[1])
            elif kind == 'row':
                self._write_row(item[1])
            elif kind == 'json':
                self._pending_json[item[2]] = (item[1], item[3])

    def _usable(self, sink: str) -> bool:
        return self._ready('folder') and self._ready(sink)

    def _write_message(self, topic: str, data: Any, log_ns: int) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            # an in-process message: serialised here, off the control thread, to the bytes DDS
            # would carry (rclpy's serialize_message pads them with uninitialised memory)
            data = cdr_encode.serialize(data)
        if not self._usable('bag') or self._bag is None:
            with self._lock:
                self._status.messages_dropped += 1
            return
        if topic not in self._bag.topics:
            self._handle_control()  # its declaration may have raced ahead in the other queue
        before = self._bag.message_count
        try:
            self._bag.write(topic, data, log_ns)
        except OSError as exc:
            self._abandon_bag(uncounted=self._bag.message_count - before)  # 1 if the bag took it first
            self._fail('bag', exc)
            with self._lock:
                self._status.messages_dropped += 1
            return
        with self._lock:
            self._status.messages_written += 1
            self._status.bag_files = len(self._bag.files)
            self._status.bag_bytes = self._bag.current_file_bytes

    def _write_row(self, line: str) -> None:
        if not self._usable('csv') or not self._csv.is_open:
            with self._lock:
                self._status.rows_dropped += 1
            return
        try:
            self._csv.write(line)
        except OSError as exc:
            self._fail('csv', exc)
            with self._lock:
                self._status.rows_dropped += 1
            return
        with self._lock:
            self._status.rows_written += 1

    def _flush_json(self) -> None:
        for name, (sink, obj) in list(self._pending_json.items()):
            if not self._usable(sink):
                continue
            try:
                write_json_atomic(self.out_dir / name, obj)
                self._last_json[name] = (sink, obj)
                self._clear(sink)
            except OSError as exc:
                self._fail(sink, exc)
            except (TypeError, ValueError) as exc:  # a programming error in the content: report, drop
                self._fail(sink, OSError(0, f'cannot encode {name}: {exc}'))
            self._pending_json.pop(name, None)

    def _periodic(self) -> None:
        with self._lock:
            failed = [sink for sink in ('folder', 'bag', 'csv') if sink in self._status.errors]
        for sink in failed:  # retry on schedule even when nothing is being written
            self._ready(sink)
        bag = self._bag
        if bag is None:
            return
        with self._lock:
            bag_failed = 'bag' in self._status.errors
        if bag_failed:
            return
        try:
            bag.maybe_flush()
            if time.monotonic() - self._meta_wall >= max(1.0, self.flush_period_s):
                self._meta_wall = time.monotonic()
                bag.write_metadata_yaml()
        except OSError as exc:
            self._abandon_bag()
            self._fail('bag', exc)

    def _finish(self) -> None:
        """Finish the bag and the CSV, then write the last JSON (the summary must count the end of the bag)."""
        self._release_reserve()  # the room kept for exactly this
        self._disk_full = False
        self._retry_at.clear()  # every failed sink gets one last attempt now, into the freed room
        self._handle_control()
        if self._bag is not None:
            with self._lock:
                failed = 'bag' in self._status.errors
            try:
                if failed:
                    self._abandon_bag()
                    self._bag.write_metadata_yaml(force=True)
                else:
                    self._bag.close()
            except OSError as exc:
                self._abandon_bag()
                self._fail('bag', exc)
                with contextlib.suppress(OSError):
                    self._bag.write_metadata_yaml(force=True)  # the counts without the lost chunk
        self._csv.close()
        self._on_finished()
        self._flush_json()

    def _on_finished(self) -> None:
        """Rewrite the last summary with the final recording counts: finishing the bag may still have
        lost its last chunk (a full disk), after the logger composed the summary."""
        last = self._last_json.get(SUMMARY_NAME)
        if last is None or SUMMARY_NAME in self._pending_json:
            last = self._pending_json.get(SUMMARY_NAME, last)
        if last is None:
            return
        sink, obj = last
        if isinstance(obj, dict) and isinstance(obj.get('recording'), dict):
            obj = {**obj, 'recording': {**obj['recording'], **recording_report(self.status())}}
        self._pending_json[SUMMARY_NAME] = (sink, obj)

    # -- status ---------------------------------------------------------------------------
    def _fail(self, sink: str, exc: OSError) -> None:
        if getattr(exc, 'errno', None) == errno.ENOSPC:
            self._disk_full = True
        text = f'{exc.strerror or exc}' + (f': {exc.filename}' if getattr(exc, 'filename', None) else '')
        self._retry_at[sink] = time.monotonic() + self.retry_period_s
        with self._lock:
            new = self._status.errors.get(sink) != text
            self._status.errors[sink] = text
        if new and self._on_error is not None:
            self._on_error(sink, text)

    def _clear(self, sink: str) -> None:
        with self._lock:
            self._status.errors.pop(sink, None)


def recording_report(status: WriterStatus) -> dict[str, Any]:
    """The summary's `recording` figures: counts, errors, and in words what was lost (if anything)."""
    lost = []
    if status.messages_dropped:
        lost.append(f'{status.messages_dropped} bag messages')
    if status.rows_dropped:
        lost.append(f'{status.rows_dropped} track.csv rows')
    lost += [f'{sink}: {text}' for sink, text in sorted(status.errors.items())]
    return {'messages_written': status.messages_written, 'messages_dropped': status.messages_dropped,
            'rows_written': status.rows_written, 'rows_dropped': status.rows_dropped,
            'bag_files': status.bag_files, 'errors': dict(status.errors),
            'complete': not lost, 'lost': '; '.join(lost)}


def describe_errors(errors: dict[str, str]) -> str:
    """'cannot write bag: No space left on device: /x/bag_0.mcap; ...' for logs and diagnostics."""
    return '; '.join(f'cannot write {sink}: {text}' for sink, text in sorted(errors.items()))


__all__ = ['SINKS', 'RunWriter', 'WriterStatus', 'describe_errors', 'recording_report']
