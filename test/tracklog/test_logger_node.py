"""The track_logger executable over real DDS: a recorded drive, SIGINT, SIGKILL, a full disk, bad config."""

from __future__ import annotations

import json
import math
from pathlib import Path
import sys

from diagnostic_msgs.msg import DiagnosticArray
from helpers.processes import NodeProcess
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from nav_msgs.msg import Path as PathMsg
import pytest
from std_msgs.msg import Bool

from rover_nav.runtime import qos
from rover_nav.tracklog import bag as bagmod
from rover_nav.tracklog.files import read_csv

pytestmark = pytest.mark.ros
MODULE = 'rover_nav.tracklog.logger_node'


def start_logger(tmp_path: Path, out: Path, *params: str, prefix: list[str] | None = None) -> NodeProcess:
    args = ['--ros-args', '-p', f'output_dir:={out}', '-p', 'summary_period:=0.5']
    for p in params:
        args += ['-p', p]
    return NodeProcess([*(prefix or []), sys.executable, '-m', MODULE, *args], tmp_path / 'logger.log')


def polyline(rows) -> float:
    return sum(math.dist((a['x'], a['y']), (b['x'], b['y'])) for a, b in zip(rows, rows[1:], strict=False))


def test_recorded_drive_bag_csv_geojson_summary_agree(tmp_path, probe, drive):
    out = tmp_path / 'run'
    track = probe.subscribe('track', PathMsg, qos.LATCHED)
    # on sim time, as every drive records: a pose that overtakes the first /clock waits for it (it was
    # logged at the wall clock before, and the bag's log times then failed to match the stamps now and then)
    logger = start_logger(tmp_path, out, 'use_sim_time:=true')
    try:
        drive.wait_ready()
        drive.estop.publish(Bool(data=False))

        def extras(k: int) -> None:
            if k == 10:
                drive.diagnostic(1, 'slope_guard', 'slowing')
            if k == 40:
                drive.event('obstacle_stop', 'rock ahead')

        drive.run(3.0, extras)
        n_pub = len(drive.published)
        probe.wait_for(lambda: track and len(track[-1].msg.poses) >= 10, 10.0, 'a /track Path')
        probe.wait_for(lambda: (out / 'summary.json').is_file(), 10.0, 'a periodic summary.json')
    finally:
        code = logger.stop()
    assert code == 0, logger.output()

    # the bag: clean files, every message decodes, ground truth complete with sim log times
    info = bagmod.load_metadata(out / 'bag')
    topics = {t['topic_metadata']['name']: t for t in info['topics_with_message_count']}
    assert topics['/ground_truth']['message_count'] == n_pub
    assert {'/clock', '/odom', '/events', '/diagnostics', '/estop'} <= set(topics)
    estop_qos = topics['/estop']['topic_metadata']['offered_qos_profiles']
    assert estop_qos[0]['durability'] == 'transient_local'
    gt = {}
    for path in bagmod.bag_files(out / 'bag'):
        with open(path, 'rb') as f:
            reader = make_reader(f, decoder_factories=[DecoderFactory()])
            for _schema, channel, message, decoded in reader.iter_decoded_messages():
                if channel.topic == '/ground_truth':
                    stamp = decoded.header.stamp.sec + decoded.header.stamp.nanosec * 1e-9
                    assert message.log_time == decoded.header.stamp.sec * 10**9 + decoded.header.stamp.nanosec
                    gt[round(stamp, 6)] = (decoded.pose.pose.position.x, decoded.pose.pose.position.y)
    assert len(gt) == n_pub

    # track.csv: every row is a recorded ground-truth pose (same stamp, same position)
    rows = read_csv(out / 'track.csv')
    assert len(rows) >= 10
    for row in rows:
        x, y = gt[round(row['stamp'], 6)]
        assert (row['x'], row['y']) == pytest.approx((x, y), abs=1e-4)
    assert rows[0]['t'] == pytest.approx(0.0, abs=0.06)

    # track.geojson: the same points, locally and in lon/lat
    geo = json.loads((out / 'track.geojson').read_text())
    feats = {f['id']: f for f in geo['features']}
    local = feats['track_local']['geometry']['coordinates']
    assert [v for c in local for v in c[:2]] == pytest.approx([v for r in rows for v in (r['x'], r['y'])], abs=1e-4)
    assert len(feats['track']['geometry']['coordinates']) == len(rows)
    assert any(f['properties'].get('kind') == 'obstacle_stop' for f in geo['features'])

    # summary.json: distance = path length, the spec's keys, events with poses
    s = json.loads((out / 'summary.json').read_text())
    for key in ('distance_m', 'sim_time_s', 'wall_time_s', 'real_time_factor', 'max_speed_mps', 'max_tilt_deg',
                'final_pose', 'events', 'worst_diagnostic_level', 'odom_drift_m', 'mean_slip'):
        assert key in s, key
    assert s['distance_m'] == pytest.approx(drive.arc_length(), rel=0.01)
    assert s['distance_m'] == pytest.approx(polyline(rows), rel=0.01)
    assert s['max_speed_mps'] == pytest.approx(0.2, rel=0.02)
    assert s['sim_time_s'] == pytest.approx(drive.published[-1][0] - drive.published[0][0], abs=0.06)
    assert s['mean_slip'] == pytest.approx(1 - 1 / 1.05, abs=0.01)
    assert s['worst_diagnostic_level'] == 'WARN'
    assert [e['kind'] for e in s['events']] == ['obstacle_stop']
    assert s['events'][0]['x'] is not None
    assert s['final_pose']['x'] == pytest.approx(drive.published[-1][1], abs=1e-3)


def test_sigkill_mid_drive_leaves_readable_files_missing_at_most_one_second(spare_domain, tmp_path, probe, drive):
    out = tmp_path / 'run'
    logger = start_logger(tmp_path, out)
    try:
        drive.wait_ready()
        drive.run(4.0)
        last_t = drive.published[-1][0]
        logger.proc.kill()  # SIGKILL, mid-drive: no chance to finish anything
        logger.proc.wait(timeout=10)
    finally:
        logger.stop()
    reports: list[bagmod.FileReport] = []
    msgs = list(bagmod.read_bag(out / 'bag', reports))
    assert reports and all(not r.error or 'EndOfFile' in r.error or r.messages for r in reports)
    decoders = {}
    for m in msgs:  # every recovered message decodes
        decoders.setdefault(m.schema.id, bagmod.decoder_for(m.schema))(m.data)
    gt_times = [m.log_ns * 1e-9 for m in msgs if m.topic == '/ground_truth']
    assert gt_times and max(gt_times) >= last_t - 1.0, f'bag ends {last_t - max(gt_times):.2f} s early'
    rows = read_csv(out / 'track.csv')
    assert (out / 'track.csv').read_text().endswith('\n')
    assert rows and rows[-1]['stamp'] >= last_t - 1.0 - 0.05 / drive.speed
    json.loads((out / 'summary.json').read_text())  # atomic: a whole file
    json.loads((out / 'track.geojson').read_text())

    # `rover track export --repair` makes it a clean bag for the indexed readers (ros2 bag, Foxglove)
    bagmod.repair_bag(out / 'bag')
    decoded = 0
    for path in bagmod.bag_files(out / 'bag'):
        with open(path, 'rb') as f:
            decoded += sum(1 for _ in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages())
    assert decoded == len(msgs) == bagmod.load_metadata(out / 'bag')['message_count']


@pytest.mark.torn_bags  # the disk fills mid-file: checked after repair
def test_disk_full_is_reported_and_the_logger_keeps_running(tmp_path, probe, drive):
    out = tmp_path / 'run'
    diags = probe.subscribe('/diagnostics', DiagnosticArray, qos.DIAGNOSTICS)
    track = probe.subscribe('track', PathMsg, qos.LATCHED)

    def logger_error() -> bool:
        return any(s.level == b'\x02' and 'track_logger' in s.name for d in diags for s in d.msg.status)

    logger = start_logger(tmp_path, out, prefix=['prlimit', '--fsize=40000'])  # RLIMIT_FSIZE: 40 kB per file
    try:
        drive.wait_ready()
        for _ in range(30):
            drive.run(0.5)
            if logger_error():
                break
        assert logger_error(), logger.output()
        n_before = len(track)
        drive.run(1.0)  # still alive and still publishing the track after the error
        probe.wait_for(lambda: len(track) > n_before, 10.0, 'track updates after the disk filled up')
        assert logger.alive()
    finally:
        code = logger.stop()
    assert code == 0, logger.output()
    status = next(s for d in diags for s in d.msg.status if s.level == b'\x02' and 'track_logger' in s.name)
    assert 'File too large' in status.message
    assert 'cannot write' in logger.output()


def test_bad_parameter_exits_2_naming_the_key(tmp_path):
    logger = start_logger(tmp_path, tmp_path / 'run', 'sample_distance:=-1.0')
    try:
        logger.proc.wait(timeout=60)
    finally:
        code = logger.stop()
    assert code == 2, logger.output()
    assert 'sample_distance' in logger.output()
