"""The regolith catalogue: named soils as data (`worlds/soils/soils.yaml`), chosen by a world's `soil:` key.

`lss` is the generic lunar soil simulant of ROVER_SPEC section 1; `change4` holds in-situ estimates
for the Chang'e-4 site (Yutu-2 wheel-soil data), the default world's soil and the soil of any world
that names none. The file says, per value, which paper it comes from and which values are assumed;
docs/simulator.md ("Soils") explains the choice.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from rover_sim.terramechanics import Soil

DEFAULT_SOIL = 'change4'
SOILS_FILE = 'soils/soils.yaml'
_NUMBERS = ('k_c', 'k_phi', 'n', 'cohesion', 'friction_deg', 'shear_k', 'density')
_TEXT = ('description', 'sources')


@functools.cache
def _catalogue() -> dict[str, dict[str, Any]]:
    from rover_description.paths import data_file

    data = yaml.safe_load(data_file('worlds', SOILS_FILE).read_text())
    if not isinstance(data, dict) or not data:
        raise ValueError(f'{SOILS_FILE}: must map soil names to their parameters')
    return data


def soil_names() -> tuple[str, ...]:
    """The soils a world may name (`soil: <name>`)."""
    return tuple(sorted(_catalogue()))


@functools.cache
def load_soil(name: str = DEFAULT_SOIL) -> Soil:
    """The `Soil` of a catalogue entry; raises ValueError for an unknown name or a bad entry."""
    entry = _catalogue().get(name)
    if not isinstance(entry, dict):
        raise ValueError(f'unknown soil {name!r}; expected one of {", ".join(soil_names())}')
    unknown = sorted(str(k) for k in entry if k not in _NUMBERS + _TEXT)
    if unknown:
        raise ValueError(f'soil {name!r}: unknown key {unknown[0]!r} (allowed: {", ".join(_NUMBERS + _TEXT)})')
    missing = [k for k in _NUMBERS if k not in entry]
    if missing:
        raise ValueError(f'soil {name!r}: missing {", ".join(missing)}')
    values = {}
    for key in _NUMBERS:
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f'soil {name!r}: {key} must be a number, got {value!r}')
        values[key] = float(value)
    return Soil(**values)
