"""Regenerate the slip-vs-slope table and plot of docs/simulator.md (not a test; takes ~15 minutes).

    .venv/bin/python test/sim/make_slip_table.py [--out docs/images/slip_vs_slope.png]

Steady slip of the simulator core (guards out of the way) on both soils, from a standing and a
rolling start, next to the independent Wong-Reece model (test/sim/reference_wong_reece.py).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
import sys


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/images/slip_vs_slope.png')
    parser.add_argument('--slopes', default='0,5,10,15,20,25,30')
    args = parser.parse_args()
    mob = _load('test_mobility')
    ref = mob.ref
    slopes = [float(s) for s in args.slopes.split(',')]
    rows = {}
    for soil in ('change4', 'lss'):
        rsoil, rwheel, mass, g = mob.reference(soil)
        for deg in slopes:
            standing = mob.steady_slip(deg, soil)
            rolling = mob.steady_slip(deg, soil, rolling=True)
            model = ref.steady_slip(deg, mass, g, rsoil, rwheel)
            rows[soil, deg] = (standing, rolling, model)
            print(f'| {soil} | {deg:g} deg | {100 * standing:.1f} % | {100 * rolling:.1f} % | {100 * model:.1f} % |',
                  flush=True)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for soil, colour in (('change4', 'tab:blue'), ('lss', 'tab:orange')):
        ax.plot(slopes, [100 * rows[soil, d][2] for d in slopes], '-', color=colour, label=f'{soil}: Wong-Reece')
        ax.plot(slopes, [100 * rows[soil, d][0] for d in slopes], 'o', color=colour,
                label=f'{soil}: simulator, standing')
        ax.plot(slopes, [100 * rows[soil, d][1] for d in slopes], 'x', color=colour, ms=9,
                label=f'{soil}: simulator, rolling')
    ax.set_xlabel('slope (deg)')
    ax.set_ylabel('steady slip (%)')
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title('Steady slip at 0.0559 m/s, guards out of the way')
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
