"""`slope_guard`: slows on steep ground and refuses to climb past `stop_tilt_deg`.

cmd_vel_in -> (SlopeGuard core) -> cmd_vel_out, one output per input, stamp copied.
Inputs: `imu` (sensor_msgs/Imu, best effort; orientation of imu_link in ENU per REP-145) and,
when `use_lookahead`, `hazcam/points` (sensor_msgs/PointCloud2) to slow before a slope.
A watchdog on the node clock publishes zero at once when the IMU goes stale.
Events: `slope_slow`, `slope_stop`, `sensor_stale` on transitions.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys
from typing import Any

from sensor_msgs.msg import Imu, PointCloud2

from rover_description.rotations import rpy_matrix
from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, ParamSpec
from rover_nav.safety.attitude import up_in_base
from rover_nav.safety.chain_node import DIAG_ERROR, DIAG_OK, DIAG_WARN, ChainNode, ChainParams
from rover_nav.safety.command import Twist2D, same_sign
from rover_nav.safety.sensor_params import (
    cloud_in_base,
    load_rover_geometry,
    sensor_frames,
)
from rover_nav.safety.slope import ROLLOVER, STALE, STOP, SlopeConfig, SlopeGuard, terrain_tilt_ahead

SPECS = (
    ParamSpec('slow_tilt_deg', float, 15.0,
              'Tilt (deg, body z vs up) above which speed is scaled down. Too high reaches the stop tilt at '
              'full speed and overshoots it.', lo=0.0, hi=89.0),
    ParamSpec('stop_tilt_deg', float, 20.0,
              'Tilt (deg) at which climbing is refused; the rated slope is 20 deg. Too high risks a slide or '
              'a roll-over.', lo=0.0, hi=89.0),
    ParamSpec('resume_tilt_deg', float, 18.0,
              'Tilt (deg) below which climbing is allowed again (hysteresis, between slow and stop).',
              lo=0.0, hi=89.0),
    ParamSpec('max_tilt_deg', float, 25.0,
              'Roll-over limit (deg, any direction: pitch, roll, upside down). At or past it every command is '
              'blocked, backing and turning too, until the tilt is 2 deg below it. Above stop_tilt_deg, below '
              "the tip-over angle (~29 deg for yutu2); the description's hard limit caps it.", lo=1.0, hi=180.0),
    shared.IMU_TIMEOUT,
    ParamSpec('tilt_filter_time', float, 0.5,
              'Low-pass time constant (s) on the tilt. Too long reacts late on a slope; too short stops on '
              'every bump.', lo=0.0, hi=5.0),
    ParamSpec('slow_speed_factor', float, 0.5,
              'Speed factor at stop_tilt_deg (falls linearly from 1 at slow_tilt_deg); also the factor for '
              'allowed commands while stopped.', lo=0.05, hi=1.0),
    ParamSpec('use_lookahead', bool, True,
              'Slow before a slope seen in hazcam/points (works without the cloud too).'),
    ParamSpec('lookahead_distance', float, 1.0,
              'Metres of ground beyond the front of the footprint whose slope is estimated from the cloud.',
              lo=0.2, hi=5.0),
    shared.CLOUD_TIMEOUT,
    shared.MAX_CLOCK_SKEW,
    shared.PROFILE,
    shared.FRAME_PREFIX,
)


@dataclass(frozen=True)
class SlopeGuardParams(ChainParams):
    """slope_guard's parameter values, typed: one field per entry of SPECS."""

    slow_tilt_deg: float
    stop_tilt_deg: float
    resume_tilt_deg: float
    max_tilt_deg: float
    imu_timeout: float
    tilt_filter_time: float
    slow_speed_factor: float
    use_lookahead: bool
    lookahead_distance: float
    cloud_timeout: float
    max_clock_skew: float
    profile: str
    frame_prefix: str


def slope_config(snap: SlopeGuardParams) -> SlopeConfig:
    return SlopeConfig(snap.slow_tilt_deg, snap.stop_tilt_deg, snap.resume_tilt_deg, snap.imu_timeout,
                       snap.tilt_filter_time, snap.slow_speed_factor, snap.cloud_timeout, snap.max_tilt_deg)


def _cross_check(snap: SlopeGuardParams) -> None:
    try:
        slope_config(snap)
    except ValueError as exc:
        raise ConfigError(f"parameters 'slow_tilt_deg'/'resume_tilt_deg'/'stop_tilt_deg'/'max_tilt_deg': {exc}") \
            from exc


class SlopeGuardNode(ChainNode[SlopeGuardParams]):
    """Thin shell around `SlopeGuard`."""

    def __init__(self, geometry: Any = None, **kwargs: Any) -> None:
        super().__init__('slope_guard', SPECS, _cross_check, params_type=SlopeGuardParams, **kwargs)
        snap = self.params.snapshot
        self.geometry = load_rover_geometry(snap.profile, geometry)
        self.use_hard_limits(self.geometry)
        self._r_base_imu = rpy_matrix(*self.geometry.imu.rpy)
        self._frames = sensor_frames(snap.frame_prefix, self.geometry)
        self.core = SlopeGuard(slope_config(snap))
        self.params.on_change(lambda s: self.core.configure(slope_config(s)))
        self.create_subscription(Imu, 'imu', self._on_imu, qos.SENSOR_SUB)
        self.create_subscription(PointCloud2, 'hazcam/points', self._on_cloud, qos.SENSOR_SUB)
        self.create_timer(min(0.1, snap.imu_timeout / 2.0), self._watchdog)
        self.report_state(STALE)

    def filter_command(self, v: float, w: float, now: float) -> Twist2D:
        decision = self.core.check(v, w, now)
        self.report_state(decision.state)
        return decision.command

    def _on_imu(self, msg: Imu) -> None:
        q = msg.orientation
        now = self.now_s()
        if msg.orientation_covariance[0] == -1.0:
            self.warn_throttled('IMU message has no orientation (covariance[0] = -1): ignored')
            return
        if stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, self.params.snapshot.max_clock_skew):
            self.warn_throttled('dropped an IMU message stamped in the future')
            return
        try:
            up = up_in_base((q.x, q.y, q.z, q.w), self._r_base_imu)
            event = self.core.update_imu(up, now)
        except ValueError as exc:
            self.warn_throttled(f'dropped an IMU message: {exc}')
            return
        if event is not None:
            extra = ' (roll-over limit: all motion blocked)' if self.core.state(now) == ROLLOVER else ''
            self.publish_event(event, f'tilt {self.core.tilt_deg:.1f} deg{extra}')
        state = self.core.state(now)
        if state == ROLLOVER:
            self.stop_now()  # past the roll-over limit: nothing moves
        elif state == STOP:
            ux, _ = self.core.uphill
            if same_sign(self.last_output.v, ux):
                self.stop_now()  # do not wait for the next command to stop climbing
        self.report_state(state)

    def _on_cloud(self, msg: PointCloud2) -> None:
        snap = self.params.snapshot
        up = self.core.up
        if not snap.use_lookahead or up is None:
            return
        now = self.now_s()
        try:
            points = cloud_in_base(msg, self._frames)
        except ValueError as exc:
            self.warn_throttled(f'dropped a cloud: {exc}')
            return
        ahead = terrain_tilt_ahead(points, self.geometry.footprint, up, snap.lookahead_distance)
        self.core.update_lookahead(ahead, now)

    def _watchdog(self) -> None:
        now = self.now_s()
        if self.core.imu_stale(now):
            if self.state != STALE:
                self.publish_event('sensor_stale', f'no IMU for {self.params.snapshot.imu_timeout} s: blocking')
            self.stop_now()
            self.report_state(STALE)

    def status(self) -> tuple[int, str, dict[str, Any]]:
        now = self.now_s()
        state = self.core.state(now)
        tilt = self.core.tilt_deg
        values = {'tilt_deg': 'none' if tilt is None else round(tilt, 2),
                  'ahead_tilt_deg': 'none' if self.core.ahead_deg is None else round(self.core.ahead_deg, 2),
                  'uphill': tuple(round(c, 3) for c in self.core.uphill)}
        if state == STALE and tilt is None:
            return DIAG_WARN, 'waiting for the first IMU orientation: blocking all motion', values
        if state == STALE:
            return DIAG_ERROR, 'IMU stale: blocking all motion', values
        if state == ROLLOVER:
            return DIAG_ERROR, 'tilt past the roll-over limit: all motion blocked', values
        if state == STOP:
            return DIAG_WARN, 'too steep: climbing blocked, backing down and turning allowed', values
        if tilt is not None and math.isfinite(tilt) and tilt > self.core.config.slow_tilt_deg:
            return DIAG_WARN, 'steep: speed reduced', values
        return DIAG_OK, 'slope ok', values


def main() -> None:
    sys.exit(run_node(SlopeGuardNode))


if __name__ == '__main__':
    main()

