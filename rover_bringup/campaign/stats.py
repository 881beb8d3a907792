"""Campaign statistics: means with confidence intervals, spreads, and rates with Wilson intervals.

Drives are deterministic given their seed, so these numbers are exact and repeatable for a set
of seeds; the intervals say how far they might move with another set of seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import math
from typing import Any

Z95 = 1.959963984540054  # two-sided 95 % normal quantile

# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom (beyond: the normal one).
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t95(dof: int) -> float:
    """The two-sided 95 % Student t quantile (the normal one beyond 30 degrees of freedom)."""
    if dof < 1:
        return math.inf
    return _T95[dof - 1] if dof <= len(_T95) else Z95


def describe(values: Iterable[float]) -> dict[str, Any]:
    """n, mean, sample std, min, max and the 95 % interval of the mean (None where undefined)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return {'n': 0, 'mean': None, 'std': None, 'min': None, 'max': None, 'ci95': None}
    mean = math.fsum(xs) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    half = t95(n - 1) * std / math.sqrt(n) if std is not None else None
    return {'n': n, 'mean': mean, 'std': std, 'min': min(xs), 'max': max(xs),
            'ci95': None if half is None else [mean - half, mean + half]}


def wilson(successes: int, trials: int) -> dict[str, Any]:
    """A rate with its 95 % Wilson score interval (good at 0 % and 100 %, unlike the normal one)."""
    if trials <= 0:
        return {'count': successes, 'of': trials, 'rate': None, 'ci95': None}
    if not 0 <= successes <= trials:
        raise ValueError(f'{successes} successes out of {trials} trials')
    p = successes / trials
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # the interval holds p exactly; clamp the rounding at 0 % and 100 %
    return {'count': successes, 'of': trials, 'rate': p,
            'ci95': [max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))]}


NUMERIC = ('distance_m', 'max_tilt_deg', 'max_speed_mps', 'mean_slip', 'odom_drift_m', 'wall_time_s')
# Rates over the drives that finished: (name, row key; a drive counts when the key is > 0).
RATES = (
    ('drives_with_obstacle_stop', 'stops_obstacle'),
    ('drives_with_false_obstacle_stop', 'false_obstacle_stops'),
    ('drives_with_rock_miss', 'rock_misses'),
    ('drives_with_slope_stop', 'stops_slope'),
    ('drives_with_early_slope_stop', 'early_slope_stops'),
)


def group_stats(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Statistics of one group of drives (all, one world or one scenario)."""
    ok = [r for r in rows if r.get('status') == 'ok']
    stats: dict[str, Any] = {
        'drives': len(rows),
        'status': {s: sum(1 for r in rows if r.get('status') == s) for s in ('ok', 'failed', 'timeout')},
        'completion': wilson(len(ok), len(rows)),
    }
    for key in NUMERIC:
        stats[key] = describe(r.get(key) for r in ok)
    for name, key in RATES:
        stats[name] = wilson(sum(1 for r in ok if (r.get(key) or 0) > 0), len(ok))
    obstacle_stops = sum(int(r.get('stops_obstacle') or 0) for r in ok)
    false_stops = sum(int(r.get('false_obstacle_stops') or 0) for r in ok)
    stats['false_obstacle_stop_share'] = wilson(false_stops, obstacle_stops)
    return stats


def campaign_stats(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals plus per-world and per-scenario statistics, as campaign.json holds them."""
    def by(key: str) -> dict[str, Any]:
        names = list(dict.fromkeys(str(r[key]) for r in rows))
        return {name: group_stats([r for r in rows if str(r[key]) == name]) for name in names}

    return {'totals': group_stats(rows), 'per_world': by('world'), 'per_scenario': by('scenario')}
