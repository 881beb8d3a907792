"""Run a ROS 2 launch file without ROS: a strict, recording stand-in for `launch` and `launch_ros`.

The embedded tier has no `launch`/`launch_ros` (PyPI has neither), yet a mistake in a launch file
must fail `make test` here. `load_launch_file(path)` executes the file against stand-in modules,
calls `generate_launch_description()`, then visits the description in order, as `ros2 launch`
would, with the launch arguments' defaults (or the values given) and returns what it declared and
what it would start.

The stand-ins are as strict as the real Jazzy classes at construction time (read from ros2/launch
3.4.0 and the jazzy branch, launch_ros 0.26.x): the same positional and keyword-only arguments; every
SomeSubstitutionsType argument goes through `normalize_to_list_of_substitutions`, which rejects a
nested list or any item that is not a str or a Substitution (so `PathJoinSubstitution([a, [b,
'.sdf']])` fails here as in launch < 3.4.5); Node `parameters` must be a list, each entry a dict or
a parameter file, with the value types launch_ros normalises; remapping rules must be 2-tuples;
conditions evaluate only 'true'/'false'/'1'/'0'; launch argument choices are enforced. Deprecated
classes (`LaunchConfigurationEquals`) warn as in launch, and `load_launch_file` turns that warning
into an error. A class the stand-ins do not model is missing (ImportError), never accepted blindly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
import importlib.util
import math
import os
from pathlib import Path
import re
import sys
import types
from typing import Any
import warnings

import yaml

SHARE_PREFIX = '<share>'
#: package -> a real share folder (the test builds rover_testbed's from setup.py's data_files)
SHARE_DIRS: dict[str, str] = {}


class LaunchDeprecationWarning(UserWarning):
    """What the stand-ins of deprecated launch classes warn with (launch itself uses UserWarning)."""


class SubstitutionFailure(RuntimeError):  # noqa: N818 - launch's name
    """As launch.substitutions.SubstitutionFailure."""


class InvalidConditionExpressionError(ValueError):
    """As launch.conditions.InvalidConditionExpressionError."""


def share_directory(package: str) -> str:
    return SHARE_DIRS.get(package, f'{SHARE_PREFIX}{package}')


class Context:
    """The part of launch.LaunchContext a launch file sees (OpaqueFunction, Substitution.perform)."""

    def __init__(self, launch_configurations: dict[str, str] | None = None) -> None:
        self.launch_configurations: dict[str, str] = dict(launch_configurations or {})
        self.environment: dict[str, str] = {}

    def perform_substitution(self, substitution: Substitution) -> str:
        return substitution.perform(self)


# ---------------------------------------------------------------------------------------------
# Substitutions


class Substitution:
    """Base of the substitution stand-ins (launch.Substitution)."""

    def perform(self, context: Context) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def normalize_to_list_of_substitutions(subs: Any) -> list[Substitution]:
    """As launch.utilities.normalize_to_list_of_substitutions (identical in launch 3.4.0 to 3.4.4).

    A str, a Substitution, or an iterable of str/Substitution items; anything else, a nested list
    included, raises TypeError with launch's message.
    """
    def normalize(item: Any) -> Substitution:
        if isinstance(item, Substitution):
            return item
        if isinstance(item, str):
            return TextSubstitution(text=item)
        raise TypeError(f"Failed to normalize given item of type '{type(item)}', when only "
                        "'str' or 'launch.Substitution' were expected.")

    if isinstance(subs, str):
        return [TextSubstitution(text=subs)]
    if isinstance(subs, Substitution):
        return [subs]
    return [normalize(item) for item in subs]  # a non-iterable raises TypeError, as in launch


def perform_substitutions(context: Context, subs: list[Substitution]) -> str:
    return ''.join(s.perform(context) for s in subs)


def _is_substitution(value: Any) -> bool:
    """As launch.utilities.type_utils.is_substitution."""
    if isinstance(value, (str, Substitution)):
        return isinstance(value, Substitution)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
        return bool(items) and all(isinstance(v, (str, Substitution)) for v in items) and any(
            isinstance(v, Substitution) for v in items)
    return False


def _as_bool(text: str, what: str) -> bool:
    """launch's coercion of a performed substitution to bool ('1'/'0' and YAML booleans)."""
    text = {'1': 'true', '0': 'false'}.get(text, text)
    value = yaml.safe_load(text) if text else text
    if not isinstance(value, bool):
        raise SubstitutionFailure(f"{what}: cannot convert '{text}' to bool")
    return value


class TextSubstitution(Substitution):
    def __init__(self, *, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"TextSubstitution expected Text object got '{type(text)}' instead.")
        self.text = text

    def perform(self, context: Context) -> str:
        return self.text


class LaunchConfiguration(Substitution):
    def __init__(self, variable_name: Any, *, default: Any = None) -> None:
        self.variable_name = normalize_to_list_of_substitutions(variable_name)
        self.default = None
        if default is not None:
            items = default if isinstance(default, Iterable) and not isinstance(default, str) else (default,)
            self.default = normalize_to_list_of_substitutions(
                [i if isinstance(i, (str, Substitution)) else str(i) for i in items])

    def perform(self, context: Context) -> str:
        name = perform_substitutions(context, self.variable_name)
        if name in context.launch_configurations:
            return context.launch_configurations[name]
        if self.default is None:
            raise SubstitutionFailure(f"launch configuration '{name}' does not exist")
        return perform_substitutions(context, self.default)


class PathJoinSubstitution(Substitution):
    def __init__(self, substitutions: Any) -> None:
        self.substitutions = normalize_to_list_of_substitutions(substitutions)

    def perform(self, context: Context) -> str:
        return os.path.join(*[s.perform(context) for s in self.substitutions])


class EnvironmentVariable(Substitution):
    def __init__(self, name: Any, *, default_value: Any = None) -> None:
        self.name = normalize_to_list_of_substitutions(name)
        self.default_value = None if default_value is None else normalize_to_list_of_substitutions(default_value)

    def perform(self, context: Context) -> str:
        name = perform_substitutions(context, self.name)
        if name in os.environ:
            return os.environ[name]
        if self.default_value is None:
            raise SubstitutionFailure(f"environment variable '{name}' does not exist")
        return perform_substitutions(context, self.default_value)


class FindExecutable(Substitution):
    def __init__(self, *, name: Any) -> None:
        self.name = normalize_to_list_of_substitutions(name)

    def perform(self, context: Context) -> str:
        return perform_substitutions(context, self.name)


class Command(Substitution):
    """Not run here: performs to the command line, so the static test can check the files it names."""

    def __init__(self, command: Any, *, on_stderr: Any = 'fail') -> None:
        self.command = normalize_to_list_of_substitutions(command)
        self.on_stderr = normalize_to_list_of_substitutions(on_stderr)

    def perform(self, context: Context) -> str:
        if perform_substitutions(context, self.on_stderr) not in ('fail', 'ignore', 'warn', 'capture'):
            raise SubstitutionFailure("expected 'on_stderr' to be one of: 'fail', 'ignore', 'warn' or 'capture'")
        return perform_substitutions(context, self.command)


class PythonExpression(Substitution):
    def __init__(self, expression: Any, python_modules: Any = ('math',)) -> None:
        for value, name in ((expression, 'expression'), (python_modules, 'python_modules')):
            if not isinstance(value, (str, Substitution, Iterable)):
                raise TypeError(f"'PythonExpression' expected '{name}' to be one of [str, Substitution, Iterable]")
        self.expression = normalize_to_list_of_substitutions(expression)
        self.python_modules = normalize_to_list_of_substitutions(list(python_modules)
                                                                 if isinstance(python_modules, tuple)
                                                                 else python_modules)

    def perform(self, context: Context) -> str:
        names = [m.perform(context) for m in self.python_modules]
        scope: dict[str, Any] = {}
        for name in names:
            module = importlib.import_module(name)
            if module is math:
                scope.update(vars(math))
            scope[name] = module
        return str(eval(perform_substitutions(context, self.expression), {}, scope))


def _equals_operand(value: Any) -> list[Substitution]:
    if not _is_substitution(value):
        value = '' if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return normalize_to_list_of_substitutions(value)


def _loose_equal(left: str, right: str) -> bool:
    """EqualsSubstitution's comparison: booleans and floats by value, else as strings."""
    bools = ('true', 'false', '1', '0')
    if left.lower() in bools and right.lower() in bools:
        return (left.lower() in ('true', '1')) == (right.lower() in ('true', '1'))
    try:
        return math.isclose(float(left), float(right))
    except ValueError:
        return left == right


class EqualsSubstitution(Substitution):
    def __init__(self, left: Any, right: Any) -> None:
        self.left, self.right = _equals_operand(left), _equals_operand(right)

    def perform(self, context: Context) -> str:
        return str(_loose_equal(perform_substitutions(context, self.left),
                                perform_substitutions(context, self.right))).lower()


class NotEqualsSubstitution(EqualsSubstitution):
    def perform(self, context: Context) -> str:
        return str(super().perform(context) == 'false').lower()


class NotSubstitution(Substitution):
    def __init__(self, value: Any) -> None:
        self.value = normalize_to_list_of_substitutions(value)

    def perform(self, context: Context) -> str:
        return str(not _as_bool(perform_substitutions(context, self.value), 'NotSubstitution')).lower()


class AndSubstitution(Substitution):
    def __init__(self, left: Any, right: Any) -> None:
        self.left, self.right = normalize_to_list_of_substitutions(left), normalize_to_list_of_substitutions(right)

    def _values(self, context: Context) -> list[bool]:
        return [_as_bool(perform_substitutions(context, s), type(self).__name__) for s in (self.left, self.right)]

    def perform(self, context: Context) -> str:
        return str(all(self._values(context))).lower()


class OrSubstitution(AndSubstitution):
    def perform(self, context: Context) -> str:
        return str(any(self._values(context))).lower()


class AllSubstitution(Substitution):
    def __init__(self, *args: Any) -> None:
        self.args = [normalize_to_list_of_substitutions(a) for a in args]

    def _values(self, context: Context) -> list[bool]:
        return [_as_bool(perform_substitutions(context, a), type(self).__name__) for a in self.args]

    def perform(self, context: Context) -> str:
        return str(all(self._values(context))).lower()


class AnySubstitution(AllSubstitution):
    def perform(self, context: Context) -> str:
        return str(any(self._values(context))).lower()


class IfElseSubstitution(Substitution):
    def __init__(self, condition: Any, if_value: Any = '', else_value: Any = '') -> None:
        if if_value == else_value == '':
            raise RuntimeError('One of if_value and else_value must be specified')
        self.condition = normalize_to_list_of_substitutions(condition)
        self.if_value = normalize_to_list_of_substitutions(if_value)
        self.else_value = normalize_to_list_of_substitutions(else_value)

    def perform(self, context: Context) -> str:
        chosen = _as_bool(perform_substitutions(context, self.condition), 'IfElseSubstitution')
        return perform_substitutions(context, self.if_value if chosen else self.else_value)


class FindPackageShare(Substitution):
    def __init__(self, package: Any) -> None:
        self.package = normalize_to_list_of_substitutions(package)

    def perform(self, context: Context) -> str:
        return share_directory(perform_substitutions(context, self.package))


_VALUE_TYPES = (None, str, int, float, bool, list[str], list[int], list[float], list[bool])


class ParameterValue:
    """launch_ros.parameter_descriptions.ParameterValue: the value is taken as `value_type`, not as YAML."""

    def __init__(self, value: Any, *, value_type: Any = None) -> None:
        if value_type not in _VALUE_TYPES:
            raise ValueError(f'data_type is invalid: {value_type}')
        if isinstance(value, (str, int, float, bool)):
            if value_type is not None and not isinstance(value, value_type):
                raise TypeError(f"value='{value}' is not an instance of {value_type}")
            self.value: Any = value
        elif _is_substitution(value):
            self.value = normalize_to_list_of_substitutions(value)
        elif isinstance(value, list):
            self.value = [normalize_to_list_of_substitutions(v) if _is_substitution(v) else v for v in value]
        else:
            raise TypeError(f'value {value!r} of type {type(value)} cannot be normalized')
        self.value_type = value_type

    def evaluate(self, context: Context) -> Any:
        if isinstance(self.value, list) and self.value and isinstance(self.value[0], Substitution):
            text = perform_substitutions(context, self.value)
            if self.value_type is str:
                return text
            if self.value_type in (int, float):
                return self.value_type(text)
            if self.value_type is bool:
                return _as_bool(text, 'ParameterValue')
            return yaml.safe_load(text) if text else text
        return self.value


class ParameterFile:
    def __init__(self, param_file: Any, *, allow_substs: Any = False) -> None:
        if not isinstance(param_file, (str, Substitution, Iterable, os.PathLike, bytes)):
            raise TypeError(f"'ParameterFile()' expected 'param_file' to be a path or substitutions: {param_file!r}")
        if not isinstance(allow_substs, bool):
            raise TypeError("'ParameterFile()' expected 'allow_subst' to be a bool")
        self.param_file: Any = param_file
        if isinstance(param_file, (str, Substitution, Iterable)) and not isinstance(param_file, (bytes, os.PathLike)):
            self.param_file = normalize_to_list_of_substitutions(param_file)
        self.allow_substs = allow_substs

    def evaluate(self, context: Context) -> str:
        if isinstance(self.param_file, list):
            return perform_substitutions(context, self.param_file)
        return os.fsdecode(self.param_file)


# ---------------------------------------------------------------------------------------------
# Conditions


class Condition:
    def __init__(self, *, predicate: Any = None) -> None:
        self._predicate = predicate

    def evaluate(self, context: Context) -> bool:
        return bool(self._predicate(context)) if self._predicate is not None else False


def evaluate_condition_expression(context: Context, expression: list[Substitution]) -> bool:
    text = perform_substitutions(context, expression).strip().lower()
    if text in ('true', '1'):
        return True
    if text in ('false', '0'):
        return False
    raise InvalidConditionExpressionError(
        f"invalid condition expression '{text}': expected one of ['true', '1', 'false', '0']")


class IfCondition(Condition):
    def __init__(self, predicate_expression: Any) -> None:
        self.predicate_expression = normalize_to_list_of_substitutions(predicate_expression)
        super().__init__(predicate=lambda ctx: evaluate_condition_expression(ctx, self.predicate_expression))


class UnlessCondition(IfCondition):
    def evaluate(self, context: Context) -> bool:
        return not super().evaluate(context)


_EQUALS_DEPRECATED = ("The 'LaunchConfigurationEquals' and 'LaunchConfigurationNotEquals' Conditions are  "
                      "deprecated. Use the 'EqualsSubstitution' and 'NotEqualsSubstitution' substitutions instead!")


class LaunchConfigurationEquals(Condition):
    """Deprecated since launch 1.1 (warns in Jazzy)."""

    def __init__(self, launch_configuration_name: str, expected_value: Any) -> None:
        warnings.warn(_EQUALS_DEPRECATED, LaunchDeprecationWarning, stacklevel=2)
        self.name = launch_configuration_name
        self.expected = None if expected_value is None else normalize_to_list_of_substitutions(expected_value)
        super().__init__(predicate=self._equal)

    def _equal(self, context: Context) -> bool:
        expected = None if self.expected is None else perform_substitutions(context, self.expected)
        return context.launch_configurations.get(self.name) == expected


class LaunchConfigurationNotEquals(LaunchConfigurationEquals):
    def evaluate(self, context: Context) -> bool:
        return not super().evaluate(context)


# ---------------------------------------------------------------------------------------------
# Actions and descriptions


class Action:
    """launch.Action: only a keyword `condition`, which must be a Condition."""

    def __init__(self, *, condition: Condition | None = None) -> None:
        if condition is not None and not isinstance(condition, Condition):
            raise TypeError(f'{type(self).__name__}: condition must be a launch Condition, got {condition!r}')
        self.condition = condition


class LaunchDescription:
    def __init__(self, initial_entities: Iterable[Any] | None = None, *, deprecated_reason: str | None = None) -> None:
        self.entities = list(initial_entities) if initial_entities is not None else []
        for entity in self.entities:
            _check_entity(entity)
        self.deprecated_reason = deprecated_reason

    def add_action(self, action: Any) -> None:
        _check_entity(action)
        self.entities.append(action)

    add_entity = add_action


def _check_entity(entity: Any) -> None:
    if not isinstance(entity, (Action, LaunchDescription)):
        raise TypeError(f'not a launch entity: {entity!r}')


class DeclareLaunchArgument(Action):
    def __init__(self, name: str, *, default_value: Any = None, description: str | None = None,
                 choices: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.default_value = None if default_value is None else normalize_to_list_of_substitutions(default_value)
        if choices is not None:
            if len(choices) == 0:
                raise RuntimeError('Provided choices arg is empty. Use None to ignore the choice list.')
            if default_value is not None and not isinstance(default_value, (Substitution, list)) \
                    and default_value not in choices:
                raise RuntimeError(f'Provided default_value "{default_value}" is not in provided choices "{choices}".')
        self.choices = choices
        self.description = description if description is not None else (
            'no description given' if choices is None else f'One of: {choices}')


class IncludeLaunchDescription(Action):
    def __init__(self, launch_description_source: Any, *, launch_arguments: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(launch_description_source, LaunchDescriptionSource):
            launch_description_source = AnyLaunchDescriptionSource(launch_description_source)
        self.launch_description_source = launch_description_source
        self.launch_arguments = () if launch_arguments is None else tuple(launch_arguments)


class LaunchDescriptionSource:
    def __init__(self, launch_description: Any = None, location: Any = '<string>', method: str = '') -> None:
        self.location = normalize_to_list_of_substitutions(location)


class PythonLaunchDescriptionSource(LaunchDescriptionSource):
    def __init__(self, launch_file_path: Any) -> None:
        super().__init__(None, launch_file_path, 'interpreted python launch file')


class AnyLaunchDescriptionSource(LaunchDescriptionSource):
    def __init__(self, launch_file_path: Any) -> None:
        super().__init__(None, launch_file_path, 'interpreted launch file')


class GroupAction(Action):
    def __init__(self, actions: Iterable[Action], *, scoped: bool = True, forwarding: bool = True,
                 launch_configurations: dict[Any, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actions = list(actions)
        self.scoped = scoped
        self.launch_configurations = [
            (normalize_to_list_of_substitutions(k), normalize_to_list_of_substitutions(v))
            for k, v in (launch_configurations or {}).items()]


class SetEnvironmentVariable(Action):
    def __init__(self, name: Any, value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.value = normalize_to_list_of_substitutions(name), normalize_to_list_of_substitutions(value)


class AppendEnvironmentVariable(SetEnvironmentVariable):
    def __init__(self, name: Any, value: Any, prepend: Any = False, separator: Any = os.pathsep,
                 **kwargs: Any) -> None:
        super().__init__(name, value, **kwargs)
        if not isinstance(prepend, bool):
            normalize_to_list_of_substitutions(prepend)
        self.separator = normalize_to_list_of_substitutions(separator)


class SetLaunchConfiguration(SetEnvironmentVariable):
    pass


class LogInfo(Action):
    def __init__(self, *, msg: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.msg = normalize_to_list_of_substitutions(msg)


class OpaqueFunction(Action):
    def __init__(self, *, function: Any, args: Iterable[Any] | None = None, kwargs: dict[str, Any] | None = None,
                 **left_over_kwargs: Any) -> None:
        super().__init__(**left_over_kwargs)
        if not callable(function):
            raise TypeError(f"OpaqueFunction expected a callable for 'function', got '{type(function)}'")
        if args is not None and not isinstance(args, Iterable):
            raise TypeError("'OpaqueFunction' expected 'args' to be an Iterable or None")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError("'OpaqueFunction' expected 'kwargs' to be a dict or None")
        self.function, self.args, self.kwargs = function, list(args or []), dict(kwargs or {})


class PushROSNamespace(Action):
    def __init__(self, namespace: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.namespace = normalize_to_list_of_substitutions(namespace)


class SetParameter(Action):
    def __init__(self, name: Any, value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = normalize_to_list_of_substitutions(name)
        self.value = _normalize_parameter_dict({'_': value})


class SetRemap(Action):
    def __init__(self, src: Any, dst: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.src, self.dst = normalize_to_list_of_substitutions(src), normalize_to_list_of_substitutions(dst)


class SetUseSimTime(Action):
    def __init__(self, value: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value


# launch_ros.actions.Node = ExecuteProcess(ExecuteLocal) keywords + its own (all keyword-only).
_EXECUTE_KEYWORDS = frozenset((
    'prefix', 'cwd', 'env', 'additional_env', 'shell', 'sigterm_timeout', 'sigkill_timeout', 'emulate_tty', 'output',
    'output_format', 'cached_output', 'log_cmd', 'on_exit', 'respawn', 'respawn_delay', 'respawn_max_retries',
    'condition'))


def _normalize_parameter_value(value: Any) -> Any:
    """launch_ros.utilities.normalize_parameters: the value types a parameters dict may hold."""
    if isinstance(value, ParameterValue):
        return value
    if isinstance(value, str):
        return normalize_to_list_of_substitutions(yaml.dump(value))
    if isinstance(value, Substitution):
        return [value]
    if isinstance(value, (float, bool, int, bytes)):
        return value
    if isinstance(value, Sequence):
        kinds = set()
        for sub in value:
            if not isinstance(sub, (float, int, str, bool, Substitution, Iterable)):
                raise TypeError(f"Expected 'subvalue' to be one of [float, int, str, bool, Substitution, Iterable], "
                                f"but got '{sub}' of type '{type(sub)}'")
            kinds.add(Substitution if isinstance(sub, Substitution) else type(sub) if isinstance(
                sub, (str, bool, int, float)) else tuple)
        if Substitution in kinds and kinds <= {str, Substitution}:
            return normalize_to_list_of_substitutions(value)  # one string made of substitutions
        if kinds in ({int}, {bool}):
            return tuple(value)
        if kinds in ({float}, {int, float}):  # mixed numbers become floats, as in launch_ros
            return tuple(float(v) for v in value)
        return tuple(normalize_to_list_of_substitutions(yaml.dump(v) if isinstance(v, (float, int, bool, str)) else v)
                     for v in value)
    raise TypeError(f'Unexpected type for parameter value {value!r}')


def _normalize_parameter_dict(parameters: Any, prefix: list[Substitution] | None = None
                              ) -> list[tuple[list[Substitution], Any]]:
    """(name, value) pairs; nested dicts flatten to dotted names, as in launch_ros."""
    if not isinstance(parameters, Mapping):
        raise TypeError('expected dict')
    out: list[tuple[list[Substitution], Any]] = []
    for name, value in parameters.items():
        key = normalize_to_list_of_substitutions(name)
        if prefix:
            key = [*prefix, TextSubstitution(text='.'), *key]
        if isinstance(value, Mapping):
            out.extend(_normalize_parameter_dict(value, key))
        else:
            out.append((key, _normalize_parameter_value(value)))
    return out


def _normalize_parameters(parameters: Any) -> list[Any]:
    if isinstance(parameters, str) or not isinstance(parameters, Sequence):
        raise TypeError(f'Expecting list of parameters, got {parameters}')
    normalized: list[Any] = []
    for entry in parameters:
        if isinstance(entry, Mapping):
            normalized.append(_normalize_parameter_dict(entry))
        elif isinstance(entry, ParameterFile):
            normalized.append(entry)
        else:
            normalized.append(ParameterFile(entry))
    return normalized


def _normalize_remap_rule(rule: Any) -> tuple[list[Substitution], list[Substitution]]:
    if not isinstance(rule, tuple):
        raise TypeError(f"Expected 'remap_rule' to be one of [<class 'tuple'>], but got '{rule}' of type "
                        f"'{type(rule)}'")
    if len(rule) != 2:
        raise TypeError(f'remap_rule must be a tuple of length 2, got length {len(rule)}')
    return normalize_to_list_of_substitutions(rule[0]), normalize_to_list_of_substitutions(rule[1])


class Node(Action):
    def __init__(self, *, executable: Any, package: Any = None, name: Any = None, namespace: Any = None,
                 exec_name: Any = None, parameters: Any = None, remappings: Any = None, ros_arguments: Any = None,
                 arguments: Any = None, **kwargs: Any) -> None:
        unknown = set(kwargs) - _EXECUTE_KEYWORDS
        if unknown:
            raise TypeError(f'Node() got unexpected keyword argument(s) {sorted(unknown)}')
        super().__init__(condition=kwargs.pop('condition', None))
        self.executable = normalize_to_list_of_substitutions(executable)
        self.package = None if package is None else normalize_to_list_of_substitutions(package)
        self.node_name = None if name is None else normalize_to_list_of_substitutions(name)
        self.namespace = None if namespace is None else normalize_to_list_of_substitutions(namespace)
        self.arguments = [normalize_to_list_of_substitutions(a) for a in (arguments or [])]
        self.ros_arguments = [normalize_to_list_of_substitutions(a) for a in (['--ros-args'] + ros_arguments
                                                                              if ros_arguments is not None else [])]
        if exec_name is not None:
            normalize_to_list_of_substitutions(exec_name)
        if parameters is not None and not isinstance(parameters, list):
            raise TypeError(f"'Node' expected 'parameters' to be one of [<class 'list'>], but got '{parameters}' "
                            f"of type '{type(parameters)}'")
        self.parameters = [] if parameters is None else _normalize_parameters(parameters)
        self.remappings = [] if remappings is None else [_normalize_remap_rule(r) for r in remappings]
        for key in ('output', 'prefix', 'cwd', 'sigterm_timeout', 'sigkill_timeout'):
            if key in kwargs and kwargs[key] is not None:
                normalize_to_list_of_substitutions(kwargs[key])
        self.options = kwargs


# ---------------------------------------------------------------------------------------------
# Visiting a description


@dataclass
class LaunchSummary:
    """What a launch file declared, and what it would start with the given (or default) arguments."""

    path: Path
    arguments: dict[str, Any] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str] | None] = field(default_factory=dict)
    #: every Node, launched or not, substituted; `active` says whether its condition held
    nodes: list[dict[str, Any]] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    include_arguments: list[dict[str, str]] = field(default_factory=list)
    processes: list[list[str]] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def launched(self) -> list[dict[str, Any]]:
        return [n for n in self.nodes if n['active']]


def _parameter_value(context: Context, name: str, value: Any) -> Any:
    """launch_ros.utilities.evaluate_parameters: substituted values are read as YAML."""
    if isinstance(value, ParameterValue):
        return value.evaluate(context)
    if isinstance(value, list):  # a list of substitutions: one string, then YAML
        text = perform_substitutions(context, value) or "''"
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TypeError(f'Unable to parse the value of parameter {name} as yaml') from exc
        if isinstance(parsed, (bool, int, float, str, bytes)):
            return parsed
        if isinstance(parsed, list) and parsed and all(type(v) is type(parsed[0]) for v in parsed) and \
                type(parsed[0]) in (bool, int, float, str):
            return parsed
        raise TypeError(f'Allowed value types are bytes, bool, int, float, str, Sequence[...]. Got {type(parsed)} '
                        f'for "{name}"')
    if isinstance(value, tuple):
        if not value:  # launch_ros: an empty list is no allowed parameter value
            raise TypeError(f"Expected 'value' of parameter {name} to be one of [float, int, str, bool, bytes]")
        if isinstance(value[0], list):
            return [yaml.safe_load(perform_substitutions(context, v)) for v in value]
        return list(value)
    return value


def _node_summary(context: Context, node: Node, active: bool) -> dict[str, Any]:
    def opt(subs: list[Substitution] | None) -> str | None:
        return None if subs is None else perform_substitutions(context, subs)

    parameters: list[Any] = []
    for entry in node.parameters:
        if isinstance(entry, ParameterFile):
            parameters.append(entry.evaluate(context))
        else:
            values = {}
            for key, value in entry:
                name = perform_substitutions(context, key)
                values[name] = _parameter_value(context, name, value)
            parameters.append(values)
    namespace = opt(node.namespace)
    pushed = context.launch_configurations.get('ros_namespace')
    if namespace is None or not namespace.startswith('/'):
        namespace = _prefix_namespace(pushed, namespace)
    summary = {
        'package': opt(node.package),
        'executable': perform_substitutions(context, node.executable),
        'name': opt(node.node_name),
        'namespace': namespace,
        'parameters': parameters,
        'remappings': [(perform_substitutions(context, a), perform_substitutions(context, b))
                       for a, b in node.remappings],
        'arguments': [perform_substitutions(context, a) for a in node.arguments + node.ros_arguments],
        'active': active,
    }
    for key, value in node.options.items():
        if isinstance(value, (str, Substitution, list)):
            summary[key] = perform_substitutions(context, normalize_to_list_of_substitutions(value))
    return summary


_NAMESPACE = re.compile(r'^/([A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*)?$')


def _prefix_namespace(base: str | None, namespace: str | None) -> str | None:
    if not base:
        return namespace
    if not namespace:
        return base
    return namespace if namespace.startswith('/') else base.rstrip('/') + '/' + namespace


def _visit(entities: list[Any], context: Context, summary: LaunchSummary, active: bool = True) -> None:
    for ent in entities:
        if isinstance(ent, LaunchDescription):
            _visit(ent.entities, context, summary, active)
            continue
        holds = active and (ent.condition is None or ent.condition.evaluate(context))
        if isinstance(ent, DeclareLaunchArgument):
            summary.descriptions[ent.name] = ent.description
            summary.choices[ent.name] = ent.choices
            if ent.name not in context.launch_configurations:
                if ent.default_value is None:
                    raise RuntimeError(f'Required launch argument "{ent.name}" was not provided.')
                context.launch_configurations[ent.name] = perform_substitutions(context, ent.default_value)
            value = context.launch_configurations[ent.name]
            if ent.choices is not None and value not in ent.choices:
                raise RuntimeError(f'Argument "{ent.name}" provided value "{value}" is not valid. '
                                   f'Valid options are: {ent.choices}')
            summary.arguments[ent.name] = value
        elif isinstance(ent, Node):
            summary.nodes.append(_node_summary(context, ent, holds))
        elif not holds:
            continue
        elif isinstance(ent, PushROSNamespace):
            pushed = perform_substitutions(context, ent.namespace)
            namespace = _prefix_namespace(context.launch_configurations.get('ros_namespace'), pushed) or '/'
            namespace = namespace if namespace.startswith('/') else '/' + namespace
            if not _NAMESPACE.match(namespace):
                raise SubstitutionFailure(f"The resulting namespace is invalid: '{namespace}'")
            context.launch_configurations['ros_namespace'] = namespace
        elif isinstance(ent, IncludeLaunchDescription):
            summary.includes.append(perform_substitutions(context, ent.launch_description_source.location))
            summary.include_arguments.append({
                perform_substitutions(context, normalize_to_list_of_substitutions(k)):
                    perform_substitutions(context, normalize_to_list_of_substitutions(v))
                for k, v in ent.launch_arguments})
        elif isinstance(ent, SetLaunchConfiguration):
            context.launch_configurations[perform_substitutions(context, ent.name)] = \
                perform_substitutions(context, ent.value)
        elif isinstance(ent, SetEnvironmentVariable):
            summary.environment[perform_substitutions(context, ent.name)] = perform_substitutions(context, ent.value)
        elif isinstance(ent, GroupAction):
            inner = Context(context.launch_configurations) if ent.scoped else context
            for key, value in ent.launch_configurations:
                inner.launch_configurations[perform_substitutions(context, key)] = perform_substitutions(
                    context, value)
            _visit(ent.actions, inner, summary)
        elif isinstance(ent, OpaqueFunction):
            produced = ent.function(context, *ent.args, **ent.kwargs)
            _visit(list(produced or []), context, summary)
        elif isinstance(ent, LogInfo):
            perform_substitutions(context, ent.msg)


# ---------------------------------------------------------------------------------------------
# Module stand-ins


def _modules() -> dict[str, types.ModuleType]:
    mods: dict[str, types.ModuleType] = {}

    def module(name: str, *attrs: Any, **named: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__dict__.update({a.__name__: a for a in attrs}, **named)
        mods[name] = mod
        return mod

    module('launch', LaunchDescription, LaunchContext=Context, Substitution=Substitution, Action=Action,
           Condition=Condition)
    module('launch.actions', DeclareLaunchArgument, IncludeLaunchDescription, GroupAction, SetEnvironmentVariable,
           AppendEnvironmentVariable, SetLaunchConfiguration, LogInfo, OpaqueFunction)
    module('launch.substitutions', LaunchConfiguration, PathJoinSubstitution, TextSubstitution, Command,
           FindExecutable, EnvironmentVariable, PythonExpression, EqualsSubstitution, NotEqualsSubstitution,
           NotSubstitution, AndSubstitution, OrSubstitution, AllSubstitution, AnySubstitution, IfElseSubstitution,
           SubstitutionFailure=SubstitutionFailure)
    module('launch.conditions', IfCondition, UnlessCondition, LaunchConfigurationEquals,
           LaunchConfigurationNotEquals, InvalidConditionExpressionError=InvalidConditionExpressionError)
    module('launch.launch_description_sources', PythonLaunchDescriptionSource, AnyLaunchDescriptionSource)
    module('launch.utilities', normalize_to_list_of_substitutions=normalize_to_list_of_substitutions,
           perform_substitutions=perform_substitutions)
    module('launch_ros')
    module('launch_ros.actions', Node, PushROSNamespace, SetParameter, SetRemap, SetUseSimTime,
           PushRosNamespace=PushROSNamespace)  # an alias in Jazzy
    module('launch_ros.substitutions', FindPackageShare)
    module('launch_ros.parameter_descriptions', ParameterValue, ParameterFile)
    module('launch_ros.descriptions', ParameterValue, ParameterFile)
    module('ament_index_python')
    module('ament_index_python.packages', get_package_share_directory=share_directory,
           PackageNotFoundError=type('PackageNotFoundError', (KeyError,), {}))
    for name, mod in mods.items():  # make `import launch.actions` bind attributes on the parent
        parent, _, child = name.rpartition('.')
        if parent:
            setattr(mods[parent], child, mod)
    return mods


@contextlib.contextmanager
def stand_ins() -> Iterator[None]:
    """The stand-in modules in sys.modules; deprecated launch classes raise instead of warning."""
    mods = _modules()
    saved = {name: sys.modules.get(name) for name in mods}
    sys.modules.update(mods)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error', LaunchDeprecationWarning)
            yield
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def load_launch_file(path: Path, share_dirs: dict[str, str] | None = None,
                     launch_arguments: dict[str, str] | None = None) -> LaunchSummary:
    """Execute `path` against the stand-ins, visit it with these arguments and summarise it."""
    SHARE_DIRS.clear()
    SHARE_DIRS.update(share_dirs or {})
    with stand_ins():
        spec = importlib.util.spec_from_file_location(f'launch_file_{path.stem.replace(".", "_")}', path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        description = module.generate_launch_description()
        if not isinstance(description, LaunchDescription):
            raise TypeError(f'{path.name}: generate_launch_description() must return a LaunchDescription')
        summary = LaunchSummary(path=path)
        _visit(description.entities, Context(launch_arguments), summary)
    return summary
