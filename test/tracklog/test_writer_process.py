"""The child-process writer of a composed `rover run`: the same files as the thread, no hang when the child dies."""

from __future__ import annotations

import json
import os
import signal
import threading

from helpers.processes import wait_until
from rclpy.serialization import deserialize_message
from std_msgs.msg import String

from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog.bag import QosOffer, TopicInfo
from rover_nav.tracklog.files import csv_line, read_csv
from rover_nav.tracklog.recorder import TrackPoint
from rover_nav.tracklog.writer_process import ProcessRunWriter


def _point(i: int) -> TrackPoint:
    return TrackPoint(t=float(i), stamp=100.0 + i, x=0.05 * i, y=0.0, z=0.0, yaw=0.0, speed=None, tilt_deg=1.0,
                      odom_x=None, odom_y=None, odom_yaw=None, slip=None, distance_m=0.05 * i,
                      source='ground_truth')


def _events_topic() -> TopicInfo:
    return TopicInfo.for_type('/events', 'std_msgs/msg/String', [QosOffer(depth=50)])


def test_the_child_writes_the_bag_rows_and_json_in_order(tmp_path):
    out = tmp_path / 'run'
    writer = ProcessRunWriter(out, 10 * 1024 * 1024)
    writer.start()
    writer.add_topic(_events_topic())
    for i in range(300):  # message objects (the bus) and CDR bytes (DDS) alike
        msg = String(data=f'event {i}')
        writer.message('/events', msg, 1_000_000_000 + i)
    for i in range(5):
        writer.row(csv_line(_point(i)))
    writer.sync()
    assert writer.status().messages_written == 300  # counted before the files are closed
    writer.json('summary', 'summary.json', {'distance_m': 0.2})
    writer.close()
    status = writer.status()
    assert status.messages_written == 300 and status.messages_dropped == 0 and status.rows_written == 5
    assert not status.errors
    got = [deserialize_message(m.data, String).data for m in bagmod.read_bag(out / 'bag')]
    assert got == [f'event {i}' for i in range(300)]
    reports: list[bagmod.FileReport] = []
    list(bagmod.read_bag(out / 'bag', reports))
    assert all(r.complete for r in reports)  # the child finished the file: footer and summary
    assert len(read_csv(out / 'track.csv')) == 5
    assert json.loads((out / 'summary.json').read_text()) == {'distance_m': 0.2}


def test_a_dead_child_costs_messages_not_a_hung_logger(tmp_path):
    writer = ProcessRunWriter(tmp_path / 'run', 10 * 1024 * 1024, queue_size=50)
    writer.start()
    writer.add_topic(_events_topic())
    os.kill(writer._proc.pid, signal.SIGKILL)
    wait_until(lambda: not writer._proc.is_alive(), 10.0, what='the child to die')
    big = String(data='x' * 100_000)
    for i in range(500):  # far more than a pipe holds: must neither block nor raise
        writer.message('/events', big, i)
    writer.close(timeout_s=2.0)
    status = writer.status()
    assert not status.alive
    assert status.messages_dropped > 0


def test_the_thread_writer_sync_counts_every_queued_message(tmp_path):
    """sync() returns once the writer has handled what was queued, not when its queue looks empty."""
    from rover_nav.tracklog.io_thread import RunWriter

    writer = RunWriter(tmp_path / 'run', 10 * 1024 * 1024, queue_size=5000)
    writer.start()
    writer.add_topic(_events_topic())
    for i in range(1000):  # several of the writer's 200-message batches
        writer.message('/events', String(data=str(i)), 1_000_000_000 + i)
    writer.sync()
    assert writer.status().messages_written == 1000
    writer.close()


class _OverlapDetectingConnection:
    """Wraps the pipe's sending end: records whether two threads were ever inside send() at once."""

    def __init__(self, inner) -> None:
        import threading

        self.inner = inner
        self.inside = 0
        self.overlaps = 0
        self.sends = 0
        self.slow = False
        self.release = threading.Event()  # a slow send holds the pipe until this is set (or 10 s)
        self._count_lock = threading.Lock()

    def send(self, obj) -> None:
        with self._count_lock:
            self.inside += 1
            self.sends += 1
            if self.inside > 1:
                self.overlaps += 1
        try:
            if self.slow:  # hold the pipe, as a large batch does, until the test has seen it held
                self.release.wait(10.0)
            self.inner.send(obj)
        finally:
            with self._count_lock:
                self.inside -= 1

    def close(self) -> None:
        self.inner.close()


def test_sync_and_the_sender_thread_never_send_on_the_pipe_at_once(tmp_path):
    """Two unlocked Connection.send on one pipe interleave their bytes: the child died with UnpicklingError
    and every later message was lost (issue 18, finding 11). Here sync() is called exactly while the sender
    thread is inside a (slowed) send: it must wait for it."""
    out = tmp_path / 'run'
    writer = ProcessRunWriter(out, 10 * 1024 * 1024, send_period_s=0.001)
    conn = writer._conn = _OverlapDetectingConnection(writer._conn)
    writer.start()
    try:
        writer.add_topic(_events_topic())
        for i in range(20):
            conn.release.clear()
            conn.slow = True
            writer.message('/events', String(data=f'event {i}'), 1_000_000_000 + i)
            # the sender thread holds the pipe until released (no window to miss on a loaded machine)
            wait_until(lambda: conn.inside > 0, 30.0, what='the sender thread inside send()')
            writer.message('/events', String(data=f'event {i}b'), 1_000_000_000 + i)
            conn.slow = False
            threading.Timer(0.1, conn.release.set).start()  # sync() below starts while the send is held
            writer.sync(timeout_s=15.0)
        status = writer.status()
        assert status.alive and not status.errors, status
        assert status.messages_written == 40
    finally:
        writer.close()
    assert conn.overlaps == 0


def test_a_killed_child_leaves_a_repaired_bag_and_a_summary_that_counts_it(tmp_path):
    """Item 4 of issue 18 (kill the writer child): the parent finishes what the child could not."""
    out = tmp_path / 'run'
    writer = ProcessRunWriter(out, 10 * 1024 * 1024)
    writer.start()
    writer.add_topic(_events_topic())
    for i in range(100):
        writer.message('/events', String(data=f'event {i}'), 1_000_000_000 + i * 10_000_000)
        writer.row(csv_line(_point(i)))
    writer.json('summary', 'summary.json', {'distance_m': 1.0, 'recording': {}})
    writer.sync()
    os.kill(writer._proc.pid, signal.SIGKILL)
    wait_until(lambda: not writer._proc.is_alive(), 10.0, what='the child to die')
    for i in range(100, 150):
        writer.message('/events', String(data=f'event {i}'), 1_000_000_000 + i * 10_000_000)
        writer.row(csv_line(_point(i)))
    writer.json('summary', 'summary.json', {'distance_m': 2.0, 'recording': {}})
    writer.close()
    summary = json.loads((out / 'summary.json').read_text())
    in_bag = sum(1 for _ in bagmod.read_bag(out / 'bag'))
    rec = summary['recording']
    assert summary['distance_m'] == 2.0  # the newest summary, written by the parent
    assert rec['messages_written'] == in_bag == bagmod.load_metadata(out / 'bag')['message_count']
    assert rec['messages_written'] + rec['messages_dropped'] == 150 and rec['messages_dropped'] >= 50
    assert rec['rows_dropped'] >= 50 and rec['complete'] is False and 'writer process died' in rec['lost']
    assert not list(out.rglob('.*'))  # no .reserve, no temporary files
