"""`obstacle_guard`: the last stage of the chain; stops before anything too tall to climb.

cmd_vel_in -> (ObstacleGuard core) -> cmd_vel_out, one output per input, stamp copied.
Inputs: `hazcam/points` (PointCloud2, best effort, x/y/z float32 at least, in base_link,
hazcam_link or hazcam_optical_frame; non-finite points are no-returns) and `odom`
(nav_msgs/Odometry, for the obstacle memory in the odom frame).
On every cloud the last command is re-checked, so a newly seen obstacle stops the rover at
once; a watchdog on the node clock does the same when the cloud (or odometry) goes stale.
Events: `obstacle_stop` when a command is first blocked, `sensor_stale` on stale input.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys
from typing import Any

from nav_msgs.msg import Odometry
from sensor_msgs.msg import PointCloud2

from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, ParamSpec
from rover_nav.safety.chain_node import DIAG_ERROR, DIAG_OK, DIAG_WARN, ChainNode, ChainParams
from rover_nav.safety.command import Twist2D
from rover_nav.safety.obstacle import BLOCKED, OK, STALE_CLOUD, STALE_ODOM, ObstacleConfig, ObstacleGuard
from rover_nav.safety.sensor_params import (
    cloud_in_base,
    load_rover_geometry,
    sensor_frames,
)

EVENT_REPEAT_S = 2.0  # s: a stop that flickers while the rover settles is one obstacle_stop event

SPECS = (
    ParamSpec('max_step_height', float, 0.20,
              'Height (m) above the local ground the rover can drive over (0.20 m rated). Taller points in the '
              'swept path stop it; too high drives into rocks, too low stops at pebbles.', lo=0.01, hi=2.0),
    ParamSpec('clearance', float, 0.10,
              'Gap (m) kept between the footprint and a blocking obstacle. Too small lets odometry error touch '
              'the rock; too large stops far from it.', lo=0.0, hi=2.0),
    shared.CLOUD_TIMEOUT,
    ParamSpec('obstacle_lookahead', float, 0.10,
              'Distance (m) the farthest footprint point travels along the command that is checked ahead; '
              'covers the latency of the cloud and the chain. The rover stops between clearance and '
              'clearance + this from an obstacle.', lo=0.0, hi=2.0),
    ParamSpec('use_memory', bool, True,
              'Remember obstacles in the odom frame after they leave the sensor view (needs odom). Without it '
              'a rock that drops below the view in front of the wheels is forgotten.'),
    ParamSpec('odom_timeout', float, 1.0,
              'Seconds without odometry before commands are blocked while use_memory is on.', lo=0.05, hi=30.0),
    ParamSpec('memory_radius', float, 6.0, 'Remembered obstacles farther than this (m) are dropped.',
              lo=0.5, hi=100.0),
    ParamSpec('max_range', float, 6.0, 'Cloud points farther than this (m, horizontal) are ignored.',
              lo=0.5, hi=100.0),
    ParamSpec('min_obstacle_points', int, 2,
              'Points above max_step_height needed in a 0.1 m cell to count as an obstacle (noise filter).',
              lo=1, hi=1000),
    ParamSpec('min_valid_points', int, 20,
              'Finite points a cloud needs to count as fresh; a blinded sensor then goes stale.', lo=3, hi=100000),
    shared.MAX_CLOCK_SKEW,
    shared.PROFILE,
    shared.FRAME_PREFIX,
)


@dataclass(frozen=True)
class ObstacleGuardParams(ChainParams):
    """obstacle_guard's parameter values, typed: one field per entry of SPECS."""

    max_step_height: float
    clearance: float
    cloud_timeout: float
    obstacle_lookahead: float
    use_memory: bool
    odom_timeout: float
    memory_radius: float
    max_range: float
    min_obstacle_points: int
    min_valid_points: int
    max_clock_skew: float
    profile: str
    frame_prefix: str


def obstacle_config(snap: ObstacleGuardParams) -> ObstacleConfig:
    return ObstacleConfig(snap.max_step_height, snap.clearance, snap.cloud_timeout, snap.obstacle_lookahead,
                          snap.use_memory, snap.odom_timeout, snap.memory_radius, 0.05, snap.max_range,
                          snap.min_obstacle_points, snap.min_valid_points)


def _cross_check(snap: ObstacleGuardParams) -> None:
    try:
        obstacle_config(snap)
    except ValueError as exc:
        raise ConfigError(f'obstacle guard parameters: {exc}') from exc


def _yaw(q: Any) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class ObstacleGuardNode(ChainNode[ObstacleGuardParams]):
    """Thin shell around `ObstacleGuard`."""

    def __init__(self, geometry: Any = None, **kwargs: Any) -> None:
        super().__init__('obstacle_guard', SPECS, _cross_check, params_type=ObstacleGuardParams, **kwargs)
        snap = self.params.snapshot
        self.geometry = load_rover_geometry(snap.profile, geometry)
        self.use_hard_limits(self.geometry)
        self._frames = sensor_frames(snap.frame_prefix, self.geometry)
        self.core = ObstacleGuard(obstacle_config(snap), self.geometry.footprint)
        self.params.on_change(lambda s: self.core.configure(obstacle_config(s)))
        self._last_in: Twist2D | None = None
        self._ever_fresh = False  # before the first cloud and odometry: "waiting", not an error
        self._last_stop_event = -math.inf
        self.create_subscription(PointCloud2, 'hazcam/points', self._on_cloud, qos.SENSOR_SUB)
        self.create_subscription(Odometry, 'odom', self._on_odom, qos.STATE)
        self.create_timer(0.1, self._watchdog)
        self.report_state(STALE_CLOUD)

    def filter_command(self, v: float, w: float, now: float) -> Twist2D:
        self._last_in = Twist2D(v, w)
        return self._decide(v, w, now)

    def _decide(self, v: float, w: float, now: float) -> Twist2D:
        decision = self.core.check(v, w, now)
        if decision.state in (OK, BLOCKED):
            self._ever_fresh = True
        detail = ''
        if decision.point is not None:
            px, py = decision.point
            detail = (f'obstacle at ({px:.2f}, {py:.2f}) m in base_link would come within '
                      f'{max(decision.distance, 0.0):.2f} m of the rover')
        self._enter(decision.state, detail)
        return decision.command

    def _enter(self, state: str, detail: str = '') -> None:
        """Report `state`; publish the event of a transition into a stopping state."""
        if state != self.state:
            now = self.now_s()
            if state == BLOCKED and now - self._last_stop_event >= EVENT_REPEAT_S:
                self._last_stop_event = now
                self.publish_event('obstacle_stop', detail or 'obstacle in the path')
            elif state in (STALE_CLOUD, STALE_ODOM) and self.state not in (STALE_CLOUD, STALE_ODOM) \
                    and self._ever_fresh:
                what = 'hazcam cloud' if state == STALE_CLOUD else 'odometry'
                self.publish_event('sensor_stale', f'{what} stale: blocking all motion')
        self.report_state(state)

    def _on_odom(self, msg: Odometry) -> None:
        now = self.now_s()
        if stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, self.params.snapshot.max_clock_skew):
            self.warn_throttled('dropped an odometry message stamped in the future')
            return
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        try:
            if self.core.update_odom(float(p.x), float(p.y), _yaw(q), now):
                self.warn_throttled('odometry jumped: obstacle memory carried over relative to the rover')
        except ValueError as exc:
            self.warn_throttled(f'dropped an odometry message: {exc}')

    def _on_cloud(self, msg: PointCloud2) -> None:
        now = self.now_s()
        if stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, self.params.snapshot.max_clock_skew):
            self.warn_throttled('dropped a cloud stamped in the future')
            return
        try:
            report = self.core.update_cloud(cloud_in_base(msg, self._frames), now)
        except ValueError as exc:
            self.warn_throttled(f'dropped a cloud: {exc}')
            return
        if not report.accepted:
            self.warn_throttled(f'cloud has only {report.valid_points} finite points in range: not used')
            return
        self._recheck(now)

    def _recheck(self, now: float) -> None:
        """Re-judge the last command against the newest obstacles; zero at once if it is blocked now."""
        if self._last_in is not None and self.last_output.moving and not self.estopped:
            if not self._decide(self._last_in.v, self._last_in.w, now).moving:
                self.stop_now()
        elif self.state in (STALE_CLOUD, STALE_ODOM) and self._stale_state(now) is None:
            self.report_state(OK)

    def _stale_state(self, now: float) -> str | None:
        if not self.core.cloud_fresh(now):
            return STALE_CLOUD
        if self.core.config.use_memory and not self.core.odom_fresh(now):
            return STALE_ODOM
        self._ever_fresh = True
        return None

    def _watchdog(self) -> None:
        stale = self._stale_state(self.now_s())
        if stale is not None:
            self.stop_now()
            self._enter(stale)

    def status(self) -> tuple[int, str, dict[str, Any]]:
        now = self.now_s()
        values = {'memory_points': self.core.memory_size, 'cloud_fresh': self.core.cloud_fresh(now),
                  'odom_fresh': self.core.odom_fresh(now)}
        if self._stale_state(now) is not None and not self._ever_fresh:
            return DIAG_WARN, 'waiting for the first hazcam cloud and odometry: blocking all motion', values
        if not self.core.cloud_fresh(now):
            return DIAG_ERROR, 'hazcam cloud stale: blocking all motion', values
        if self.core.config.use_memory and not self.core.odom_fresh(now):
            return DIAG_ERROR, 'odometry stale: obstacle memory cannot follow the rover, blocking', values
        if self.state == BLOCKED:
            return DIAG_WARN, 'obstacle in the path: stopped (backing or turning away allowed)', values
        return DIAG_OK, 'path clear', values


def main() -> None:
    sys.exit(run_node(ObstacleGuardNode))


if __name__ == '__main__':
    main()
