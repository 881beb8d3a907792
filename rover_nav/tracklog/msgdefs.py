"""Full ROS 2 message definitions (`ros2msg` schema text) and type hashes for MCAP channels.

rosbag2 and Foxglove decode CDR with the schema text: the type's own `.msg` followed by every
type it depends on, each after a separator line and `MSG: pkg/Type`, the layout rosbag2's MCAP
plugin writes. mcap-ros2-support's writer leaves building this text to the caller, so we read the
installed `share/<pkg>/msg/<Type>.msg` files (from the ament prefixes, then this interpreter's
prefix, where the pip ROS wheels install them). The RIHS01 type hash comes from the
`<Type>.json` type description installed next to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
import json
import os
from pathlib import Path
import re
import sys
from typing import Any

SEPARATOR = '=' * 80 + '\n'
PRIMITIVES = frozenset({'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16',
                        'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring'})
_TYPE_RE = re.compile(r'^([a-zA-Z][a-zA-Z0-9_]*)/(?:msg/)?([a-zA-Z][a-zA-Z0-9_]*)$')


class DefinitionNotFoundError(LookupError):
    """No installed .msg file for a type."""


def _prefixes() -> list[Path]:
    prefixes = [Path(p) for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    prefixes.append(Path(sys.prefix))
    return prefixes


def split_type(type_name: str) -> tuple[str, str]:
    """'geometry_msgs/msg/Twist' or 'geometry_msgs/Twist' -> ('geometry_msgs', 'Twist')."""
    match = _TYPE_RE.match(type_name)
    if not match:
        raise ValueError(f'not a ROS message type name: {type_name!r}')
    return match.group(1), match.group(2)


def _find(package: str, name: str, suffix: str, prefixes: Iterable[Path]) -> Path:
    for prefix in prefixes:
        path = prefix / 'share' / package / 'msg' / f'{name}{suffix}'
        if path.is_file():
            return path
    raise DefinitionNotFoundError(f'no {package}/msg/{name}{suffix} under {[str(p) for p in prefixes]}')


def dependencies(text: str, package: str) -> list[str]:
    """Non-primitive field types of a .msg text, as 'pkg/Type', sorted (constants and comments skipped)."""
    deps: set[str] = set()
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 or '=' in parts[1] or (len(parts) > 2 and parts[2].startswith('=')):
            continue  # constant declaration
        base = re.split(r'[\[<]', parts[0], maxsplit=1)[0]
        if base in PRIMITIVES:
            continue
        deps.add(base if '/' in base else f'{package}/{base}')
    return sorted(deps)


#: Standard definitions of types whose packages have no PyPI wheel (tf2_msgs), as in ROS 2 Jazzy.
EMBEDDED = {
    ('tf2_msgs', 'TFMessage'): 'geometry_msgs/TransformStamped[] transforms\n',
}


@lru_cache(maxsize=256)
def msg_text(package: str, name: str) -> str:
    """The `.msg` text of package/name: installed, else one of the standard `EMBEDDED` definitions."""
    try:
        return _find(package, name, '.msg', _prefixes()).read_text(encoding='utf-8')
    except DefinitionNotFoundError:
        if (package, name) in EMBEDDED:
            return EMBEDDED[(package, name)]
        raise


@lru_cache(maxsize=128)
def full_definition(type_name: str) -> str:
    """The concatenated ros2msg schema text for `type_name` (e.g. 'nav_msgs/msg/Odometry')."""
    package, name = split_type(type_name)
    seen: set[str] = set()

    def expand(pkg: str, typ: str, depth: int) -> str:
        if depth > 50:
            raise RecursionError(f'message definition of {type_name} nests too deeply')
        text = msg_text(pkg, typ)
        out = text
        for dep in dependencies(text, pkg):
            if dep in seen:
                continue
            seen.add(dep)
            dep_pkg, dep_name = split_type(dep)
            out += '\n' + SEPARATOR + f'MSG: {dep}\n' + expand(dep_pkg, dep_name, depth + 1)
        return out

    return expand(package, name, 0)


#: Type descriptions of the `EMBEDDED` types: (field, rosidl FieldType id, nested type); 145 =
#: FIELD_TYPE_NESTED_TYPE_UNBOUNDED_SEQUENCE.
EMBEDDED_FIELDS = {
    'tf2_msgs/msg/TFMessage': (('transforms', 145, 'geometry_msgs/msg/TransformStamped'),),
}


def _description(type_name: str) -> dict[str, Any]:
    package, name = split_type(type_name)
    description: dict[str, Any] = json.loads(_find(package, name, '.json', _prefixes()).read_text(encoding='utf-8'))[
        'type_description_msg']
    return description


def rihs01(description: dict[str, Any]) -> str:
    """RIHS01 hash of a TypeDescription ({type_description, referenced_type_descriptions}), computed as
    rosidl_generator_type_description does: default values dropped, compact JSON, SHA-256."""
    import copy
    import hashlib

    hashable = copy.deepcopy(description)
    for td in (hashable['type_description'], *hashable['referenced_type_descriptions']):
        for f in td['fields']:
            f.pop('default_value', None)
    text = json.dumps(hashable, skipkeys=False, ensure_ascii=True, check_circular=True, allow_nan=False,
                      indent=None, separators=(', ', ': '), sort_keys=False)
    return 'RIHS01_' + hashlib.sha256(text.encode('utf-8')).hexdigest()


def composed_description(type_name: str, fields: tuple[tuple[str, int, str], ...]) -> dict[str, Any]:
    """The TypeDescription of a message whose fields are nested types with installed descriptions."""
    referenced: dict[str, dict[str, Any]] = {}
    for _name, _type_id, nested in fields:
        sub = _description(nested)
        for td in (sub['type_description'], *sub['referenced_type_descriptions']):
            referenced[td['type_name']] = td
    return {'type_description': {'type_name': type_name, 'fields': [
        {'name': n, 'type': {'type_id': t, 'capacity': 0, 'string_capacity': 0, 'nested_type_name': nested},
         'default_value': ''} for n, t, nested in fields]},
        'referenced_type_descriptions': [referenced[k] for k in sorted(referenced)]}


@lru_cache(maxsize=128)
def type_hash(type_name: str) -> str:
    """The RIHS01 type description hash of a type, or '' when its .json is not installed."""
    package, name = split_type(type_name)
    full = f'{package}/msg/{name}'
    try:
        if full in EMBEDDED_FIELDS:
            return rihs01(composed_description(full, EMBEDDED_FIELDS[full]))
        path = _find(package, name, '.json', _prefixes())
        data = json.loads(path.read_text(encoding='utf-8'))
    except (DefinitionNotFoundError, OSError, ValueError, KeyError):
        return ''
    for entry in data.get('type_hashes', []):
        if entry.get('type_name') == full:
            return str(entry.get('hash_string', ''))
    return ''


def type_name_of(msg_class: type) -> str:
    """'pkg/msg/Type' of a generated rclpy message class."""
    module = msg_class.__module__.split('.')
    return f'{module[0]}/msg/{msg_class.__name__}'
