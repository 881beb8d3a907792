"""Run a ROS 2 launch file without ROS: a recording stand-in for `launch` and `launch_ros`.

The embedded tier has no `launch`/`launch_ros`, yet a mistake in a launch file must fail
`make test` here. `load_launch_file(path)` executes the file against stand-in modules whose
classes accept exactly the keyword arguments of the real Jazzy API (a misspelt keyword or an
unknown class fails), calls `generate_launch_description()`, and returns what it declared:
launch arguments with their defaults and descriptions, and every Node with its parameters and
remappings, substitutions resolved against the argument defaults. The tests then check those
against setup.py, package.xml, the data folders and the nodes' declared parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import importlib.util
import os
from pathlib import Path
import sys
import types
from typing import Any

import yaml

SHARE_PREFIX = '<share>'
#: package -> a real share folder (the test builds rover_testbed's from setup.py's data_files)
SHARE_DIRS: dict[str, str] = {}


def share_directory(package: str) -> str:
    return SHARE_DIRS.get(package, f'{SHARE_PREFIX}{package}')


class Recorded:
    """Base of every stand-in: keeps the call's arguments."""

    ARGS: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.ARGS
        if len(args) > len(names):
            raise TypeError(f'{type(self).__name__}() takes at most {len(names)} positional arguments')
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f'{type(self).__name__}() got unexpected keyword argument(s) {sorted(unknown)}')
        self.kw = dict(zip(names, args, strict=False))
        self.kw.update(kwargs)


def _cls(name: str, args: str, base: type = Recorded) -> type:
    return type(name, (base,), {'ARGS': tuple(a for a in args.split() if a)})


_NODE_ARGS = ('executable package name namespace exec_name parameters remappings ros_arguments arguments '
              'output respawn respawn_delay condition emulate_tty sigterm_timeout sigkill_timeout prefix cwd env '
              'additional_env log_cmd on_exit shell')


class Substitution(Recorded):
    """A value known only at launch time; `resolve(args)` gives the value with the defaults."""

    def resolve(self, args: dict[str, Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def perform(self, context: Any) -> str:
        """As in launch: the value in an OpaqueFunction's context."""
        return str(self.resolve(context.args))


class LaunchConfiguration(Substitution):
    ARGS = ('variable_name', 'default')

    def resolve(self, args: dict[str, Any]) -> Any:
        name = self.kw['variable_name']
        if name in args:
            return resolve(args[name], args)
        if self.kw.get('default') is not None:
            return resolve(self.kw['default'], args)
        raise KeyError(f'LaunchConfiguration {name!r} is used but never declared')


class PathJoinSubstitution(Substitution):
    ARGS = ('substitutions',)

    def resolve(self, args: dict[str, Any]) -> Any:
        return os.path.join(*[str(resolve(p, args)) for p in self.kw['substitutions']])


class TextSubstitution(Substitution):
    ARGS = ('text',)

    def resolve(self, args: dict[str, Any]) -> Any:
        return self.kw['text']


class FindPackageShare(Substitution):
    ARGS = ('package',)

    def resolve(self, args: dict[str, Any]) -> Any:
        return share_directory(str(resolve(self.kw['package'], args)))


class Command(Substitution):
    ARGS = ('command', 'on_stderr')

    def resolve(self, args: dict[str, Any]) -> Any:
        parts = self.kw['command']
        parts = parts if isinstance(parts, (list, tuple)) else [parts]
        return ''.join(str(resolve(p, args)) for p in parts)


class FindExecutable(Substitution):
    ARGS = ('name',)

    def resolve(self, args: dict[str, Any]) -> Any:
        return str(resolve(self.kw['name'], args))


class EnvironmentVariable(Substitution):
    ARGS = ('name', 'default_value')

    def resolve(self, args: dict[str, Any]) -> Any:
        return os.environ.get(str(resolve(self.kw['name'], args)), self.kw.get('default_value', ''))


class PythonExpression(Substitution):
    ARGS = ('expression',)

    def resolve(self, args: dict[str, Any]) -> Any:
        parts = self.kw['expression']
        text = ''.join(str(resolve(p, args)) for p in (parts if isinstance(parts, (list, tuple)) else [parts]))
        return str(eval(text, {'__builtins__': {}}))


class ParameterValue(Substitution):
    ARGS = ('value', 'value_type')

    def resolve(self, args: dict[str, Any]) -> Any:
        return resolve(self.kw['value'], args)


class ParameterFile(Substitution):
    ARGS = ('param_file', 'allow_substs')

    def resolve(self, args: dict[str, Any]) -> Any:
        return resolve(self.kw['param_file'], args)


def resolve(value: Any, args: dict[str, Any]) -> Any:
    """Resolve substitutions (and lists/dicts of them) using the launch arguments' defaults."""
    if isinstance(value, Substitution):
        return value.resolve(args)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (str, Substitution)) for v in value) and any(
                isinstance(v, Substitution) for v in value):
            return ''.join(str(resolve(v, args)) for v in value)  # a concatenation, as launch reads it
        return [resolve(v, args) for v in value]
    if isinstance(value, dict):
        return {resolve(k, args): resolve(v, args) for k, v in value.items()}
    return value


class LaunchDescription(Recorded):
    ARGS = ('initial_entities', 'deprecated_reason')

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entities = list(self.kw.get('initial_entities') or [])

    def add_action(self, action: Any) -> None:
        self.entities.append(action)

    add_entity = add_action


class Condition(Recorded):
    ARGS = ('predicate_expression',)


class OpaqueFunction(Recorded):
    ARGS = ('function', 'args', 'kwargs')


_ACTIONS = {
    'DeclareLaunchArgument': 'name default_value description choices',
    'IncludeLaunchDescription': 'launch_description_source launch_arguments condition',
    'GroupAction': 'actions scoped forwarding launch_configurations condition',
    'ExecuteProcess': 'cmd name cwd env additional_env shell sigterm_timeout sigkill_timeout emulate_tty output '
                      'prefix log_cmd on_exit respawn respawn_delay condition',
    'SetEnvironmentVariable': 'name value condition',
    'AppendEnvironmentVariable': 'name value prepend separator condition',
    'SetLaunchConfiguration': 'name value condition',
    'LogInfo': 'msg condition',
    'TimerAction': 'period actions cancel_on_shutdown condition',
    'RegisterEventHandler': 'event_handler condition',
    'EmitEvent': 'event condition',
    'Shutdown': 'reason condition',
}
_ROS_ACTIONS = {
    'Node': _NODE_ARGS,
    'LifecycleNode': _NODE_ARGS + ' autostart',
    'PushRosNamespace': 'namespace condition',
    'SetParameter': 'name value condition',
    'SetRemap': 'src dst condition',
    'SetUseSimTime': 'value condition',
}


@dataclass
class LaunchSummary:
    """What a launch file declared, with substitutions resolved to the argument defaults."""

    path: Path
    arguments: dict[str, Any] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    processes: list[list[str]] = field(default_factory=list)


def _modules() -> dict[str, types.ModuleType]:
    mods: dict[str, types.ModuleType] = {}

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        mods[name] = mod
        return mod

    actions = {name: _cls(name, args) for name, args in _ACTIONS.items()}
    actions['OpaqueFunction'] = OpaqueFunction
    ros_actions = {name: _cls(name, args) for name, args in _ROS_ACTIONS.items()}
    subs = {c.__name__: c for c in (LaunchConfiguration, PathJoinSubstitution, TextSubstitution, Command,
                                     FindExecutable, EnvironmentVariable, PythonExpression)}
    conditions = {name: _cls(name, 'predicate_expression', Condition) for name in ('IfCondition', 'UnlessCondition')}
    conditions['LaunchConfigurationEquals'] = _cls(
        'LaunchConfigurationEquals', 'launch_configuration_name expected_value', Condition)
    module('launch', LaunchDescription=LaunchDescription, LaunchContext=Recorded, Substitution=Substitution,
           Action=Recorded, Condition=Condition)
    module('launch.actions', **actions)
    module('launch.substitutions', **subs)
    module('launch.conditions', **conditions)
    module('launch.launch_description_sources',
           PythonLaunchDescriptionSource=_cls('PythonLaunchDescriptionSource', 'launch_file_path'),
           AnyLaunchDescriptionSource=_cls('AnyLaunchDescriptionSource', 'launch_file_path'))
    module('launch.event_handlers',
           OnProcessExit=_cls('OnProcessExit', 'target_action on_exit handle_once'),
           OnProcessStart=_cls('OnProcessStart', 'target_action on_start handle_once'),
           OnShutdown=_cls('OnShutdown', 'on_shutdown'))
    module('launch.events', Shutdown=_cls('ShutdownEvent', 'reason'),
           matches_action=lambda action: action)
    module('launch_ros')
    module('launch_ros.actions', **ros_actions)
    module('launch_ros.substitutions', FindPackageShare=FindPackageShare)
    module('launch_ros.parameter_descriptions', ParameterValue=ParameterValue, ParameterFile=ParameterFile)
    module('launch_ros.descriptions', ParameterValue=ParameterValue, ParameterFile=ParameterFile)
    module('launch_ros.event_handlers',
           OnStateTransition=_cls('OnStateTransition', 'target_lifecycle_node start_state goal_state entities '
                                  'transition handle_once'))
    module('launch_ros.events')
    module('launch_ros.events.lifecycle',
           ChangeState=_cls('ChangeState', 'lifecycle_node_matcher transition_id'))
    module('ament_index_python')
    module('ament_index_python.packages',
           get_package_share_directory=share_directory)
    for name, mod in mods.items():  # make `import launch.actions` bind attributes on the parent
        parent, _, child = name.rpartition('.')
        if parent:
            setattr(mods[parent], child, mod)
    return mods


@contextlib.contextmanager
def _stand_ins() -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in _modules()}
    sys.modules.update(_modules())
    try:
        yield
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def _is_substitution(value: Any) -> bool:
    return isinstance(value, Substitution) or (
        isinstance(value, (list, tuple)) and any(isinstance(v, Substitution) for v in value))


def _parameter_entry(entry: Any, args: dict[str, Any]) -> Any:
    """A `parameters=` entry as launch_ros evaluates it: substituted values are read as YAML."""
    if not isinstance(entry, dict):
        return resolve(entry, args)
    out = {}
    for key, value in entry.items():
        if isinstance(value, ParameterValue):
            out[key] = resolve(value, args)  # value_type given: taken as is
        elif _is_substitution(value):
            text = str(resolve(value, args))
            parsed = yaml.safe_load(text)
            out[key] = text if parsed is None else parsed  # '' stays a string, as in launch_ros
        else:
            out[key] = resolve(value, args)
    return out


def _walk(entities: list[Any], summary: LaunchSummary) -> None:
    for ent in entities:
        kind = type(ent).__name__
        if kind == 'DeclareLaunchArgument':
            summary.arguments[ent.kw['name']] = ent.kw.get('default_value')
            summary.descriptions[ent.kw['name']] = ent.kw.get('description') or ''
        elif kind in ('Node', 'LifecycleNode'):
            node = {k: resolve(v, summary.arguments) for k, v in ent.kw.items() if k not in ('condition', 'parameters')}
            node['parameters'] = [_parameter_entry(p, summary.arguments) for p in ent.kw.get('parameters') or []]
            summary.nodes.append(node)
        elif kind == 'IncludeLaunchDescription':
            summary.includes.append(str(resolve(ent.kw['launch_description_source'].kw['launch_file_path'],
                                                summary.arguments)))
        elif kind == 'ExecuteProcess':
            summary.processes.append([str(resolve(c, summary.arguments)) for c in ent.kw['cmd']])
        elif kind in ('GroupAction', 'TimerAction'):
            _walk(list(ent.kw.get('actions') or []), summary)
        elif kind == 'RegisterEventHandler':
            handler = ent.kw['event_handler']
            for key in ('on_exit', 'on_start', 'entities', 'on_shutdown'):
                value = handler.kw.get(key)
                if isinstance(value, (list, tuple)):
                    _walk(list(value), summary)
        elif kind == 'OpaqueFunction':
            fn = ent.kw['function']
            context = types.SimpleNamespace(args=summary.arguments, launch_configurations=summary.arguments)
            produced = fn(context, *(ent.kw.get('args') or []), **(ent.kw.get('kwargs') or {}))
            _walk(list(produced or []), summary)


def load_launch_file(path: Path, share_dirs: dict[str, str] | None = None) -> LaunchSummary:
    """Execute `path` against the stand-ins and summarise what it launches."""
    SHARE_DIRS.clear()
    SHARE_DIRS.update(share_dirs or {})
    with _stand_ins():
        spec = importlib.util.spec_from_file_location(f'launch_file_{path.stem.replace(".", "_")}', path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        description = module.generate_launch_description()
        if not isinstance(description, LaunchDescription):
            raise TypeError(f'{path.name}: generate_launch_description() must return a LaunchDescription')
        summary = LaunchSummary(path=path)
        # Declarations first, so substitutions anywhere in the file resolve to their defaults.
        _walk([e for e in description.entities if type(e).__name__ == 'DeclareLaunchArgument'], summary)
        _walk([e for e in description.entities if type(e).__name__ != 'DeclareLaunchArgument'], summary)
    return summary
