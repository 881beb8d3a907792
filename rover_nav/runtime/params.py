"""One parameter schema per node: declare, validate, snapshot.

A node lists its parameters once as `ParamSpec`s, and their values as a frozen dataclass derived
from `Params` (one typed field per spec: `snap.max_linear_speed` is a float to the type checker,
never `Any`). `ParameterTable` declares the specs with descriptors (description, range,
read-only), checks the start-up values (a bad value raises `ConfigError` naming the key, so
`main()` exits with a clear message), validates runtime `set_parameters` calls in the on-set
callback without touching state, and after a successful set hands the node a fresh snapshot.

This module imports rclpy lazily inside `ParameterTable` so the pure `ParamSpec`/`check_value`
part can be used (and tested) without ROS.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
import dataclasses
from dataclasses import dataclass, field
import math
from types import MappingProxyType
from typing import Any, Generic, TypeVar

_BIG = 1.0e300


class ConfigError(ValueError):
    """A parameter value the node cannot run with; the message names the key."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, type, default and the allowed range.

    `default=None` means *required*: the parameter has no default and must come from a YAML
    file or an override (used for hardware constants, so a rover never drives on a made-up
    calibration). `choices` restricts strings; `lo`/`hi` bound numbers (inclusive).
    """

    name: str
    type: builtins.type
    default: Any
    description: str
    lo: float | None = None
    hi: float | None = None
    read_only: bool = False
    choices: tuple[str, ...] | None = None
    element_type: builtins.type | None = None  # for list parameters

    @property
    def required(self) -> bool:
        return self.default is None


P = TypeVar('P', bound='Params')
_FIELD_TYPES = {float: 'float', int: 'int', bool: 'bool', str: 'str'}


@dataclass(frozen=True)
class Params:
    """Base of a node's typed parameter snapshot: a frozen dataclass with one field per `ParamSpec`.

    A node writes `@dataclass(frozen=True) class DriveParams(Params): max_wheel_speed: float ...`
    beside its specs; `ParameterTable` refuses a class whose fields do not match the specs.
    """

    def __getitem__(self, name: str) -> object:
        if name not in self.field_names():
            raise KeyError(name)
        return getattr(self, name)

    def replace(self: P, **changes: object) -> P:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.field_names()}

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def check_specs(cls, specs: Iterable[ParamSpec]) -> None:
        """TypeError unless the fields are exactly the specs, each with the type the spec checks."""
        wanted = {spec.name: _field_type(spec) for spec in specs}
        have = {f.name: f.type if isinstance(f.type, str) else getattr(f.type, '__name__', str(f.type))
                for f in dataclasses.fields(cls)}
        if have != wanted:
            raise TypeError(f'{cls.__name__} fields {have} do not match the parameter specs {wanted}')


@dataclass(frozen=True)
class NoParams(Params):
    """The snapshot of a node that declares no parameters."""


def _field_type(spec: ParamSpec) -> str:
    """The annotation a `Params` field of this spec has (as written in the source)."""
    if spec.type is list:
        return f'list[{_FIELD_TYPES[spec.element_type or float]}]'
    return _FIELD_TYPES[spec.type]


@dataclass(frozen=True)
class Snapshot:
    """Untyped view of checked values (`snap['key']`), for tools that handle any node's specs."""

    values: Mapping[str, object] = field(default_factory=dict)

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    def as_dict(self) -> dict[str, object]:
        return dict(self.values)


def check_value(spec: ParamSpec, value: Any) -> Any:
    """Return `value` coerced to the spec's type, or raise ConfigError naming the key."""
    name = spec.name
    if value is None:
        raise ConfigError(f"parameter '{name}' is required ({spec.description}) but was not set")
    if spec.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"parameter '{name}' must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"parameter '{name}' must be finite, got {value!r}")
    elif spec.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"parameter '{name}' must be an integer, got {value!r}")
    elif spec.type is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"parameter '{name}' must be true or false, got {value!r}")
    elif spec.type is str:
        if not isinstance(value, str):
            raise ConfigError(f"parameter '{name}' must be a string, got {value!r}")
        if spec.choices is not None and value not in spec.choices:
            raise ConfigError(f"parameter '{name}' = {value!r} is not one of {list(spec.choices)}")
    elif spec.type is list:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise ConfigError(f"parameter '{name}' must be a list, got {value!r}")
        value = [check_value(ParamSpec(f'{name}[{i}]', spec.element_type or float, 0, ''), v)
                 for i, v in enumerate(value)]
        for i, v in enumerate(value):
            _check_range(spec, f'{name}[{i}]', v)
        return value
    else:  # pragma: no cover - programming error in a schema
        raise TypeError(f'unsupported parameter type {spec.type} for {name}')
    _check_range(spec, name, value)
    return value


def _check_range(spec: ParamSpec, label: str, value: Any) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo = -math.inf if spec.lo is None else spec.lo
        hi = math.inf if spec.hi is None else spec.hi
        if not lo <= value <= hi:
            raise ConfigError(f"parameter '{label}' = {value!r} is out of range [{lo}, {hi}]")


def validate_all(specs: Iterable[ParamSpec], values: Mapping[str, Any], params_type: type[P],
                 cross_check: Callable[[P], object] | None = None) -> P:
    """Check every value against its spec, then the node's cross-parameter rules."""
    checked = {spec.name: check_value(spec, values.get(spec.name)) for spec in specs}
    snap = params_type(**checked)
    if cross_check is not None:
        cross_check(snap)
    return snap


def check_values(specs: Iterable[ParamSpec], values: Mapping[str, Any]) -> Snapshot:
    """Every value checked against its spec, as an untyped `Snapshot` (no node's cross-checks)."""
    return Snapshot(MappingProxyType({spec.name: check_value(spec, values.get(spec.name)) for spec in specs}))


class ParameterTable(Generic[P]):
    """Declares a node's parameters and keeps its current immutable snapshot.

    Usage in a node constructor::

        self.params = ParameterTable(self, SPECS, MyParams, cross_check=_rules)
        self.params.on_change(self._apply)      # optional: runtime reconfiguration
        snap = self.params.snapshot

    Runtime sets go through two callbacks: the on-set callback validates the whole candidate
    snapshot and rejects with a reason naming the key (state untouched); the post-set callback
    swaps in the new snapshot and notifies the listeners.
    """

    def __init__(self, node: Any, specs: Iterable[ParamSpec], params_type: type[P],
                 cross_check: Callable[[P], object] | None = None) -> None:
        from rcl_interfaces.msg import ParameterDescriptor
        from rclpy.exceptions import InvalidParameterValueException

        self._node = node
        self._specs = {spec.name: spec for spec in specs}
        params_type.check_specs(self._specs.values())
        self._params_type = params_type
        self._cross_check = cross_check
        self._listeners: list[Callable[[P], None]] = []
        self._ceilings: dict[str, float] = {}
        self._ceiling_source = ''
        values: dict[str, Any] = {}
        for spec in self._specs.values():
            descriptor = _descriptor(spec, ParameterDescriptor)
            try:
                if spec.required:
                    param = node.declare_parameter(spec.name, _ros_type(spec), descriptor)
                else:
                    param = node.declare_parameter(spec.name, spec.default, descriptor)
            except InvalidParameterValueException as exc:
                raise ConfigError(f"parameter '{spec.name}': {exc}") from exc
            except Exception as exc:  # type mismatch of an override, e.g. 1 for a double
                raise ConfigError(f"parameter '{spec.name}': {exc}") from exc
            values[spec.name] = param.value
        self._snapshot = validate_all(self._specs.values(), values, params_type, cross_check)
        node.add_on_set_parameters_callback(self._validate)
        node.add_post_set_parameters_callback(self._apply)

    @property
    def snapshot(self) -> P:
        return self._snapshot

    def set_ceilings(self, ceilings: Mapping[str, float], source: str) -> None:
        """Hard ceilings (e.g. the rover description's limits) no value may exceed, at start-up or later.

        Only parameters of this table are kept. A start-up value above its ceiling raises
        ConfigError naming the key and the limit (the node exits 2: a params file asking for more
        than the rover is rated for is a mistake, not a wish to be capped silently). At runtime,
        lowering and raising up to the ceiling stay allowed (`check_ceilings`).
        """
        self._ceilings = {k: float(v) for k, v in ceilings.items() if k in self._specs and math.isfinite(v)}
        self._ceiling_source = source
        for key, ceiling in self._ceilings.items():
            if self._number(key) > ceiling:
                raise ConfigError(f"parameter '{key}' = {self._snapshot[key]!r} is above the hard limit {ceiling} "
                                  f'({source}); set it at most to the limit')

    def _number(self, name: str) -> float:
        value = self._snapshot[name]
        return float(value) if isinstance(value, (int, float)) else math.nan

    @property
    def ceilings(self) -> Mapping[str, float]:
        return MappingProxyType(self._ceilings)

    def check_ceilings(self, parameters: list[Any]) -> None:
        """ConfigError when a runtime change would set a parameter above its hard ceiling."""
        for param in parameters:
            ceiling = self._ceilings.get(param.name)
            value = param.value
            if ceiling is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if value > ceiling and value > self._number(param.name):
                raise ConfigError(f"parameter '{param.name}' = {value!r} exceeds the hard limit {ceiling} "
                                  f'({self._ceiling_source}); it may only be lowered')

    def on_change(self, listener: Callable[[P], None]) -> None:
        """Call `listener(snapshot)` after every accepted runtime change."""
        self._listeners.append(listener)

    def _candidate(self, parameters: list[Any]) -> P:
        values = self._snapshot.as_dict()
        for param in parameters:
            if param.name in self._specs:
                values[param.name] = param.value
        return validate_all(self._specs.values(), values, self._params_type, self._cross_check)

    def _validate(self, parameters: list[Any]) -> Any:
        from rcl_interfaces.msg import SetParametersResult

        try:
            self.check_ceilings(parameters)
            self._candidate(parameters)
        except ConfigError as exc:
            self._node.get_logger().warning(f'rejected parameter change: {exc}')
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply(self, parameters: list[Any]) -> None:
        if not any(param.name in self._specs for param in parameters):
            return
        self._snapshot = self._candidate(parameters)
        changed = ', '.join(f'{p.name}={p.value!r}' for p in parameters if p.name in self._specs)
        self._node.get_logger().info(f'parameters changed: {changed}')
        for listener in self._listeners:
            listener(self._snapshot)


def _ros_type(spec: ParamSpec) -> Any:
    """The rclpy parameter type used to declare a required parameter without a value."""
    from rclpy.parameter import Parameter

    if spec.type is list:
        return {float: Parameter.Type.DOUBLE_ARRAY, int: Parameter.Type.INTEGER_ARRAY,
                str: Parameter.Type.STRING_ARRAY}[spec.element_type or float]
    return {float: Parameter.Type.DOUBLE, int: Parameter.Type.INTEGER, bool: Parameter.Type.BOOL,
            str: Parameter.Type.STRING}[spec.type]


def _descriptor(spec: ParamSpec, descriptor_cls: Any) -> Any:
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange

    descriptor = descriptor_cls(description=_describe(spec), read_only=spec.read_only)
    if spec.type is float and (spec.lo is not None or spec.hi is not None):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=-_BIG if spec.lo is None else float(spec.lo),
            to_value=_BIG if spec.hi is None else float(spec.hi), step=0.0)]
    elif spec.type is int and (spec.lo is not None or spec.hi is not None):
        descriptor.integer_range = [IntegerRange(
            from_value=-(2**62) if spec.lo is None else int(spec.lo),
            to_value=2**62 if spec.hi is None else int(spec.hi), step=1)]
    return descriptor


def _describe(spec: ParamSpec) -> str:
    text = spec.description
    if spec.choices:
        text += f' One of: {", ".join(spec.choices)}.'
    if spec.required:
        text += ' Required: no default.'
    return text
