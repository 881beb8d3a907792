"""CSV/JSON/GeoJSON files and the writer thread: whole lines, atomic JSON, disk full, unwritable folder."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from helpers.processes import wait_until
import pytest
from rclpy.serialization import serialize_message
from std_msgs.msg import String

from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog.bag import QosOffer, TopicInfo
from rover_nav.tracklog.files import CSV_COLUMNS, CsvSink, csv_line, read_csv, track_geojson, write_json_atomic
from rover_nav.tracklog.geo import local_to_selenographic
from rover_nav.tracklog.io_thread import RunWriter
from rover_nav.tracklog.recorder import EventRecord, TrackPoint


def point(i: int, odom: bool = True) -> TrackPoint:
    return TrackPoint(t=i * 1.0, stamp=100.0 + i, x=0.05 * i, y=0.01 * i, z=0.001 * i, yaw=0.1,
                      speed=0.05 if i else None, tilt_deg=2.0, odom_x=0.051 * i if odom else None,
                      odom_y=0.01 * i if odom else None,
                      odom_yaw=0.1 if odom else None, slip=0.02 if i else None, distance_m=0.051 * i,
                      source='ground_truth')


def test_csv_round_trip_and_spec_columns(tmp_path):
    for col in ('t', 'x', 'y', 'z', 'yaw', 'speed', 'tilt_deg', 'odom_x', 'odom_y', 'slip'):
        assert col in CSV_COLUMNS
    sink = CsvSink(tmp_path / 'track.csv')
    sink.open()
    for i in range(5):
        sink.write(csv_line(point(i, odom=i != 2)))
    sink.close()
    sink.open()  # reopen appends, no second header
    sink.write(csv_line(point(5)))
    sink.close()
    rows = read_csv(tmp_path / 'track.csv')
    assert len(rows) == 6
    assert rows[3]['x'] == pytest.approx(0.15) and rows[2]['odom_x'] is None and rows[0]['speed'] is None
    assert rows[5]['source'] == 'ground_truth'
    with open(tmp_path / 'track.csv', 'a') as f:
        f.write('7.0,0.1,0.2')  # a torn last line is ignored
    assert len(read_csv(tmp_path / 'track.csv')) == 6


def test_csv_sink_on_a_full_disk_raises_and_keeps_whole_lines(tmp_path):
    link = tmp_path / 'track.csv'
    link.symlink_to('/dev/full')
    sink = CsvSink(link)
    with pytest.raises(OSError) as err:
        sink.open()
    assert err.value.errno == 28  # ENOSPC


def test_write_json_atomic_replaces_and_rejects_nan(tmp_path):
    path = tmp_path / 'summary.json'
    write_json_atomic(path, {'a': 1})
    write_json_atomic(path, {'a': 2})
    assert json.loads(path.read_text()) == {'a': 2}
    with pytest.raises(ValueError):
        write_json_atomic(path, {'a': math.nan})
    assert json.loads(path.read_text()) == {'a': 2}
    assert [p.name for p in tmp_path.iterdir()] == ['summary.json']


def test_geojson_has_lunar_crs_local_and_selenographic_lines_and_events():
    pts = [point(i) for i in range(10)]
    ev = [EventRecord(3.0, 'obstacle_stop', 'rock', 'obstacle_guard', 0.15, 0.03),
          EventRecord(4.0, 'x', '', '', None, None)]
    gj = track_geojson(pts, ev, 'change4')
    assert gj['type'] == 'FeatureCollection'
    assert 'IAU' in gj['crs']['properties']['name'] and 'Earth' in gj['lunar_crs']['warning']
    feats = {f['id']: f for f in gj['features']}
    local = feats['track_local']['geometry']['coordinates']
    assert local[4] == pytest.approx([0.2, 0.04, 0.004])
    lonlat = feats['track']['geometry']['coordinates']
    assert lonlat[4][:2] == pytest.approx(list(local_to_selenographic(0.2, 0.04)))
    assert feats['odometry_local']['geometry']['coordinates'][9][0] == pytest.approx(0.459)
    assert feats['event_0']['geometry']['type'] == 'Point'
    assert feats['event_0']['properties']['kind'] == 'obstacle_stop'
    assert 'event_1' not in feats  # no pose known: not placed on the map
    json.dumps(gj, allow_nan=False)


def _topic() -> TopicInfo:
    return TopicInfo.for_type('/events', 'std_msgs/msg/String', [QosOffer(depth=50)])


def test_run_writer_writes_everything(tmp_path):
    w = RunWriter(tmp_path / 'run', bag_split_bytes=1 << 20, flush_period_s=0.1)
    w.start()
    w.add_topic(_topic())
    for i in range(100):
        assert w.message('/events', serialize_message(String(data=f'{i}')), 1_000_000_000 + i)
    w.row(csv_line(point(1)))
    w.json('summary', 'summary.json', {'distance_m': 1.0})
    w.close()
    status = w.status()
    assert status.ok and status.messages_written == 100 and status.rows_written == 1
    assert len(list(bagmod.read_bag(tmp_path / 'run' / 'bag'))) == 100
    assert json.loads((tmp_path / 'run' / 'summary.json').read_text()) == {'distance_m': 1.0}
    assert len(read_csv(tmp_path / 'run' / 'track.csv')) == 1


def test_run_writer_reports_an_unwritable_folder_and_keeps_accepting(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    errors = []
    w = RunWriter(blocker / 'run', bag_split_bytes=1 << 20, retry_period_s=0.2,
                  on_error=lambda sink, text: errors.append((sink, text)))
    w.start()
    try:
        w.add_topic(_topic())
        for i in range(50):
            w.message('/events', serialize_message(String(data='x')), i)
            w.row(csv_line(point(i)))
        wait_until(lambda: w.status().messages_dropped >= 50, 5.0, what='messages dropped')
        status = w.status()
        assert status.alive and 'folder' in status.errors
        assert 'Not a directory' in status.errors['folder'] or 'not' in status.errors['folder'].lower()
        assert errors and errors[0][0] == 'folder'
        blocker.unlink()  # the problem goes away: the next retry recovers
        wait_until(lambda: w.status().ok, 5.0, what='recovery')
        w.message('/events', serialize_message(String(data='back')), 99)
    finally:
        w.close()
    assert [m.data for m in bagmod.read_bag(blocker / 'run' / 'bag')] == [serialize_message(String(data='back'))]


def test_run_writer_on_a_full_disk_reports_and_never_blocks(tmp_path):
    run = tmp_path / 'run'
    (run / 'bag').mkdir(parents=True)
    (run / 'bag' / 'bag_0.mcap').symlink_to('/dev/full')
    (run / 'track.csv').symlink_to('/dev/full')
    w = RunWriter(run, bag_split_bytes=1 << 20, queue_size=20, retry_period_s=60.0)
    w.start()
    try:
        w.add_topic(_topic())
        for i in range(1000):  # never blocks, whatever the disk does
            w.message('/events', serialize_message(String(data='x' * 100)), i)
        w.row(csv_line(point(1)))
        wait_until(lambda: {'bag', 'csv'} <= set(w.status().errors), 5.0, what='bag and csv errors')
        status = w.status()
        assert 'No space left on device' in status.errors['bag']
        assert status.alive and status.messages_dropped > 0
    finally:
        w.close()
    assert os.path.islink(run / 'track.csv')


def test_writer_thread_survives_a_bad_summary(tmp_path):
    w = RunWriter(tmp_path / 'run', bag_split_bytes=1 << 20)
    w.start()
    w.json('summary', 'summary.json', {'bad': math.inf})
    w.json('geojson', 'track.geojson', {'ok': 1})
    w.close()
    assert 'summary' in w.status().errors
    assert json.loads(Path(tmp_path / 'run' / 'track.geojson').read_text()) == {'ok': 1}


def test_a_folder_with_a_previous_drive_gets_a_fresh_subfolder(tmp_path):
    from rover_nav.tracklog.logger_node import fresh_output_dir

    run = tmp_path / 'log'
    assert fresh_output_dir(run) == run  # not there yet
    run.mkdir()
    (run / 'terrain_final.json').write_text('{}')  # the simulator's files: still this drive
    assert fresh_output_dir(run) == run
    (run / 'track.csv').write_text('t\n')
    assert fresh_output_dir(run, '20250101-000000') == run / '20250101-000000'
    (run / '20250101-000000').mkdir()
    assert fresh_output_dir(run, '20250101-000000') == run / '20250101-000000-1'


def test_a_full_disk_loses_data_but_never_the_truth_about_it(tmp_path):
    """Issue 18 finding 12: on a full disk the bag and CSV stopped and summary.json froze claiming 0 dropped.
    Now: the final summary is written (from the reserve) and counts exactly what the bag holds, says
    what was lost, and no temporary file is left behind."""
    from helpers.small_disk import small_disk

    with small_disk(tmp_path / 'disk', '700k') as disk:
        out = disk / 'run'
        w = RunWriter(out, 10 * 1024 * 1024, compression='none', flush_period_s=0.05, queue_size=100_000,
                      retry_period_s=0.05)
        w.start()
        topic = TopicInfo.for_type('/events', 'std_msgs/msg/String', [QosOffer(depth=50)])
        w.add_topic(topic)
        payload = serialize_message(String(data='x' * 2000))
        for i in range(600):  # ~1.2 MB of messages on a 700 kB disk
            w.message('/events', payload, 1_000_000_000 + i * 10_000_000)
            w.row(csv_line(point(i)))
            if i % 100 == 0:
                w.json('summary', 'summary.json', {'recording': {'messages_written': -1}, 'i': i})
        w.sync(timeout_s=30.0)
        wait_until(lambda: 'bag' in w.status().errors, 30.0, what='the disk to fill up')
        w.json('summary', 'summary.json', {'recording': {'messages_written': -1}, 'i': 'final'})
        w.close()
        status = w.status()
        summary = json.loads((out / 'summary.json').read_text())
        in_bag = sum(1 for _ in bagmod.read_bag(out / 'bag'))
        meta = bagmod.load_metadata(out / 'bag')
        leftovers = sorted(p.name for p in out.rglob('.*'))
    rec = summary['recording']
    assert summary['i'] == 'final'
    assert rec['complete'] is False and 'No space left on device' in rec['lost']
    assert (rec['messages_written'], status.messages_written, in_bag, meta['message_count']) == (in_bag,) * 4
    assert rec['messages_written'] + rec['messages_dropped'] == 600
    assert rec['messages_dropped'] > 0 and f"{rec['messages_dropped']} bag messages" in rec['lost']
    assert leftovers == []  # no .reserve, no .metadata.yaml.tmp, no .summary.json.tmp
