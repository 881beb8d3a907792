"""Where the package's data lives, on both tiers (the lowest layer, so every other layer may ask).

One rule for all: data is read from beside the code that reads it. Running from the source tree
(the embedded tier's editable pip install, or a tier-1 `colcon build --symlink-install`), that is
the source tree's launch/config/urdf/worlds/scenarios folders. Running from a copying colcon
install (site-packages has no data beside it), it is `share/rover_testbed/<kind>`, found through
the ament index (`ament_index_python`, when importable and the package is indexed there).
Every module asks here instead of building paths from `__file__` (test_package checks that).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = 'rover_testbed'
REPO_ROOT = Path(__file__).resolve().parent.parent

# share/<pkg>/<kind> on tier 1  ->  folder in the source tree
_SOURCE_DIRS = {
    'launch': REPO_ROOT / 'rover_bringup' / 'launch',
    'config': REPO_ROOT / 'rover_bringup' / 'config',
    'scenarios': REPO_ROOT / 'rover_bringup' / 'scenarios',
    'urdf': REPO_ROOT / 'rover_description' / 'urdf',
    'worlds': REPO_ROOT / 'worlds',
}


def _share_dir() -> Path | None:
    if not os.environ.get('AMENT_PREFIX_PATH'):
        return None
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except PackageNotFoundError:
        return None


def data_dir(kind: str) -> Path:
    """The folder holding one kind of data: launch, config, scenarios, urdf or worlds."""
    if kind not in _SOURCE_DIRS:
        raise ValueError(f'unknown data kind {kind!r}; expected one of {sorted(_SOURCE_DIRS)}')
    source = _SOURCE_DIRS[kind]
    if source.is_dir():
        return source
    share = _share_dir()
    if share is not None and (share / kind).is_dir():
        return share / kind
    raise FileNotFoundError(f'cannot find the {kind} folder of {PACKAGE} (looked in {source})')


def data_file(kind: str, name: str) -> Path:
    """A file in one of the data folders, with a clear error when it is missing."""
    path = data_dir(kind) / name
    if not path.is_file():
        available = sorted(p.name for p in data_dir(kind).iterdir() if p.is_file())
        raise FileNotFoundError(f'{kind} file {name!r} not found; available: {available}')
    return path


def named(kind: str) -> list[str]:
    """The names a user can type for a kind of YAML data (`worlds` -> ['change4', 'flat', ...])."""
    return sorted(p.stem for p in data_dir(kind).glob('*.yaml'))


def named_file(kind: str, name: str, what: str) -> Path:
    """The YAML file behind a name a user typed (`--world flat`); FileNotFoundError lists the names.

    `what` is the option's noun ('world', 'scenario'). A generated file's name (`change4.sdf`)
    gets a hint to type the name instead.
    """
    path = data_dir(kind) / f'{name}.yaml'
    if path.is_file():
        return path
    names = named(kind)
    stem = Path(name).stem
    hint = ''
    if stem != name and stem in names:
        hint = f' ({name!r} is generated from the {what} {stem!r}: type --{what} {stem})'
    raise FileNotFoundError(f'no {what} named {name!r}{hint}; named {what}s: {", ".join(names)}; '
                            f'or give a YAML file (see docs/formats.md)')
