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


@lru_cache(maxsize=256)
def _msg_text(package: str, name: str) -> str:
    return _find(package, name, '.msg', _prefixes()).read_text(encoding='utf-8')


@lru_cache(maxsize=128)
def full_definition(type_name: str) -> str:
    """The concatenated ros2msg schema text for `type_name` (e.g. 'nav_msgs/msg/Odometry')."""
    package, name = split_type(type_name)
    seen: set[str] = set()

    def expand(pkg: str, typ: str, depth: int) -> str:
        if depth > 50:
            raise RecursionError(f'message definition of {type_name} nests too deeply')
        text = _msg_text(pkg, typ)
        out = text
        for dep in dependencies(text, pkg):
            if dep in seen:
                continue
            seen.add(dep)
            dep_pkg, dep_name = split_type(dep)
            out += '\n' + SEPARATOR + f'MSG: {dep}\n' + expand(dep_pkg, dep_name, depth + 1)
        return out

    return expand(package, name, 0)


@lru_cache(maxsize=128)
def type_hash(type_name: str) -> str:
    """The RIHS01 type description hash of a type, or '' when its .json is not installed."""
    package, name = split_type(type_name)
    try:
        path = _find(package, name, '.json', _prefixes())
        data = json.loads(path.read_text(encoding='utf-8'))
    except (DefinitionNotFoundError, OSError, ValueError):
        return ''
    full = f'{package}/msg/{name}'
    for entry in data.get('type_hashes', []):
        if entry.get('type_name') == full:
            return str(entry.get('hash_string', ''))
    return ''


def type_name_of(msg_class: type) -> str:
    """'pkg/msg/Type' of a generated rclpy message class."""
    module = msg_class.__module__.split('.')
    return f'{module[0]}/msg/{msg_class.__name__}'
