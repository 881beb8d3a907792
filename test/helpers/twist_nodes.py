"""Tiny nodes for the foundation tests: a TwistStamped talker and a relay with a validated parameter.

Run as `python -m helpers.twist_nodes talker|relay [ros args]` with test/ on PYTHONPATH.
"""

from __future__ import annotations

from dataclasses import dataclass
import sys

from geometry_msgs.msg import TwistStamped

from rover_nav.runtime import qos
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, Params, ParamSpec
from rover_nav.runtime.rover_node import RoverNode

RELAY_PARAMS = (
    ParamSpec('gain', float, 1.0, 'Multiplies linear.x; 0 stops everything.', lo=0.0, hi=1.0),
    ParamSpec('floor', float, 0.0, 'Lower bound, must stay below gain.', lo=0.0, hi=1.0),
)


@dataclass(frozen=True)
class RelayParams(Params):
    """twist_relay's parameter values, typed: one field per entry of RELAY_PARAMS."""

    gain: float
    floor: float


def _gain_above_floor(snap: RelayParams) -> None:
    if snap.floor > snap.gain:
        raise ConfigError(f"parameter 'floor' = {snap.floor} must not exceed 'gain' = {snap.gain}")


class Relay(RoverNode[RelayParams]):
    """cmd_vel_in -> cmd_vel_out with linear.x scaled by the `gain` parameter."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__('twist_relay', RELAY_PARAMS, cross_check=_gain_above_floor, params_type=RelayParams, **kwargs)
        self._pub = self.create_publisher(TwistStamped, 'cmd_vel_out', qos.COMMAND)
        self.create_subscription(TwistStamped, 'cmd_vel_in', self._relay, qos.COMMAND)

    def _relay(self, msg: TwistStamped) -> None:
        msg.twist.linear.x *= self.params.snapshot.gain
        self._pub.publish(msg)


class Talker(RoverNode):
    """Publishes TwistStamped with linear.x = 0.05 at 20 Hz on cmd_vel_out."""

    def __init__(self) -> None:
        super().__init__('twist_talker', ())
        self._pub = self.create_publisher(TwistStamped, 'cmd_vel_out', qos.COMMAND)
        self.create_timer(0.05, self._tick)

    def _tick(self) -> None:
        msg = TwistStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.twist.linear.x = 0.05
        self._pub.publish(msg)


def main() -> int:
    kind = sys.argv[1]
    return run_node({'talker': Talker, 'relay': Relay}[kind], argv=[sys.argv[0], *sys.argv[2:]])


if __name__ == '__main__':
    sys.exit(main())
