"""`rover track export|info|show` on a run folder built from a synthetic bag (no ROS graph needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
import pytest
from rclpy.serialization import serialize_message
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from rover_bringup import cli
from rover_bringup.report import summary_table
from rover_nav.tracklog.bag import BagWriter, QosOffer, TopicInfo
from rover_nav.tracklog.files import read_csv
from rover_nav.tracklog.replay import export_run

NS = 1_000_000_000


def _odom(t: float, x: float, y: float, yaw: float, frame: str) -> bytes:
    m = Odometry()
    m.header.stamp.sec, m.header.stamp.nanosec = int(t), int(round((t - int(t)) * 1e9))
    m.header.frame_id = frame
    m.pose.pose.position.x, m.pose.pose.position.y = x, y
    m.pose.pose.orientation.z, m.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return serialize_message(m)


def make_run(run: Path, seconds: float = 60.0, rate: float = 10.0, cut_tail: bool = False) -> float:
    """A bag of a 0.05 m/s drive: 30 s straight east, then a left arc of radius 2 m; returns its length."""
    w = BagWriter(run / 'bag', compression='zstd')
    for name, typ in (('/clock', 'rosgraph_msgs/msg/Clock'), ('/ground_truth', 'nav_msgs/msg/Odometry'),
                      ('/odom', 'nav_msgs/msg/Odometry'), ('/events', 'std_msgs/msg/String'),
                      ('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray')):
        w.add_topic(TopicInfo.for_type(name, typ, [QosOffer()]))
    v, x, y, yaw = 0.05, 0.0, 0.0, 0.0
    for k in range(int(seconds * rate) + 1):
        t = 50.0 + k / rate
        if k:
            w_z = 0.0 if t < 80.0 else v / 2.0
            yaw += w_z / rate
            x += v * math.cos(yaw) / rate
            y += v * math.sin(yaw) / rate
        c = Clock()
        c.clock.sec, c.clock.nanosec = int(t), int(round((t - int(t)) * 1e9))
        ns = c.clock.sec * NS + c.clock.nanosec
        w.write('/clock', serialize_message(c), ns)
        w.write('/ground_truth', _odom(t, x, y, yaw, 'world'), ns)
        w.write('/odom', _odom(t, 1.02 * x, 1.02 * y, yaw, 'odom'), ns)
        if k == 200:
            w.write('/events', serialize_message(String(data=json.dumps(
                {'t': t, 'kind': 'slope_slow', 'detail': 'tilt 16 deg', 'source': 'slope_guard'}))), ns)
            arr = DiagnosticArray(status=[DiagnosticStatus(level=b'\x01', name='slope_guard', message='slow')])
            w.write('/diagnostics', serialize_message(arr), ns)
    if cut_tail:
        w.flush()
        w._file.stream.close()  # as if killed: no footer, no summary section
    else:
        w.close()
    return v * seconds


def test_export_rebuilds_csv_geojson_and_summary(tmp_path, capsys):
    run = tmp_path / 'run'
    length = make_run(run)
    assert cli.main(['track', 'export', str(run), '--summary']) == 0
    rows = read_csv(run / 'track.csv')
    assert 55 <= len(rows) <= 70
    s = json.loads((run / 'summary.json').read_text())
    assert s['distance_m'] == pytest.approx(length, rel=2e-3)
    poly = sum(math.dist((a['x'], a['y']), (b['x'], b['y'])) for a, b in zip(rows, rows[1:], strict=False))
    assert poly == pytest.approx(s['distance_m'], rel=2e-3)
    assert s['mean_slip'] == pytest.approx(1 - 1 / 1.02, abs=2e-3)
    assert s['events'][0]['kind'] == 'slope_slow' and s['events'][0]['t'] == pytest.approx(20.0)
    assert s['worst_diagnostic_level'] == 'WARN'
    geo = json.loads((run / 'track.geojson').read_text())
    local = next(f for f in geo['features'] if f['id'] == 'track_local')['geometry']['coordinates']
    assert len(local) == len(rows) and local[-1][0] == pytest.approx(rows[-1]['x'], abs=1e-4)
    out = capsys.readouterr().out
    assert 'track points' in out and '0 events' not in out


@pytest.mark.torn_bags  # SIGKILLed recorder: checked after repair
def test_export_of_a_killed_bag_recovers_up_to_the_last_chunk(tmp_path, capsys):
    run = tmp_path / 'run'
    make_run(run, cut_tail=True)
    out = tmp_path / 'exported'
    assert cli.main(['track', 'export', str(run), '--out', str(out)]) == 0
    assert 'not closed cleanly' in capsys.readouterr().out
    rows = read_csv(out / 'track.csv')
    assert rows[-1]['t'] == pytest.approx(60.0, abs=0.5)


def test_info_prints_a_table_and_show_draws_a_png(tmp_path, capsys):
    run = tmp_path / 'run'
    make_run(run)
    export_run(run, write_summary=True)
    assert cli.main(['track', 'info', str(run)]) == 0
    text = capsys.readouterr().out
    assert 'distance' in text and 'slope_slow' in text and 'mean slip' in text
    assert cli.main(['track', 'show', str(run)]) == 0
    png = run / 'track.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    from matplotlib import image

    img = image.imread(png)
    assert img.shape[0] > 600 and img.shape[1] > 600
    # the orange ground-truth line is drawn (plain background: this run has no terrain)
    orange = (abs(img[..., 0] - 1.0) < 0.05) & (abs(img[..., 1] - 0.62) < 0.06) & (img[..., 2] < 0.2)
    assert orange.sum() > 200


def test_show_uses_the_final_terrain_saved_in_the_run(tmp_path):
    import numpy as np

    from rover_bringup import report

    run = tmp_path / 'run'
    make_run(run, seconds=20.0)
    export_run(run, write_summary=True)
    q = np.zeros((200, 200), dtype=np.uint16)
    q[100:104, :] = 1000  # a ridge across the track
    np.savez(run / 'terrain_final.npz', heights_q=q, offset=np.float64(0.0), step=np.float64(1e-4))
    (run / 'terrain_final.json').write_text(json.dumps({
        'format': report.TERRAIN_FORMAT, 'heights_file': 'terrain_final.npz', 'origin_xy': [-5.0, -5.0],
        'resolution_m': 0.05}))
    view = report.find_terrain(run, None)
    assert view is not None and 'final' in view.source and view.heights.max() == pytest.approx(0.1)
    assert report.draw_track_map(run).is_file()


def test_errors_are_reported_with_exit_codes(tmp_path, capsys):
    assert cli.main(['track', 'info', str(tmp_path / 'missing')]) == 1
    (tmp_path / 'empty').mkdir()
    assert cli.main(['track', 'info', str(tmp_path / 'empty')]) == 1
    assert cli.main(['track', 'show', str(tmp_path / 'empty')]) == 1
    assert cli.main(['track', 'export', str(tmp_path / 'empty')]) == 1
    assert 'no bag/' in capsys.readouterr().err


def test_summary_table_handles_missing_values():
    text = summary_table({'distance_m': 1.0, 'final_pose': None, 'events': [{'t': 1.0, 'kind': 'estop', 'detail': ''}]})
    assert 'estop' in text and 'distance' in text


def test_repair_makes_a_killed_bag_whole(tmp_path, capsys):
    from mcap.reader import make_reader

    from rover_nav.tracklog import bag as bagmod

    run = tmp_path / 'run'
    make_run(run, cut_tail=True)
    path = run / 'bag' / 'bag_0.mcap'
    with open(path, 'rb') as f, pytest.raises(Exception):  # noqa: B017 - no footer: the seeking reader gives up
        list(make_reader(f).iter_messages())
    assert cli.main(['track', 'export', str(run), '--repair', '--summary']) == 0
    assert 'repaired 1 file(s): bag_0.mcap' in capsys.readouterr().out
    with open(path, 'rb') as f:
        reader = make_reader(f)
        n = reader.get_summary().statistics.message_count
        channels = {c.topic: c for c in reader.get_summary().channels.values()}
    assert n == sum(1 for _ in bagmod.read_bag(run / 'bag'))
    assert 'offered_qos_profiles' in channels['/ground_truth'].metadata
    info = bagmod.load_metadata(run / 'bag')
    assert info['message_count'] == n and info['files'][0]['message_count'] == n
    assert {t['topic_metadata']['name'] for t in info['topics_with_message_count']} >= {'/ground_truth', '/odom'}
    assert not list((run / 'bag').glob('.*.tmp'))
