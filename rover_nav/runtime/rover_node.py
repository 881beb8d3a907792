"""`RoverNode`: the thin-shell base every rover node derives from.

It bundles what each safety-relevant node needs besides its core: the parameter table, the
node clock in seconds (sim time aware), throttled warnings for rejected input, `/events`
entries for the track logger and `/diagnostics` status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
import json
from typing import Any, Generic

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from std_msgs.msg import String

from rover_nav.runtime import qos, shared_params
from rover_nav.runtime.intra_process import IntraProcessMixin
from rover_nav.runtime.params import NoParams, P, ParameterTable, ParamSpec

DIAG_OK = DiagnosticStatus.OK
DIAG_WARN = DiagnosticStatus.WARN
DIAG_ERROR = DiagnosticStatus.ERROR


class RoverNode(IntraProcessMixin, Node, Generic[P]):
    """Base class: parameters from one schema (`params_type`: the node's typed snapshot), events,
    diagnostics, throttled warnings."""

    def __init__(self, name: str, specs: Iterable[ParamSpec], cross_check: Callable[[P], object] | None = None, *,
                 params_type: type[P] = NoParams, **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(name, **kwargs)
        self.params: ParameterTable[P] = ParameterTable(self, specs, params_type, cross_check)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.DIAGNOSTICS)
        self._events_pub = self.create_publisher(String, 'events', qos.EVENTS)
        self.get_logger().info(f'configuration: {self.params.snapshot.as_dict()}')

    def apply_hard_limits(self, limits: Any, profile: str) -> None:
        """Refuse values above the rover description's hard limits (`HardLimits`): at start-up (ConfigError,
        exit 2) and in runtime parameter changes.

        The description's `command_timeout` (longest a command may be trusted) bounds every node's
        command timeout, whatever that node calls it (`shared_params.COMMAND_TIMEOUT_KEYS`)."""
        self.params.set_ceilings(shared_params.parameter_ceilings(limits.ceilings()),
                                 f'rover description, profile {profile!r}')

    def now_s(self) -> float:
        """The node clock (sim time when use_sim_time is true) in seconds."""
        return self.get_clock().now().nanoseconds * 1e-9

    def warn_throttled(self, text: str, period_s: float = 5.0) -> None:
        """Warn about rejected input without flooding the log at sensor rate."""
        self.get_logger().warning(text, throttle_duration_sec=period_s)

    def publish_event(self, kind: str, detail: str) -> None:
        """Append one `{t, kind, detail, source}` entry to `/events`."""
        entry = {'t': round(self.now_s(), 3), 'kind': kind, 'detail': detail, 'source': self.get_name()}
        self._events_pub.publish(String(data=json.dumps(entry)))
        self.get_logger().info(f'event {kind}: {detail}')

    def publish_diagnostic(self, level: int | bytes, message: str, values: Mapping[str, Any] | None = None,
                           name: str | None = None) -> None:
        """Publish this node's status on `/diagnostics` (level: DIAG_OK/WARN/ERROR/STALE)."""
        status = DiagnosticStatus(
            level=level if isinstance(level, bytes) else bytes([level]),
            name=name or self.get_fully_qualified_name(), message=message,
            hardware_id=self.get_name(),
            values=[KeyValue(key=str(k), value=str(v)) for k, v in (values or {}).items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)

    def on_shutdown(self) -> None:
        """Called by `run_node` before the node is destroyed: publish zero, stop motors."""
