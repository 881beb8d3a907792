"""`scenario_operator`: the scripted operator that plays a scenario file on `teleop/cmd_vel`.

On simulated time it is driven by the simulator's `ground_truth` (one reliable message per
control tick, stamped with that tick's time): one command per tick, stamped t_k, which keeps
lockstep runs deterministic. `/clock` is best effort and a dropped tick would stall lockstep
until the simulator's step timeout. On wall time it uses a timer. After the scenario ends it
keeps commanding zero, as a live operator with hands off would. The scenario's drive plans go
out once each on `drive_plan` when their time comes. Behind the Earth-Moon link the operator
sits on the ground side, where there is no `ground_truth`: `tick_topic: clock` then paces it
by `/clock` (shared by the link), one command per tick, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
import sys
from typing import Any

from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from rover_bringup.scenario import Scenario, load_scenario
from rover_nav.runtime import qos
from rover_nav.runtime.checks import stamp_seconds
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, Params, ParamSpec
from rover_nav.runtime.rover_node import RoverNode

PARAMS = (
    ParamSpec('scenario', str, 'egress', 'Scenario name (rover_bringup/scenarios) or YAML path.', read_only=True),
    ParamSpec('start_delay', float, 0.0, 'Seconds of zero command before the scenario starts.', lo=0.0, hi=3600.0,
              read_only=True),
    ParamSpec('tick_topic', str, 'ground_truth', 'On sim time, what paces the commands: ground_truth (reliable, '
              'one per simulator tick) or clock (/clock: the ground side of the link has no ground truth).',
              choices=('ground_truth', 'clock'), read_only=True),
)


@dataclass(frozen=True)
class ScenarioOperatorParams(Params):
    """scenario_operator's parameter values, typed: one field per entry of PARAMS."""

    scenario: str
    start_delay: float
    tick_topic: str


class ScenarioOperator(RoverNode[ScenarioOperatorParams]):
    """Publishes the scenario's (v, w) on teleop/cmd_vel at the scenario's rate."""

    def __init__(self, scenario: Scenario | None = None, **kwargs: Any) -> None:
        super().__init__('scenario_operator', PARAMS, params_type=ScenarioOperatorParams, **kwargs)
        snap = self.params.snapshot
        try:
            self.scenario = scenario or load_scenario(snap.scenario)
        except (ConfigError, FileNotFoundError) as exc:
            raise ConfigError(f"parameter 'scenario': {exc}") from exc
        self._pub = self.create_publisher(TwistStamped, 'teleop/cmd_vel', qos.COMMAND)
        self._plan_pub = self.create_publisher(String, 'drive_plan', qos.EVENTS) if self.scenario.plans else None
        self._plans_sent = 0
        self._t0: float | None = None
        self._last_pub = -1.0e9
        self._period = 1.0 / self.scenario.rate_hz
        if self.get_parameter('use_sim_time').value and snap.tick_topic == 'clock':
            self.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)
        elif self.get_parameter('use_sim_time').value:
            self.create_subscription(Odometry, 'ground_truth', self._on_tick, qos.STATE)
        else:
            self.create_timer(self._period, self._on_timer)
        self.get_logger().info(f'scenario {self.scenario.name!r}: {len(self.scenario.segments)} segments, '
                               f'{self.scenario.duration_s:.1f} s at {self.scenario.rate_hz:g} Hz')

    def elapsed(self, now_s: float) -> float:
        if self._t0 is None:
            self._t0 = now_s
        return now_s - self._t0 - self.params.snapshot.start_delay

    def _on_tick(self, msg: Odometry) -> None:
        stamp = msg.header.stamp
        now_s = stamp_seconds(stamp)
        # A tick seen again means the simulator is still waiting for its answer (it repeats tick 0
        # until the chain is connected): say it again, the first one may have gone before a
        # subscriber had matched.
        if now_s - self._last_pub >= self._period - 1e-6 or now_s == self._last_pub:
            self._publish(now_s, stamp)

    def _on_clock(self, msg: Clock) -> None:
        stamp = msg.clock
        now_s = stamp_seconds(stamp)
        if now_s - self._last_pub >= self._period - 1e-6:
            self._publish(now_s, stamp)

    def _on_timer(self) -> None:
        now = self.get_clock().now()
        self._publish(now.nanoseconds * 1e-9, now.to_msg())

    def _publish(self, now_s: float, stamp: object) -> None:
        elapsed = self.elapsed(now_s)
        v, w = self.scenario.command_at(elapsed)
        plans = self.scenario.plans
        while self._plan_pub is not None and self._plans_sent < len(plans) and plans[self._plans_sent].at_s <= elapsed:
            self._plan_pub.publish(String(data=plans[self._plans_sent].text))
            self._plans_sent += 1
        msg = TwistStamped()
        msg.header.stamp = stamp
        msg.header.frame_id = 'base_link'
        msg.twist.linear.x = v
        msg.twist.angular.z = w
        self._pub.publish(msg)
        self._last_pub = now_s

    def on_shutdown(self) -> None:
        msg = TwistStamped()
        msg.header.stamp = self.get_clock().now().to_msg()
        self._pub.publish(msg)


def main() -> None:
    sys.exit(run_node(ScenarioOperator))


if __name__ == '__main__':
    main()
