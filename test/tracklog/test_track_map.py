"""track.png stays readable: events at one place share one numbered marker (no overlapping
labels), arrows point the way the rover went, ruts are found, and the legend names the ruts,
the lander, the ramps and the end marker; a height scale is drawn."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rover_bringup import report


def test_events_at_one_place_share_a_numbered_marker():
    events = [{'x': 0.0, 'y': 0.0}, {'x': 0.05, 'y': 0.0}, {'x': 3.0, 'y': 0.0}, {'x': 0.02, 'y': 0.03},
              {'x': 3.01, 'y': 0.0}, {'x': 3.0, 'y': 0.02}]
    groups = report.group_events(events, radius_m=0.3)
    assert [(x, y, m) for x, y, m in groups] == [(0.0, 0.0, [1, 2, 4]), (3.0, 0.0, [3, 5, 6])]
    labels = [report._numbers(m) for _x, _y, m in groups]
    assert labels == ['1,2,4', '3,5,6']
    assert report._numbers([1, 2, 3, 4, 7]) == '1-4,7'
    # markers kept apart by at least the radius: their labels (same offset) cannot overlap
    for (ax, ay, _), (bx, by, _) in zip(groups, groups[1:], strict=False):
        assert math.hypot(ax - bx, ay - by) >= 0.3


def test_direction_arrows_follow_the_drive_there_and_back():
    xs = np.array([0.0, 1.0, 2.0, 1.0, 0.0])
    ys = np.zeros(5)
    arrows = report.direction_arrows(xs, ys, every_m=1.0)
    assert [(round(x, 3), dx) for x, _y, dx, _dy in arrows] == [(0.5, 1.0), (1.5, 1.0), (1.5, -1.0), (0.5, -1.0)]


def test_ruts_are_where_the_final_terrain_is_lower():
    original = report.TerrainView(np.zeros((10, 10)), 0.0, 0.0, 0.1, 'world')
    final_heights = np.zeros((4, 4))
    final_heights[1, 2] = -0.01
    final = report.TerrainView(final_heights, 0.3, 0.2, 0.1, 'final')  # a crop of the same grid
    mask = report.rut_mask(final, original)
    assert mask is not None and mask.sum() == 1 and mask[1, 2]
    assert report.rut_mask(report.TerrainView(np.zeros((4, 4)), 0.3, 0.2, 0.1, 'final'), original) is None


def _legend_texts(monkeypatch, run) -> list[str]:
    import matplotlib.axes

    seen: list[str] = []
    original = matplotlib.axes.Axes.legend

    def legend(self, *args, **kwargs):
        seen.extend(h.get_label() for h in kwargs.get('handles', []))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, 'legend', legend)
    report.draw_track_map(run)
    return seen


def test_the_legend_names_lander_ruts_ramps_and_events(tmp_path, monkeypatch):
    """On change4 (lander) with ruts pressed into its terrain, and on slope_test (ramp)."""
    from rover_sim.terrain import build_terrain, load_world, save_terrain

    for world, x0 in (('change4', -12.0), ('slope_test', -14.0)):
        run = tmp_path / world
        run.mkdir()
        terrain = build_terrain(load_world(world))
        heights = np.array(terrain.heights, dtype=float)
        row = int(round((0.5 - terrain.origin_xy[1]) / terrain.resolution))
        col0 = int(round((x0 + 3.0 - terrain.origin_xy[0]) / terrain.resolution))
        heights[row, col0:col0 + 40] -= 0.02  # a rut
        from dataclasses import replace

        save_terrain(replace(terrain, heights=heights), run / 'terrain_final')
        xs = np.linspace(x0, x0 + 5.0, 60)
        (run / 'track.csv').write_text('t,x,y,z,yaw\n' + ''.join(f'{i},{x},0.0,0.0,0.0\n' for i, x in enumerate(xs)))
        events = [{'t': 1.0 + i, 'kind': 'slope_slow', 'detail': 'tilt', 'x': x0 + 5.0, 'y': 0.0} for i in range(3)]
        (run / 'summary.json').write_text(json.dumps({'world': world, 'distance_m': 5.0, 'sim_time_s': 60.0,
                                                      'events': events}))
        labels = _legend_texts(monkeypatch, run)
        assert 'wheel ruts (> 3 mm deep)' in labels, labels
        assert any(label.startswith('ground truth, arrows') for label in labels)
        assert 'end' in labels and 'start' in labels and 'events (numbered, below)' in labels
        if world == 'change4':
            assert 'lander deck and egress ramp' in labels
        else:
            assert 'ramp (foot to plateau end)' in labels
        assert (run / 'track.png').stat().st_size > 10_000


@pytest.mark.parametrize('n_events', [0, 30])
def test_many_events_are_listed_then_counted(tmp_path, n_events):
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'track.csv').write_text('t,x,y\n0,0,0\n1,1,0\n')
    events = [{'t': float(i), 'kind': 'command_timeout', 'detail': 'x' * 200, 'x': 1.0, 'y': 0.0}
              for i in range(n_events)]
    (run / 'summary.json').write_text(json.dumps({'events': events}))
    texts: list[str] = []
    import matplotlib.figure

    original = matplotlib.figure.Figure.text

    def text(self, x, y, s, *args, **kwargs):
        texts.append(s)
        return original(self, x, y, s, *args, **kwargs)

    matplotlib.figure.Figure.text = text
    try:
        report.draw_track_map(run)
    finally:
        matplotlib.figure.Figure.text = original
    rows = [t for t in texts if 'command_timeout' in t]
    assert len(rows) == min(n_events, report.MAX_EVENT_ROWS)
    assert all(len(r) < 130 for r in rows)
    assert any('16 more events' in t for t in texts) == (n_events == 30)
