"""`rover run --params FILE`: ROS 2 parameter files, checked before a drive starts.

A parameters file is what `--params-file` takes on the full ROS 2 tier: top-level sections
naming the nodes they apply to (`/**` for every node, `NAME`, `/NAME` or `/**/NAME` for one),
each with a `ros__parameters` mapping. `rover run` appends user files after
`config/rover.yaml`, so their values win, and passes the same files to every node of the drive.

Nodes ignore keys they do not declare, so a typo (`max_linar_speed`) would silently do nothing
there. Here every key must be declared by a node it reaches, every value must pass that node's
own schema (type and range), and keys that `rover run` sets from its own options are refused
with the option to use instead. A bad file raises ConfigError naming the file, section and key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import importlib
from pathlib import Path
from typing import Any

import yaml

from rover_bringup.graph import NodeSpec
from rover_nav.runtime.params import ConfigError, ParamSpec, check_value

MAX_FILE_BYTES = 1_000_000  # a parameters file is a page of YAML; a larger one is a mistake
ALL_NODES = '/**'

# Keys `rover run` sets itself for each drive, with the option that sets them.
RUNNER_OWNED = {
    'use_sim_time': 'lockstep or --realtime',
    'world': '--world',
    'scenario': '--scenario',
    'output_dir': '--out',
    'mode': '--realtime',
    'seed': '--seed',
    'terrain_seed': '--terrain-seed',
}


def node_specs(spec: NodeSpec) -> dict[str, ParamSpec]:
    """The parameter schema a node declares (its module's SPECS or PARAMS table)."""
    module = importlib.import_module(spec.module)
    table = getattr(module, 'SPECS', None) or getattr(module, 'PARAMS', None)
    if table is None:  # pragma: no cover - a node module without a schema is a programming error
        raise TypeError(f'{spec.module} has no SPECS or PARAMS table')
    return {p.name: p for p in table}


def _describe(value: Any) -> str:
    """A short, bounded description of a YAML value for an error message (never a full repr)."""
    if isinstance(value, (bool, int, float)) or value is None:
        text = repr(value)
    elif isinstance(value, str):
        text = repr(value if len(value) <= 40 else value[:40] + '...')
    else:
        text = f'a {type(value).__name__}'
    return text if len(text) <= 60 else text[:60] + '...'


def _flatten(prefix: str, mapping: Mapping[str, Any], out: dict[str, Any]) -> None:
    """ROS flattens nested parameter mappings to dotted names (`a: {b: 1}` is `a.b`)."""
    for key, value in mapping.items():
        name = f'{prefix}{key}'
        if isinstance(value, Mapping):
            _flatten(f'{name}.', value, out)
        else:
            out[name] = value


def load_params_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read one parameters file: {section: {parameter: value}}; ConfigError names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'--params {path}: no such file')
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f'--params {path}: larger than {MAX_FILE_BYTES // 1000} kB; not a parameters file')
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f'--params {path}: not valid YAML: {exc}') from exc
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"--params {path}: expected sections like '/**: {{ros__parameters: {{...}}}}'")
    sections: dict[str, dict[str, Any]] = {}
    for section, body in data.items():
        where = f'--params {path}: section {section!r}'
        if not isinstance(section, str):
            raise ConfigError(f'{where}: a section is a node name or /**')
        if not isinstance(body, Mapping) or set(body) != {'ros__parameters'}:
            raise ConfigError(f'{where}: needs exactly one key, ros__parameters')
        params = body['ros__parameters']
        if not isinstance(params, Mapping):
            raise ConfigError(f'{where}: ros__parameters must be a mapping of parameter: value')
        flat: dict[str, Any] = {}
        _flatten('', params, flat)
        sections[section] = flat
    return sections


def section_node(section: str) -> str | None:
    """The node name a section applies to, or None for every node (`/**`)."""
    if section == ALL_NODES:
        return None
    for prefix in ('/**/', '/'):
        if section.startswith(prefix):
            return section[len(prefix):]
    return section


def check_params_files(paths: Iterable[str | Path], nodes: Iterable[NodeSpec]) -> None:
    """Every section names a node of the drive, every key is declared there, every value fits."""
    nodes = tuple(nodes)
    schemas = {spec.name: node_specs(spec) for spec in nodes}
    for path in paths:
        for section, values in load_params_file(path).items():
            name = section_node(section)
            if name is not None and name not in schemas:
                raise ConfigError(f'--params {path}: section {section!r} names no node of the drive; '
                                  f'nodes are {ALL_NODES} or {sorted(schemas)}')
            targets = schemas if name is None else {name: schemas[name]}
            for key, value in values.items():
                where = f'--params {path}: {section}: {key}'
                if key in RUNNER_OWNED:
                    raise ConfigError(f'{where}: set by rover run itself; use {RUNNER_OWNED[key]}')
                declaring = {node: table[key] for node, table in targets.items() if key in table}
                if not declaring:
                    raise ConfigError(f"{where}: unknown parameter '{key}' (declared by no node "
                                      f"{'of the drive' if name is None else name})")
                if isinstance(value, (list, tuple)) and not all(
                        isinstance(v, (bool, int, float, str)) for v in value):
                    raise ConfigError(f'{where}: a list parameter holds only numbers, booleans or strings')
                for node, spec in declaring.items():
                    try:
                        check_value(spec, value)
                    except ConfigError as exc:
                        raise ConfigError(f'{where} = {_describe(value)} rejected by {node}: {exc}') from None


def check_hard_limits(paths: Iterable[str | Path], nodes: Iterable[NodeSpec], profile: str | None = None) -> None:
    """No value a node receives may exceed the rover description's hard limits (`HardLimits`).

    Checked for the nodes that enforce them (`NodeSpec.hard_limited`), on the value each gets
    after every file (later files win), as the node itself would refuse it at start-up (exit 2):
    a drive must not start only to lose its limiter. `profile` is the one `rover run` sets on the
    nodes that read the description; the others use their files' `profile` (default yutu2). The
    ConfigError names the file, section, key, value and limit.
    """
    from rover_description.geometry import PROFILES, load_geometry
    from rover_nav.runtime.shared_params import parameter_ceilings

    paths = list(paths)
    loaded = [(path, load_params_file(path)) for path in paths]
    for spec in nodes:
        if not spec.hard_limited:
            continue
        schema = node_specs(spec)
        origin: dict[str, tuple[Any, str]] = {}  # key -> (effective value, where it was set)
        for path, sections in loaded:
            for section, values in sections.items():
                if section_node(section) in (None, spec.name):
                    origin.update({k: (v, f'{path}: {section}: {k}') for k, v in values.items()})
        node_profile = profile if profile and spec.uses_geometry else origin.get('profile', ('yutu2', ''))[0]
        if node_profile not in PROFILES:
            continue  # the profile itself is refused by the node's schema
        for key, ceiling in parameter_ceilings(load_geometry(node_profile).limits.ceilings()).items():
            value, where = origin.get(key, (None, ''))
            if key not in schema or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if value > ceiling:
                raise ConfigError(f'{where} = {_describe(value)} is above the hard limit {ceiling} of the rover '
                                  f'description (profile {node_profile!r}), enforced by {spec.name}; set it at '
                                  'most to the limit')


def effective_values(paths: Iterable[str | Path], node: str) -> dict[str, Any]:
    """The values one node gets from the files, in order: later files and later sections win."""
    values: dict[str, Any] = {}
    for path in paths:
        for section, params in load_params_file(path).items():
            if section_node(section) in (None, node):
                values.update(params)
    return values
