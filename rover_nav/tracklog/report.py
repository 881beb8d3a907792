"""track.png (the track over shaded terrain) and the summary as a table.

The map is drawn in the world frame (x east, y north, metres) with matplotlib's Agg backend:
shaded relief of the terrain the simulator saved at the end of the drive (so the wheel ruts
show) or, failing that, of the world rebuilt from its definition (no ruts), or a plain
background; ground truth solid, odometry dashed, events marked and labelled, start and end,
a scale bar and a north arrow (north = +y on the selenographic map).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from rover_nav.tracklog.files import read_csv

TERRAIN_FORMAT = 'rover_testbed.terrain/1'
#: Files the simulator may leave in a run folder with the final (rutted) terrain, best first.
TERRAIN_STEMS = ('terrain_final', 'terrain')


@dataclass(frozen=True)
class TerrainView:
    """Heights (ny, nx) in m; heights[i, j] at x = x0 + j * res, y = y0 + i * res; where they came from."""

    heights: np.ndarray
    x0: float
    y0: float
    resolution: float
    source: str

    @property
    def extent(self) -> tuple[float, float, float, float]:
        ny, nx = self.heights.shape
        h = self.resolution / 2.0
        return (self.x0 - h, self.x0 + (nx - 1) * self.resolution + h, self.y0 - h,
                self.y0 + (ny - 1) * self.resolution + h)

    def crop(self, x_lo: float, x_hi: float, y_lo: float, y_hi: float) -> TerrainView:
        ny, nx = self.heights.shape
        j0 = max(0, int(math.floor((x_lo - self.x0) / self.resolution)))
        j1 = min(nx, int(math.ceil((x_hi - self.x0) / self.resolution)) + 1)
        i0 = max(0, int(math.floor((y_lo - self.y0) / self.resolution)))
        i1 = min(ny, int(math.ceil((y_hi - self.y0) / self.resolution)) + 1)
        if j1 - j0 < 2 or i1 - i0 < 2:
            return self
        return TerrainView(self.heights[i0:i1, j0:j1], self.x0 + j0 * self.resolution,
                           self.y0 + i0 * self.resolution, self.resolution, self.source)


def _load_saved_terrain(json_path: Path) -> TerrainView | None:
    """A terrain saved in the simulator's store format (`<stem>.json` + its `.npz`)."""
    try:
        meta = json.loads(json_path.read_text(encoding='utf-8'))
        if meta.get('format') != TERRAIN_FORMAT:
            return None
        npz = json_path.with_name(meta.get('heights_file', json_path.stem + '.npz'))
        with np.load(npz, allow_pickle=False) as data:
            heights = float(data['offset']) + data['heights_q'].astype(np.float64) * float(data['step'])
        ox, oy = meta['origin_xy']
        return TerrainView(heights, float(ox), float(oy), float(meta['resolution_m']), f'{json_path.name} (final)')
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_terrain(run_dir: Path, world: str | None) -> TerrainView | None:
    """The final terrain saved in the run folder, else the world rebuilt from its definition."""
    for stem in TERRAIN_STEMS:
        view = _load_saved_terrain(run_dir / f'{stem}.json')
        if view is not None:
            return view
    for json_path in sorted(run_dir.glob('*.json')):
        if json_path.name not in ('summary.json',):
            view = _load_saved_terrain(json_path)
            if view is not None:
                return view
    if not world:
        return None
    try:
        from rover_sim.terrain import build_terrain, load_world

        terrain = build_terrain(load_world(world))
    except Exception:  # no simulator package, unknown world: draw without terrain
        return None
    return TerrainView(np.asarray(terrain.heights, dtype=float), float(terrain.origin_xy[0]),
                       float(terrain.origin_xy[1]), float(terrain.resolution), f'world {terrain.name} (no ruts)')


def _nice_length(span_m: float) -> float:
    target = max(span_m / 5.0, 1e-3)
    base = 10 ** math.floor(math.log10(target))
    for m in (1, 2, 5, 10):
        if m * base >= target:
            return m * base
    return 10 * base


def _load_run(run_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    summary: dict[str, Any] = {}
    if (run_dir / 'summary.json').is_file():
        summary = json.loads((run_dir / 'summary.json').read_text(encoding='utf-8'))
    rows: list[dict[str, Any]] = []
    if (run_dir / 'track.csv').is_file():
        rows = read_csv(run_dir / 'track.csv')
    if not rows and (run_dir / 'bag').is_dir():
        from rover_nav.tracklog.replay import replay_bag

        rebuilt = replay_bag(run_dir / 'bag')
        rows = [{'x': p.x, 'y': p.y, 'odom_x': p.odom_x, 'odom_y': p.odom_y} for p in rebuilt.points]
        summary = summary or rebuilt.summary
    return rows, summary


def draw_track_map(run_dir: Path | str, out: Path | str | None = None, dpi: int = 150) -> Path:
    """Draw RUN_DIR/track.png (or `out`); returns the path. Raises FileNotFoundError without a track."""
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib.colors import LightSource
    import matplotlib.pyplot as plt
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    run_dir = Path(run_dir)
    rows, summary = _load_run(run_dir)
    if not rows:
        raise FileNotFoundError(f'no track in {run_dir} (track.csv or bag/ with ground truth or odometry)')
    xs = np.array([r['x'] for r in rows])
    ys = np.array([r['y'] for r in rows])
    odom = [(r['odom_x'], r['odom_y']) for r in rows if r.get('odom_x') is not None and r.get('odom_y') is not None]
    events = [e for e in summary.get('events', []) if e.get('x') is not None and e.get('y') is not None]
    all_x = np.concatenate([xs, [o[0] for o in odom], [e['x'] for e in events]])
    all_y = np.concatenate([ys, [o[1] for o in odom], [e['y'] for e in events]])
    span = max(float(np.ptp(all_x)), float(np.ptp(all_y)), 2.0)
    margin = max(1.0, 0.15 * span)
    cx, cy = (all_x.max() + all_x.min()) / 2.0, (all_y.max() + all_y.min()) / 2.0
    half = span / 2.0 + margin
    x_lo, x_hi, y_lo, y_hi = cx - half, cx + half, cy - half, cy + half

    fig, ax = plt.subplots(figsize=(8.0, 8.0))
    terrain = find_terrain(run_dir, summary.get('world'))
    if terrain is not None:
        view = terrain.crop(x_lo, x_hi, y_lo, y_hi)
        light = LightSource(azdeg=300.0, altdeg=25.0)  # low sun from the north-west, as on the Moon's surface photos
        shaded = light.hillshade(view.heights, vert_exag=3.0, dx=view.resolution, dy=view.resolution)
        ax.imshow(shaded, cmap='gray', origin='lower', extent=view.extent, vmin=0.0, vmax=1.0,
                  interpolation='bilinear')
        terrain_note = f'terrain: {view.source}'
    else:
        ax.set_facecolor('#8a8a8a')
        terrain_note = 'terrain: not available'
    ax.plot(xs, ys, '-', color='#ff9f1c', lw=2.0, label='ground truth' if rows[0].get('source') != 'odom' else 'track')
    if odom:
        ox, oy = zip(*odom, strict=True)
        ax.plot(ox, oy, '--', color='#2ec4f1', lw=1.4, label='wheel odometry')
    ax.plot(xs[0], ys[0], '^', color='#3ddc84', ms=10, mec='k', label='start')
    ax.plot(xs[-1], ys[-1], 's', color='#e63946', ms=9, mec='k', label='end')
    for i, e in enumerate(events):
        ax.plot(e['x'], e['y'], 'X', color='#ffd60a', ms=11, mec='k', label='event' if i == 0 else None)
        ax.annotate(f"{e.get('kind', '')} @ {float(e.get('t', 0.0)):.0f} s", (e['x'], e['y']), xytext=(6, 6),
                    textcoords='offset points', fontsize=8, color='w',
                    bbox={'boxstyle': 'round,pad=0.2', 'fc': 'k', 'alpha': 0.6, 'lw': 0})
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect('equal')
    ax.set_xlabel('x east (m, world)')
    ax.set_ylabel('y north (m, world)')
    bar = _nice_length(2.0 * half)
    ax.add_artist(AnchoredSizeBar(ax.transData, bar, f'{bar:g} m', loc='lower left', pad=0.6, color='w',
                                  frameon=False, size_vertical=bar / 30.0))
    ax.annotate('N', xy=(0.94, 0.95), xytext=(0.94, 0.83), xycoords='axes fraction', ha='center', va='center',
                fontsize=13, fontweight='bold', color='w',
                arrowprops={'arrowstyle': '-|>', 'color': 'w', 'lw': 2.0})
    ax.legend(loc='upper left', fontsize=8, framealpha=0.7)
    title = f"{summary.get('world') or 'drive'}: {summary.get('distance_m', float('nan')):.2f} m in " \
            f"{summary.get('sim_time_s', float('nan')):.0f} s (sim)"
    ax.set_title(title)
    origin = summary.get('origin') or {}
    foot = terrain_note
    if origin.get('lon_deg') is not None and origin.get('lat_deg') is not None:
        lon, lat = float(origin['lon_deg']), float(origin['lat_deg'])
        foot += (f" | world origin {abs(lon):.3f} {'E' if lon >= 0 else 'W'}, {abs(lat):.3f} {'N' if lat >= 0 else 'S'}"
                 ' (IAU 2015 Moon sphere)')
    fig.text(0.01, 0.005, foot, fontsize=7, color='#444444')
    fig.tight_layout()
    out_path = Path(out) if out is not None else run_dir / 'track.png'
    tmp = out_path.with_name(f'.{out_path.name}.tmp')
    try:  # via a temporary file: a full disk must not leave a 0-byte track.png
        fig.savefig(tmp, dpi=dpi, format=out_path.suffix.lstrip('.') or 'png')
        os.replace(tmp, out_path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        plt.close(fig)
    return out_path


def _fmt(value: Any, unit: str = '', digits: int = 3) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.{digits}f}{" " + unit if unit else ""}'
    return f'{value}{" " + unit if unit else ""}'


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as an aligned two-column table, then the events (one per line)."""
    pose = summary.get('final_pose') or {}
    rec = summary.get('recording') or {}
    rows = [
        ('distance', _fmt(summary.get('distance_m'), 'm')),
        ('sim time', _fmt(summary.get('sim_time_s'), 's', 1)),
        ('wall time', _fmt(summary.get('wall_time_s'), 's', 1)),
        ('real-time factor', _fmt(summary.get('real_time_factor'), 'x', 1)),
        ('max speed (1 s avg)', _fmt(summary.get('max_speed_mps'), 'm/s', 4)),
        ('max tilt', _fmt(summary.get('max_tilt_deg'), 'deg', 1)),
        ('final pose', f"x {_fmt(pose.get('x'), 'm')}, y {_fmt(pose.get('y'), 'm')}, z {_fmt(pose.get('z'), 'm')}, "
                       f"yaw {math.degrees(pose['yaw']):.1f} deg" if pose.get('yaw') is not None else '-'),
        ('odometry drift', f"{_fmt(summary.get('odom_drift_m'), 'm')}"
                           + (f" ({summary['odom_drift_percent']:.2f} % of distance)"
                              if summary.get('odom_drift_percent') is not None else '')),
        ('mean slip', _fmt(summary.get('mean_slip'), '', 3)),
        ('worst diagnostic', str(summary.get('worst_diagnostic_level', '-'))
         + (f" ({(summary.get('worst_diagnostic') or {}).get('name')}: "
            f"{(summary.get('worst_diagnostic') or {}).get('message')})"
            if (summary.get('worst_diagnostic') or {}).get('name')
            and summary.get('worst_diagnostic_level') not in (None, 'OK') else '')),
        ('track', f"{summary.get('track_points', '-')} points from {summary.get('track_source') or '-'}"),
        ('events', str(len(summary.get('events', [])))),
    ]
    if rec:
        rows.append(('bag', f"{rec.get('messages_written', 0)} messages in {rec.get('bag_files', 0)} file(s), "
                            f"{rec.get('messages_dropped', 0)} dropped"))
        if rec.get('errors'):
            rows.append(('recording errors', '; '.join(f'{k}: {v}' for k, v in rec['errors'].items())))
        if rec.get('lost'):
            rows.append(('LOST', str(rec['lost'])))
    width = max(len(k) for k, _ in rows)
    lines = [f'{k:<{width}}  {v}' for k, v in rows]
    for e in summary.get('events', []):
        where = f" at ({e['x']:.2f}, {e['y']:.2f})" if e.get('x') is not None and e.get('y') is not None else ''
        lines.append(f"  {float(e.get('t', 0.0)):9.1f} s  {e.get('kind', '')}{where}: {e.get('detail', '')}"
                     + (f" [{e['source']}]" if e.get('source') else ''))
    return '\n'.join(lines)
