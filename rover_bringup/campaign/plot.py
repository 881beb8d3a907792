"""campaign.png: the distributions of a campaign and what happened on every seed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rover_bringup.campaign.stats import wilson

# Per-seed outcome, worst first: the first that applies colours the drive's cell.
OUTCOMES = (
    ('timeout', '#7f7f7f', lambda r: r['status'] == 'timeout'),
    ('failed', '#000000', lambda r: r['status'] == 'failed'),
    ('rock miss', '#d62728', lambda r: (r.get('rock_misses') or 0) > 0),
    ('false obstacle stop', '#ff7f0e', lambda r: (r.get('false_obstacle_stops') or 0) > 0),
    ('early slope stop', '#e377c2', lambda r: (r.get('early_slope_stops') or 0) > 0),
    ('obstacle stop', '#1f77b4', lambda r: (r.get('stops_obstacle') or 0) > 0),
    ('slope stop', '#9467bd', lambda r: (r.get('stops_slope') or 0) > 0),
    ('clean drive', '#2ca02c', lambda r: True),
)


def outcome(row: dict[str, Any]) -> int:
    """Index into OUTCOMES of a drive's worst outcome."""
    return next(i for i, (_, _, applies) in enumerate(OUTCOMES) if applies(row))


def draw_campaign(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    import matplotlib.pyplot as plt
    import numpy as np

    groups = list(dict.fromkeys(f"{r['world']} / {r['scenario']}" for r in rows))
    ok = [r for r in rows if r['status'] == 'ok']
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(f'Campaign: {len(rows)} drives, {len(ok)} ok, {len(rows) - len(ok)} failed or timed out')

    def strip(ax: Any, key: str, label: str) -> None:
        for i, group in enumerate(groups):
            values = [r[key] for r in ok if f"{r['world']} / {r['scenario']}" == group and r.get(key) is not None]
            if values:
                jitter = np.linspace(-0.2, 0.2, len(values)) if len(values) > 1 else [0.0]
                ax.scatter(np.full(len(values), i) + jitter, values, s=14, alpha=0.7)
                ax.hlines(np.mean(values), i - 0.3, i + 0.3, color='k', lw=1.5)
        ax.set_xticks(range(len(groups)), groups, rotation=15, fontsize=8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)

    strip(axes[0, 0], 'distance_m', 'distance driven (m); bar = mean')
    axes[0, 0].set_title('Distance per drive')
    strip(axes[0, 1], 'mean_slip', 'mean slip (1 - true / odometry distance)')
    axes[0, 1].set_title('Slip per drive')

    seeds = sorted({int(r['seed']) for r in rows})
    grid = np.full((len(groups), len(seeds)), np.nan)
    for r in rows:
        grid[groups.index(f"{r['world']} / {r['scenario']}"), seeds.index(int(r['seed']))] = outcome(r)
    ax = axes[1, 0]
    cmap = ListedColormap([c for _, c, _ in OUTCOMES])
    ax.imshow(grid, aspect='auto', cmap=cmap, vmin=-0.5, vmax=len(OUTCOMES) - 0.5, interpolation='nearest')
    ax.set_yticks(range(len(groups)), groups, fontsize=8)
    step = max(1, len(seeds) // 20)
    ax.set_xticks(range(0, len(seeds), step), [str(s) for s in seeds[::step]], fontsize=8)
    ax.set_xlabel('seed')
    ax.set_title('Outcome of every drive (worst first in the legend)')
    ax.legend(handles=[Patch(color=c, label=name) for name, c, _ in OUTCOMES], fontsize=7, loc='upper left',
              bbox_to_anchor=(1.0, 1.0))

    ax = axes[1, 1]
    rates = (('false obstacle stop', 'false_obstacle_stops'), ('rock miss', 'rock_misses'),
             ('early slope stop', 'early_slope_stops'), ('obstacle stop', 'stops_obstacle'))
    width = 0.8 / max(len(groups), 1)
    for g, group in enumerate(groups):
        members = [r for r in ok if f"{r['world']} / {r['scenario']}" == group]
        values, lows, highs = [], [], []
        for _, key in rates:
            w = wilson(sum(1 for r in members if (r.get(key) or 0) > 0), len(members))
            rate = w['rate'] or 0.0
            lo, hi = w['ci95'] or (0.0, 0.0)
            values.append(100 * rate)
            lows.append(100 * (rate - lo))
            highs.append(100 * (hi - rate))
        x = np.arange(len(rates)) + g * width
        ax.bar(x, values, width, yerr=[lows, highs], capsize=3, label=group)
    ax.set_xticks(np.arange(len(rates)) + width * (len(groups) - 1) / 2, [n for n, _ in rates], fontsize=8)
    ax.set_ylabel('% of drives (95 % Wilson interval)')
    ax.set_title('Guard outcomes per world / scenario')
    ax.legend(fontsize=7)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
