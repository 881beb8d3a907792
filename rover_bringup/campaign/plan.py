"""Which drives a campaign runs, where each one writes, and the `rover run` arguments for it.

A drive is one (world, scenario, seed). The seed is both the simulator's sensor-noise seed and
the world's terrain seed (`rover run --seed N --terrain-seed N`): every seed is a different
terrain with the same crater and rock statistics, and the same seed is the same drive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

RUNS_DIR = 'runs'


def _slug(ref: str) -> str:
    """A folder-safe name for a world or scenario given by name or by file."""
    stem = Path(ref).stem if ref.endswith(('.yaml', '.yml')) else ref
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', stem).strip('_') or 'x'


@dataclass(frozen=True)
class Drive:
    """One drive of a campaign."""

    world: str
    scenario: str
    seed: int

    @property
    def key(self) -> str:
        """The drive's folder name under DIR/runs/: unique within a campaign."""
        return f'{_slug(self.world)}-{_slug(self.scenario)}-s{self.seed:04d}'

    def run_args(self, out: Path, duration_s: float | None, params: tuple[str, ...]) -> list[str]:
        """`rover run` arguments (after the `rover` executable) for this drive."""
        args = ['run', '--world', self.world, '--scenario', self.scenario, '--seed', str(self.seed),
                '--terrain-seed', str(self.seed), '--out', str(out), '--quiet']
        if duration_s is not None:
            args += ['--duration', repr(float(duration_s))]
        for path in params:
            args += ['--params', path]
        return args


def plan_drives(worlds: list[str], scenarios: list[str], seeds: list[int]) -> list[Drive]:
    """Every combination, world-major, so the CSV reads in the order the user named things."""
    drives = [Drive(w, s, seed) for w in worlds for s in scenarios for seed in seeds]
    keys = [d.key for d in drives]
    if len(set(keys)) != len(keys):
        raise ValueError('two worlds or scenarios share a name; give them distinct file names')
    return drives


def parse_seeds(text: str) -> list[int]:
    """`--seeds N` is seeds 0..N-1; `A-B` is A..B inclusive; `1,5,9` is a list."""
    text = text.strip()
    try:
        if re.fullmatch(r'\d+', text):
            count = int(text)
            if count < 1:
                raise ValueError
            return list(range(count))
        if re.fullmatch(r'\d+-\d+', text):
            lo, hi = (int(v) for v in text.split('-'))
            if hi < lo:
                raise ValueError
            return list(range(lo, hi + 1))
        seeds = [int(v) for v in text.split(',')]
    except ValueError:
        raise ValueError(f'--seeds {text!r}: give a count N (seeds 0..N-1), a range A-B or a list 1,5,9') from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f'--seeds {text!r}: seeds are distinct whole numbers >= 0')
    return seeds


def drive_dir(campaign_dir: Path, drive: Drive) -> Path:
    return campaign_dir / RUNS_DIR / drive.key


def is_done(campaign_dir: Path, drive: Drive) -> bool:
    """`--resume` skips a drive whose summary exists (the logger writes it last, atomically)."""
    return (drive_dir(campaign_dir, drive) / 'summary.json').is_file()
