"""track.png (the track over shaded terrain) and the summary as a table.

The map is drawn in the world frame (x east, y north, metres) with matplotlib's Agg backend:
shaded relief of the terrain the simulator saved at the end of the drive (so the wheel ruts
show) or, failing that, of the world rebuilt from its definition (no ruts), or a plain
background, coloured by height with its scale; the wheel ruts (final minus original terrain), the
lander and ramps outlined; ground truth solid with direction arrows, odometry dashed, events as
numbered markers listed under the map, start and end, a scale bar and a north arrow (north = +y
on the selenographic map).
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


@dataclass(frozen=True)
class WorldFeatures:
    """What the world file places on the map, as outlines (world frame, m): the legend's lander and ramps."""

    lander: list[np.ndarray]  # polygons (k, 2): deck, egress ramp
    ramps: list[np.ndarray]
    rocks: list[tuple[float, float, float]]  # explicit rocks: x, y, radius
    original: TerrainView | None  # the terrain before the drive (no ruts), to find the ruts


def _polygon(rect: Any) -> np.ndarray:
    h = math.radians(rect.heading_deg)
    c, s = math.cos(h), math.sin(h)
    pts = [(a, b) for a, b in ((rect.along_lo, -rect.half_width), (rect.along_hi, -rect.half_width),
                               (rect.along_hi, rect.half_width), (rect.along_lo, rect.half_width))]
    return np.array([(rect.x + a * c - b * s, rect.y + a * s + b * c) for a, b in pts])


def world_features(world: str | None) -> WorldFeatures | None:
    """The lander, ramps and explicit rocks of the drive's world, and its terrain before the drive."""
    if not world:
        return None
    try:
        from rover_sim.terrain import build_terrain, load_world
        from rover_sim.terrain.terrain import Rect, lander_rects

        cfg = load_world(world)
        terrain = build_terrain(cfg)
    except Exception:  # no simulator package, a world that no longer loads: draw without
        return None
    lander = [] if cfg.lander is None else [_polygon(r) for k, r in lander_rects(cfg.lander).items() if k != 'corridor']
    ramps = [_polygon(Rect(r.x, r.y, r.heading_deg, 0.0, r.length_m + r.plateau_m, r.width_m / 2)) for r in cfg.ramps]
    rocks = [(r.x, r.y, r.diameter_m / 2) for r in cfg.rocks]
    original = TerrainView(np.asarray(terrain.heights, dtype=float), float(terrain.origin_xy[0]),
                           float(terrain.origin_xy[1]), float(terrain.resolution), f'world {terrain.name}')
    return WorldFeatures(lander, ramps, rocks, original)


def rut_mask(final: TerrainView, original: TerrainView | None, depth_m: float = 0.003) -> np.ndarray | None:
    """Where the drive pressed the ground down by more than depth_m (the wheel ruts), on final's grid."""
    if original is None or final.resolution != original.resolution:
        return None
    j0 = round((final.x0 - original.x0) / final.resolution)
    i0 = round((final.y0 - original.y0) / final.resolution)
    ny, nx = final.heights.shape
    if i0 < 0 or j0 < 0 or i0 + ny > original.heights.shape[0] or j0 + nx > original.heights.shape[1]:
        return None
    sunk = original.heights[i0:i0 + ny, j0:j0 + nx] - final.heights > depth_m
    return sunk if sunk.any() else None


def group_events(events: list[dict[str, Any]], radius_m: float) -> list[tuple[float, float, list[int]]]:
    """Events closer than radius_m share one numbered marker: (x, y, [event numbers from 1])."""
    groups: list[tuple[float, float, list[int]]] = []
    for n, e in enumerate(events, start=1):
        for gx, gy, members in groups:
            if math.hypot(e['x'] - gx, e['y'] - gy) < radius_m:
                members.append(n)
                break
        else:
            groups.append((float(e['x']), float(e['y']), [n]))
    return groups


def _numbers(members: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3,5'."""
    parts, run = [], [members[0]]
    for n in members[1:]:
        if n == run[-1] + 1:
            run.append(n)
        else:
            parts.append(run)
            run = [n]
    parts.append(run)
    return ','.join(f'{r[0]}-{r[-1]}' if len(r) > 2 else ','.join(map(str, r)) for r in parts)


def direction_arrows(xs: np.ndarray, ys: np.ndarray, every_m: float) -> list[tuple[float, float, float, float]]:
    """(x, y, dx, dy) unit arrows every `every_m` of path, pointing the way the rover went."""
    steps = np.hypot(np.diff(xs), np.diff(ys))
    along = np.concatenate([[0.0], np.cumsum(steps)])
    arrows = []
    target = every_m / 2
    for i, step in enumerate(steps):
        while step > 1e-9 and along[i + 1] >= target:
            f = (target - along[i]) / step
            dx, dy = (xs[i + 1] - xs[i]) / step, (ys[i + 1] - ys[i]) / step
            arrows.append((xs[i] + f * (xs[i + 1] - xs[i]), ys[i] + f * (ys[i + 1] - ys[i]), dx, dy))
            target += every_m
    return arrows


MAX_EVENT_ROWS = 14  # events listed under the map; the rest are counted (all are in summary.json)


def draw_track_map(run_dir: Path | str, out: Path | str | None = None, dpi: int = 150) -> Path:
    """Draw RUN_DIR/track.png (or `out`); returns the path. Raises FileNotFoundError without a track.

    Terrain shaded and coloured by height (with its scale), wheel ruts, the lander's deck and
    egress ramp and the world's ramps and rocks outlined, the track with arrows in the direction
    of travel, odometry dashed, events as numbered markers listed under the map (events at one
    place share a marker), start and end on top of everything.
    """
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib.colors import LightSource, ListedColormap, Normalize
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon
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

    listed = events[:MAX_EVENT_ROWS]
    table_rows = len(listed) + (1 if len(events) > len(listed) else 0)
    map_in = 6.4  # the square map, inches; under it the axis label, the event list and the footer
    below_in = 0.8 + 0.17 * table_rows + (0.15 if table_rows else 0.0)
    fig_h = map_in + below_in + 0.45
    fig = plt.figure(figsize=(8.6, fig_h))
    map_bottom = below_in / fig_h
    ax = fig.add_axes((0.09, map_bottom, map_in / 8.6, map_in / fig_h))
    cax = fig.add_axes((0.09 + map_in / 8.6 + 0.03, map_bottom + 0.1 * map_in / fig_h, 0.025, 0.8 * map_in / fig_h))
    handles: list[Any] = []
    world = world_features(summary.get('world'))
    terrain = find_terrain(run_dir, summary.get('world'))
    if terrain is not None:
        view = terrain.crop(x_lo, x_hi, y_lo, y_hi)
        light = LightSource(azdeg=300.0, altdeg=25.0)  # low sun from the north-west, as on the Moon's surface photos
        # the scale spans the ground as the world made it (ruts, a few cm, must not set it), robustly
        before = world.original.crop(x_lo, x_hi, y_lo, y_hi) if world and world.original else view
        lo, hi = (float(v) for v in np.percentile(before.heights, [0.5, 99.5]))
        if hi - lo < 0.01:
            lo, hi = (lo + hi) / 2 - 0.005, (lo + hi) / 2 + 0.005
        cmap = plt.get_cmap('cividis')
        norm = Normalize(lo, hi)
        rgb = light.shade(view.heights, cmap=cmap, norm=norm, blend_mode='soft', vert_exag=3.0,
                          dx=view.resolution, dy=view.resolution)
        ax.imshow(rgb, origin='lower', extent=view.extent, interpolation='bilinear')
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax)
        bar.set_label('terrain height (m)')
        ruts = rut_mask(view, world.original.crop(x_lo, x_hi, y_lo, y_hi) if world and world.original else None)
        if ruts is not None:
            ax.imshow(np.where(ruts, 1.0, np.nan), origin='lower', extent=view.extent, interpolation='nearest',
                      cmap=ListedColormap(['#7b3f00']), alpha=0.6, vmin=0.0, vmax=1.0)
            handles.append(Patch(color='#7b3f00', alpha=0.6, label='wheel ruts (> 3 mm deep)'))
        terrain_note = f'terrain: {view.source}'
    else:
        ax.set_facecolor('#8a8a8a')
        cax.set_axis_off()
        terrain_note = 'terrain: not available'
    if world is not None:
        for i, poly in enumerate(world.lander):
            ax.add_patch(Polygon(poly, closed=True, fill=False, ec='#f1faee', lw=1.6, hatch='//' if i == 0 else None))
        if world.lander:
            handles.append(Patch(fill=False, ec='#f1faee', hatch='//', label='lander deck and egress ramp'))
        for poly in world.ramps:
            ax.add_patch(Polygon(poly, closed=True, fill=False, ec='#c77dff', lw=1.6, ls='--'))
        if world.ramps:
            handles.append(Patch(fill=False, ec='#c77dff', ls='--', label='ramp (foot to plateau end)'))
        for x, y, r in world.rocks:
            ax.add_patch(plt.Circle((x, y), r, fill=False, ec='#ff595e', lw=1.2))
        if world.rocks:
            handles.append(Line2D([], [], ls='', marker='o', mfc='none', mec='#ff595e', label='rock (world file)'))
    truth_label = 'ground truth' if rows[0].get('source') != 'odom' else 'track'
    ax.plot(xs, ys, '-', color='#ff9f1c', lw=2.0, zorder=3)
    handles.append(Line2D([], [], color='#ff9f1c', lw=2.0, marker='>', ms=6, label=f'{truth_label}, arrows: direction'))
    arrows = direction_arrows(xs, ys, every_m=max(0.25, 2.0 * half / 12.0))
    if arrows:
        ax_, ay_, adx, ady = (np.array(v) for v in zip(*arrows, strict=True))
        ax.quiver(ax_, ay_, adx, ady, color='#ff9f1c', ec='k', lw=0.4, angles='xy', scale_units='inches', scale=6.0,
                  width=0.008, headwidth=3.5, headlength=3.5, headaxislength=3.0, pivot='mid', zorder=4)
    if odom:
        ox, oy = zip(*odom, strict=True)
        ax.plot(ox, oy, '--', color='#2ec4f1', lw=1.4, zorder=3)
        handles.append(Line2D([], [], color='#2ec4f1', ls='--', lw=1.4, label='wheel odometry'))
    for gx, gy, members in group_events(events, radius_m=0.04 * 2.0 * half):
        ax.plot(gx, gy, 'o', color='#ffd60a', ms=7, mec='k', zorder=5)
        ax.annotate(_numbers(members), (gx, gy), xytext=(5, 5), textcoords='offset points', fontsize=8,
                    fontweight='bold', color='k', zorder=6,
                    bbox={'boxstyle': 'round,pad=0.15', 'fc': '#ffd60a', 'alpha': 0.85, 'lw': 0})
    if events:
        handles.append(Line2D([], [], ls='', marker='o', color='#ffd60a', mec='k', label='events (numbered, below)'))
    ax.plot(xs[0], ys[0], '^', color='#3ddc84', ms=11, mec='k', zorder=7)
    ax.plot(xs[-1], ys[-1], 's', color='#e63946', ms=10, mec='w', mew=1.5, zorder=8)
    handles.append(Line2D([], [], ls='', marker='^', color='#3ddc84', mec='k', ms=8, label='start'))
    handles.append(Line2D([], [], ls='', marker='s', color='#e63946', mec='w', ms=8, label='end'))
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect('equal')
    ax.set_xlabel('x east (m, world)')
    ax.set_ylabel('y north (m, world)')
    bar_m = _nice_length(2.0 * half)
    ax.add_artist(AnchoredSizeBar(ax.transData, bar_m, f'{bar_m:g} m', loc='lower left', pad=0.6, color='w',
                                  frameon=False, size_vertical=bar_m / 30.0))
    ax.annotate('N', xy=(0.94, 0.95), xytext=(0.94, 0.83), xycoords='axes fraction', ha='center', va='center',
                fontsize=13, fontweight='bold', color='w',
                arrowprops={'arrowstyle': '-|>', 'color': 'w', 'lw': 2.0})
    ax.legend(handles=handles, loc='upper left', fontsize=7, framealpha=0.75)
    world_name = Path(str(summary.get('world') or 'drive')).stem
    title = f"{world_name}: {summary.get('distance_m', float('nan')):.2f} m in " \
            f"{summary.get('sim_time_s', float('nan')):.0f} s (sim)"
    ax.set_title(title)
    y_text = map_bottom - 0.68 / fig_h
    for n, e in enumerate(listed, start=1):
        line = f"{n:>2}  {float(e.get('t', 0.0)):7.1f} s  {e.get('kind', '')}: {e.get('detail', '')}"
        line = line if len(line) <= 115 else line[:112] + '...'  # fits the figure's width
        fig.text(0.09, y_text, line, fontsize=7.5, family='monospace')
        y_text -= 0.17 / fig_h
    if len(events) > len(listed):
        fig.text(0.09, y_text, f'    ... {len(events) - len(listed)} more events in summary.json', fontsize=7.5,
                 family='monospace')
    origin = summary.get('origin') or {}
    foot = terrain_note
    if origin.get('lon_deg') is not None and origin.get('lat_deg') is not None:
        lon, lat = float(origin['lon_deg']), float(origin['lat_deg'])
        foot += (f" | world origin {abs(lon):.3f} {'E' if lon >= 0 else 'W'}, {abs(lat):.3f} {'N' if lat >= 0 else 'S'}"
                 ' (IAU 2015 Moon sphere)')
    fig.text(0.01, 0.005, foot, fontsize=7, color='#444444')
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


def _worst_diagnostic(summary: dict[str, Any]) -> str:
    """'WARN (/slope_guard: slowing, held 12.0 s from t=30.0 s)': the most severe level held >= 1 s."""
    level = str(summary.get('worst_diagnostic_level', '-'))
    worst = summary.get('worst_diagnostic') or {}
    if level in ('-', 'OK') or not worst.get('name'):
        return f'{level} (nothing held 1 s or more)' if level == 'OK' else level
    held = '' if worst.get('held_s') is None else f", held {worst['held_s']:.1f} s"
    since = '' if worst.get('since_s') is None else f" from t={worst['since_s']:.1f} s"
    return f"{level} ({worst['name']}: {worst.get('message', '')}{held}{since})"


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
        ('worst diagnostic', _worst_diagnostic(summary)),
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
