"""`plan_executor`: the rover-side command source under the Earth-Moon link (thin shell around `Sequencer`).

Behind a link the operator's commands arrive late (`uplink/teleop/cmd_vel`, stamps untouched)
and plans arrive on `drive_plan`; this node decides, once per control tick, what enters the
safety chain on `teleop/cmd_vel` (so the limiter and the guards still apply to everything):
the running plan's segment, else the operator's last command while fresh (`uplink_command_timeout`
since it arrived), else zero. In lockstep it answers each simulator tick (`ground_truth`,
stamped t_k) with exactly one command stamped t_k, as the scenario operator does without a
link; on wall time it runs a timer at `rate_hz`. Plan progress is measured on `odom`; plans stop on
guard events and e-stop (`events`, `estop`) and when nothing came up the link (commands, plans,
`link/heartbeat`) for `link_timeout`. Acknowledgements and stops go on `/events`
(plan_accepted, plan_refused, plan_done, plan_aborted, link_lost, link_restored).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import math
import sys
from typing import Any

from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from std_msgs.msg import Bool, Header, String

from rover_nav.link.link_node import HEARTBEAT, PLAN_QOS, UPLINK_CMD
from rover_nav.link.plan import Limits, Sequencer
from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import all_finite, stamp_seconds
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_OK, DIAG_WARN, RoverNode

PARAMS = (
    ParamSpec('link_timeout', float, 5.0, 's without anything from the uplink (command, plan, heartbeat) before '
              'a running plan is stopped and the rover held; too long lets a lost link drive on.', lo=0.1, hi=600.0),
    shared.UPLINK_COMMAND_TIMEOUT,
    shared.MAX_LINEAR_SPEED,
    shared.MAX_ANGULAR_SPEED,
    ParamSpec('max_segment_distance', float, 50.0, 'm; longer straight segments are refused.', lo=0.01, hi=1e4),
    ParamSpec('rate_hz', float, 10.0, 'Hz of commands on wall time (on sim time: one per simulator tick).',
              lo=1.0, hi=100.0, read_only=True),
)


@dataclass(frozen=True)
class PlanExecutorParams(Params):
    """plan_executor's parameter values, typed: one field per entry of PARAMS."""

    link_timeout: float
    uplink_command_timeout: float
    max_linear_speed: float
    max_angular_speed: float
    max_segment_distance: float
    rate_hz: float


def _yaw(q: Any) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class PlanExecutorNode(RoverNode[PlanExecutorParams]):
    """Uplinked commands and plans -> one teleop/cmd_vel per tick (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('plan_executor', PARAMS, params_type=PlanExecutorParams, **kwargs)
        snap = self.params.snapshot
        self.core = Sequencer(Limits(max_speed=snap.max_linear_speed,
                                     max_turn_rate_deg=math.degrees(snap.max_angular_speed),
                                     max_distance_m=snap.max_segment_distance),
                              link_timeout=snap.link_timeout, command_timeout=snap.uplink_command_timeout)
        self._pub = self.create_publisher(TwistStamped, 'teleop/cmd_vel', qos.COMMAND)
        self.create_subscription(TwistStamped, UPLINK_CMD, self._on_command, qos.COMMAND)
        self.create_subscription(String, 'drive_plan', self._on_plan, PLAN_QOS)
        self.create_subscription(Header, HEARTBEAT, self._on_heartbeat, qos.STATE)
        self.create_subscription(Odometry, 'odom', self._on_odom, qos.STATE)
        self.create_subscription(String, 'events', self._on_event, qos.EVENTS)
        self.create_subscription(Bool, 'estop', self._on_estop, qos.LATCHED)
        self._last_state = ''
        self._last_tick = -1.0
        self._last_cmd: tuple[float, float] = (0.0, 0.0)
        if self.get_parameter('use_sim_time').value:
            self.create_subscription(Odometry, 'ground_truth', self._on_tick, qos.STATE)
        else:
            self.create_timer(1.0 / snap.rate_hz, self._on_timer)
        self.create_timer(1.0, self._report)

    # ---- inputs --------------------------------------------------------------------------------
    def _emit(self, events: list[tuple[str, str]]) -> None:
        for kind, detail in events:
            self.publish_event(kind, detail)

    def _on_command(self, msg: TwistStamped) -> None:
        v, w = float(msg.twist.linear.x), float(msg.twist.angular.z)
        if not all_finite((v, w)):
            self.warn_throttled('dropped an uplinked command with NaN/inf in it')
            return
        self._emit(self.core.teleop(v, w, self.now_s()))

    def _on_plan(self, msg: String) -> None:
        self._emit(self.core.plan_text(msg.data, self.now_s()))

    def _on_heartbeat(self, _msg: Header) -> None:
        self._emit(self.core.uplink_heard(self.now_s()))

    def _on_odom(self, msg: Odometry) -> None:
        p = msg.pose.pose
        self.core.pose(float(p.position.x), float(p.position.y), _yaw(p.orientation))

    def _on_event(self, msg: String) -> None:
        try:
            entry = json.loads(msg.data)
            kind, detail = str(entry['kind']), str(entry.get('detail', ''))
        except (json.JSONDecodeError, KeyError, TypeError):
            return
        self._emit(self.core.guard_event(kind, detail))

    def _on_estop(self, msg: Bool) -> None:
        self._emit(self.core.estop(bool(msg.data)))

    # ---- output --------------------------------------------------------------------------------
    def _on_tick(self, msg: Odometry) -> None:
        stamp = msg.header.stamp
        t = stamp_seconds(stamp)
        self._publish(t, stamp)

    def _on_timer(self) -> None:
        now = self.get_clock().now()
        self._publish(now.nanoseconds * 1e-9, now.to_msg())

    def _publish(self, now_s: float, stamp: Any) -> None:
        if now_s == self._last_tick:
            v, w = self._last_cmd  # a repeated tick (the simulator waiting): say the same again
        else:
            v, w, events = self.core.tick(now_s)
            self._emit(events)
            self._last_cmd = (v, w)
        self._last_tick = now_s
        out = TwistStamped()
        out.header.stamp = stamp
        out.header.frame_id = 'base_link'
        out.twist.linear.x = v
        out.twist.angular.z = w
        self._pub.publish(out)
        if self.core.state != self._last_state:
            self._last_state = self.core.state
            self._report()

    def _report(self) -> None:
        state = self.core.state
        level = DIAG_WARN if state in ('estop', 'link_lost') else DIAG_OK
        self.publish_diagnostic(level, state, {'state': state, 'newest_plan_seq': self.core.assembler.newest_seq,
                                               'link_up': self.core.link_up})

    def on_shutdown(self) -> None:
        out = TwistStamped()
        out.header.stamp = self.get_clock().now().to_msg()
        self._pub.publish(out)


def main() -> None:
    sys.exit(run_node(PlanExecutorNode))


if __name__ == '__main__':
    main()
