"""`wheel_odometry`: joint_states (wheel rates + steering angles) -> odom (nav_msgs/Odometry, odom -> base_link).

Thin shell around `estimate_twist` / `Odometry2D`. One odom message per joint_states message,
stamped with the joint_states stamp (lockstep friendly); the interval between two stamps is
integrated with the mean of their twists (trapezoid). Optional IMU fusion (`imu_fusion`):
`yaw_rate` fuses the gyro's body yaw rate with the wheels' by inverse variance, `yaw` takes the
heading from the IMU orientation (relative to its first reading). A stale IMU falls back to the
wheels. The odom -> base_link transform is also broadcast on /tf when tf2_ros is importable
(ROS 2 install) and `publish_tf` is true; the embedded pip tier has no tf2_ros, so there the
Odometry message is the only carrier.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys
from typing import Any

from nav_msgs.msg import Odometry
import numpy as np
from sensor_msgs.msg import Imu, JointState

from rover_description.rotations import rpy_matrix
from rover_nav.drive import joints
from rover_nav.drive.controller_node import load_layout
from rover_nav.drive.odometry import (
    ImuYaw,
    Odometry2D,
    OdometryConfig,
    ResidualPool,
    TwistEstimate,
    base_yaw_from_imu,
    base_yaw_rate_from_imu,
    drop_implausible,
    estimate_twist,
    fuse_rates,
    plausible_rate_limit,
    plausible_twist_limits,
)
from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import all_finite, stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_OK, DIAG_WARN, RoverNode

IMU_MODES = ('none', 'yaw_rate', 'yaw')
UNKNOWN_VARIANCE = 1.0e3  # z, roll, pitch (and their rates): a planar odometry does not know them
OUTLIER_RATE_GAIN = 0.02  # per sample: the outlier share is averaged over ~50 samples (5 s at 10 Hz)
PERSISTENT_OUTLIER = 0.5  # a wheel left out of more than half the recent samples is reported as a fault

PARAMS = (
    shared.PROFILE,
    shared.FRAME_PREFIX,
    ParamSpec('imu_fusion', str, 'none', 'IMU use: none (wheels only), yaw_rate (gyro fused with the wheel yaw '
              'rate) or yaw (heading from the IMU orientation). Wheels alone drift in heading when they slip.',
              choices=IMU_MODES),
    shared.IMU_TIMEOUT,
    ParamSpec('imu_yaw_rate_stddev', float, 0.005, 'rad/s, 1-sigma gyro yaw-rate noise; weights yaw_rate fusion '
              '(too small trusts a biased gyro over the wheels).', lo=1e-6, hi=1.0),
    ParamSpec('imu_yaw_stddev', float, 0.02, 'rad, 1-sigma IMU heading error used as the yaw variance in yaw '
              'mode.', lo=1e-6, hi=3.2),
    ParamSpec('max_integration_dt', float, 1.0, 's; a longer gap between joint_states is not integrated (the '
              'motion during it is unknown); too small drops real samples at low rates.', lo=0.001, hi=60.0),
    ParamSpec('wheel_speed_noise', float, 0.0005, 'm/s, 1-sigma noise of one wheel surface speed (encoder '
              'quantisation); the floor of the twist covariance.', lo=1e-7, hi=1.0),
    ParamSpec('outlier_floor', float, 0.004, 'm/s; a wheel is an outlier (slipping or stalled) only if its residual '
              'exceeds this and outlier_ratio of the fastest wheel.', lo=0.0, hi=10.0),
    ParamSpec('outlier_ratio', float, 0.2, 'Fraction of the fastest wheel speed a residual must exceed to reject '
              'that wheel; too small rejects good wheels in curves on rough ground.', lo=0.0, hi=10.0),
    ParamSpec('max_rejected_wheels', int, 2, 'At most this many wheels are dropped per estimate (3 always stay).',
              lo=0, hi=3),
    ParamSpec('slip_ratio_sigma', float, 0.1, '1-sigma common-mode slip as a fraction of the speed, added to the '
              'twist covariance (all wheels slipping alike is invisible in the residuals).', lo=0.0, hi=1.0),
    ParamSpec('slip_correlation_distance', float, 1.0, 'm; slip is taken as one constant scale error over this '
              'much driving, independent between stretches. Longer makes the pose covariance grow faster.',
              lo=0.01, hi=1e6),
    ParamSpec('slip_correlation_angle', float, 1.5708, 'rad turned over which the turning slip is one constant scale '
              'error (a quarter turn by default).', lo=0.01, hi=1e6),
    ParamSpec('residual_memory', float, 100.0, 'Effective number of joint_states samples the residual variance is '
              'pooled over (100 at 10 Hz = 10 s).', lo=1.0, hi=1e6),
    ParamSpec('publish_tf', bool, True, 'Broadcast odom -> base_link on /tf when tf2_ros is importable.',
              read_only=True),
    shared.MAX_CLOCK_SKEW,
    shared.DIAGNOSTICS_PERIOD,
)


@dataclass(frozen=True)
class WheelOdometryParams(Params):
    """wheel_odometry's parameter values, typed: one field per entry of PARAMS."""

    profile: str
    frame_prefix: str
    imu_fusion: str
    imu_timeout: float
    imu_yaw_rate_stddev: float
    imu_yaw_stddev: float
    max_integration_dt: float
    wheel_speed_noise: float
    outlier_floor: float
    outlier_ratio: float
    max_rejected_wheels: int
    slip_ratio_sigma: float
    slip_correlation_distance: float
    slip_correlation_angle: float
    residual_memory: float
    publish_tf: bool
    max_clock_skew: float
    diagnostics_period: float


def config_from(snap: WheelOdometryParams) -> OdometryConfig:
    return OdometryConfig(speed_noise=snap.wheel_speed_noise, outlier_floor=snap.outlier_floor,
                          outlier_ratio=snap.outlier_ratio, max_rejected=snap.max_rejected_wheels,
                          slip_ratio_sigma=snap.slip_ratio_sigma)


def _tf_broadcaster(node: RoverNode[WheelOdometryParams]) -> object | None:
    try:
        from tf2_ros import TransformBroadcaster
    except ImportError:
        return None
    broadcaster: object = TransformBroadcaster(node)
    return broadcaster


class WheelOdometryNode(RoverNode[WheelOdometryParams]):
    """joint_states (+ imu) -> odom, with outlier wheels rejected and honest covariances."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('wheel_odometry', PARAMS, params_type=WheelOdometryParams, **kwargs)
        snap = self.params.snapshot
        self.layout = load_layout(snap.profile)
        self._joint_index = joints.JointIndex(self.layout)
        self._rate_limit = plausible_rate_limit(self.layout)
        self._v_limit, self._w_limit = plausible_twist_limits(self.layout)
        self._implausible = 0
        from rover_description.geometry import load_geometry

        imu_pose = load_geometry(snap.profile).imu
        self._imu_mount = rpy_matrix(*imu_pose.rpy)
        self._config = config_from(snap)
        self.params.on_change(self._reconfigure)
        self._odom_frame = f'{snap.frame_prefix}odom'
        self._base_frame = f'{snap.frame_prefix}base_link'
        self.odom = Odometry2D(slip_ratio_sigma=snap.slip_ratio_sigma,
                               slip_correlation_m=snap.slip_correlation_distance,
                               slip_correlation_rad=snap.slip_correlation_angle)
        self._pool = ResidualPool(snap.residual_memory)
        self._imu_yaw = ImuYaw()
        self._prev_t: float | None = None
        self._prev_twist: tuple[float, float, np.ndarray] | None = None  # (v, w, cov) at _prev_t
        self._prev_wheel_pos: list[float] | None = None
        self._imu: tuple[float, float | None, float] | None = None  # (yaw rate, base yaw or None, receive time)
        self._last_est: TwistEstimate | None = None
        self._rejected_msgs = 0
        self._gaps = 0
        self._outlier_count = [0] * self.layout.n
        self._outlier_rate = [0.0] * self.layout.n  # exponentially weighted share of samples left out
        self._samples = 0
        self._pub = self.create_publisher(Odometry, 'odom', qos.STATE)
        self.create_subscription(JointState, 'joint_states', self._on_joint_states, qos.SENSOR_SUB)
        self._imu_sub: object | None = None
        self._subscribe_imu(snap.imu_fusion != 'none')
        self._tf = _tf_broadcaster(self) if snap.publish_tf else None
        self.create_timer(snap.diagnostics_period, self._diagnostics)
        tf_note = 'on /tf' if self._tf is not None else (
            'off (publish_tf false)' if not snap.publish_tf else 'off (tf2_ros not importable: Odometry message only)')
        self.get_logger().info(f'wheel odometry ready: {self._odom_frame} -> {self._base_frame}, IMU fusion '
                               f'{snap.imu_fusion}, TF {tf_note}')

    def _subscribe_imu(self, wanted: bool) -> None:
        """Subscribe to `imu` only while it is fused: with `imu_fusion` none (the default) the node does not
        take the IMU's 50 Hz at all. Switching fusion off drops the subscription and the last sample, so a
        later switch-on starts from fresh samples (until the first one arrives it is wheels only, as with a
        stale IMU)."""
        if wanted and self._imu_sub is None:
            self._imu_sub = self.create_subscription(Imu, 'imu', self._on_imu, qos.SENSOR_SUB)
        elif not wanted and self._imu_sub is not None:
            self.destroy_subscription(self._imu_sub)
            self._imu_sub = None
            self._imu = None

    def _reconfigure(self, snap: WheelOdometryParams) -> None:
        self._subscribe_imu(snap.imu_fusion != 'none')
        self._config = config_from(snap)
        self.odom.slip_ratio_sigma = snap.slip_ratio_sigma
        self.odom.slip_correlation_m = snap.slip_correlation_distance
        self.odom.slip_correlation_rad = snap.slip_correlation_angle

    # --- inputs -------------------------------------------------------------------------------------------------
    def _on_imu(self, msg: Imu) -> None:
        rate = (msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z)
        if not all_finite(rate):
            self.warn_throttled('rejected imu: non-finite angular velocity')
            return
        q = msg.orientation
        yaw: float | None = None
        if msg.orientation_covariance[0] != -1.0:  # REP-145: -1 marks "no orientation"
            try:
                yaw = base_yaw_from_imu((q.x, q.y, q.z, q.w), self._imu_mount)
            except ValueError:
                self.warn_throttled('imu: invalid orientation quaternion ignored')
        self._imu = (base_yaw_rate_from_imu(rate, self._imu_mount), yaw, self.now_s())

    def _fresh_imu(self, now: float | None = None) -> tuple[float, float | None] | None:
        if self._imu is None:
            return None
        rate, yaw, t = self._imu
        age = (self.now_s() if now is None else now) - t
        return (rate, yaw) if 0.0 <= age <= self.params.snapshot.imu_timeout else None

    def _on_joint_states(self, msg: JointState) -> None:
        snap = self.params.snapshot
        now = self.now_s()
        stamp_s = stamp_seconds(msg.header.stamp)
        if stamp_too_far_ahead(stamp_s, now, snap.max_clock_skew):
            self._reject(f'joint_states stamped more than {snap.max_clock_skew} s ahead of the clock')
            return
        t = stamp_s if stamp_s > 0.0 else now
        try:
            names, position, index = msg.name, msg.position, self._joint_index
            steer = index.steer_angles(names, position)
            rate = index.wheel_values(names, msg.velocity, 'velocity')
            wheel_pos = index.wheel_values(names, position, 'position')
        except joints.JointStateError as exc:
            self._reject(f'malformed joint_states: {exc}')
            return
        if self._prev_t is not None and t <= self._prev_t:
            if t < self._prev_t:
                self.warn_throttled('joint_states stamp went backwards: sample ignored')
            return
        dt = None if self._prev_t is None else t - self._prev_t
        finite = [math.isfinite(r) for r in rate]
        if dt is not None and self._prev_wheel_pos is not None and not all(finite):
            # encoders without velocities: differentiate (dt > 0 here)
            rate = [r if ok else (p - q) / dt for r, ok, p, q in zip(rate, finite, wheel_pos, self._prev_wheel_pos,
                                                                      strict=True)]
        self._prev_wheel_pos = wheel_pos
        if dt is None and not any(finite):  # positions only: rates need a second sample
            self._prev_t = t
            return
        rate, dropped = drop_implausible(list(rate), self._rate_limit)
        if dropped:
            self._implausible += dropped
            self.warn_throttled(f'joint_states: {dropped} wheel rate(s) above the plausible '
                                f'{self._rate_limit:.3g} rad/s treated as missing')
        try:
            est = estimate_twist(self.layout, steer, rate, self._config, sigma2=self._pool.sigma2)
        except (ValueError, OverflowError) as exc:  # OverflowError: a wheel rate >= 1e200 squared
            self._reject(f'joint_states: {exc}')
            self._prev_t, self._prev_twist = t, None
            return
        if not (abs(est.v) <= self._v_limit and abs(est.w) <= self._w_limit):
            self._reject(f'joint_states: implausible twist v={est.v:.3g} m/s, w={est.w:.3g} rad/s '
                         f'(limits {self._v_limit:.3g}, {self._w_limit:.3g})')
            self._prev_t, self._prev_twist = t, None
            return
        self._pool.update(est.rss, est.dof)
        self._samples += 1
        counts, shares = self._outlier_count, self._outlier_rate
        for i, (used, res) in enumerate(zip(est.used.tolist(), est.residual.tolist(), strict=True)):
            left_out = not used and math.isfinite(res)
            counts[i] += left_out
            shares[i] += OUTLIER_RATE_GAIN * (left_out - shares[i])
        self._last_est = est
        v, w, cov, gyro = self._fuse(est, now)
        if dt is not None and self._prev_twist is not None:
            if dt > snap.max_integration_dt:
                self._gaps += 1
                self.warn_throttled(f'joint_states gap of {dt:.2f} s not integrated')
            else:
                pv, pw, pcov = self._prev_twist
                self.odom.step(0.5 * (v + pv), 0.5 * (w + pw), 0.5 * (cov + pcov), dt, w_from_wheels=not gyro)
        self._apply_imu_yaw(now)
        self._prev_t, self._prev_twist = t, (v, w, cov)
        twist_cov = cov + est.slip_cov
        if gyro:
            twist_cov[1, 1] = cov[1, 1]  # the fused yaw rate does not inherit the wheels' slip
            twist_cov[0, 1] = twist_cov[1, 0] = cov[0, 1]
        self._publish(msg.header.stamp if stamp_s > 0.0 else self.get_clock().now().to_msg(), v, w, twist_cov)

    def _reject(self, why: str) -> None:
        self._rejected_msgs += 1
        self.warn_throttled(f'rejected {why}')

    def _fuse(self, est: TwistEstimate, now: float) -> tuple[float, float, np.ndarray, bool]:
        """(v, w, independent 2x2 covariance, gyro used): the gyro yaw rate fused in yaw_rate mode."""
        cov = est.cov.copy()
        if self.params.snapshot.imu_fusion != 'yaw_rate':
            return est.v, est.w, cov, False
        imu = self._fresh_imu(now)
        if imu is None:
            return est.v, est.w, cov, False
        wheel_var = max(est.total_cov[1, 1], 1e-12)  # slip included: it is what the gyro corrects
        w, var = fuse_rates(est.w, wheel_var, imu[0], self.params.snapshot.imu_yaw_rate_stddev ** 2)
        scale = math.sqrt(var / wheel_var)
        cov[0, 1] *= scale
        cov[1, 0] *= scale
        cov[1, 1] = var
        return est.v, w, cov, True

    def _apply_imu_yaw(self, now: float) -> None:
        if self.params.snapshot.imu_fusion != 'yaw':
            return
        imu = self._fresh_imu(now)
        if imu is not None and imu[1] is not None:
            self.odom.set_yaw(self._imu_yaw.odom_yaw(imu[1], self.odom.yaw), self.params.snapshot.imu_yaw_stddev ** 2)

    # --- output -------------------------------------------------------------------------------------------------
    def _publish(self, stamp: object, v: float, w: float, twist_cov: np.ndarray) -> None:
        o = self.odom
        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = self._odom_frame
        msg.child_frame_id = self._base_frame
        msg.pose.pose.position.x, msg.pose.pose.position.y = o.x, o.y
        msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(o.yaw / 2), math.cos(o.yaw / 2)
        # float64 arrays go into the message as they are (a list would be checked value by value)
        pose = list(_UNKNOWN_FLAT_LIST)
        for k, value in zip(_PLANAR_SLOT_LIST, (c for row in o.covariance_rows() for c in row), strict=True):
            pose[k] = value
        msg.pose.covariance = np.array(pose)
        msg.twist.twist.linear.x, msg.twist.twist.angular.z = v, w
        # (vx, vy, wz): lateral slip is unmodelled, so vy is as uncertain as vx; the other planar slots are 0
        (vv, vw), (wv, ww) = twist_cov.tolist()
        twist = list(_TWIST_TEMPLATE_LIST)
        twist[0], twist[5], twist[30], twist[35], twist[_VY_SLOT] = vv, vw, wv, ww, vv
        msg.twist.covariance = np.array(twist)
        self._pub.publish(msg)
        if self._tf is not None:
            self._send_tf(msg)

    def _send_tf(self, odom: Odometry) -> None:
        from geometry_msgs.msg import TransformStamped

        tf = TransformStamped()
        tf.header = odom.header
        tf.child_frame_id = odom.child_frame_id
        tf.transform.translation.x = odom.pose.pose.position.x
        tf.transform.translation.y = odom.pose.pose.position.y
        tf.transform.rotation = odom.pose.pose.orientation
        self._tf.sendTransform(tf)  # type: ignore[attr-defined]

    def _diagnostics(self) -> None:
        est = self._last_est
        fused = self.params.snapshot.imu_fusion != 'none' and self._fresh_imu() is not None
        values = {
            'x': f'{self.odom.x:.3f}', 'y': f'{self.odom.y:.3f}', 'yaw': f'{self.odom.yaw:.4f}',
            'distance_m': f'{self.odom.distance:.3f}', 'samples': self._samples,
            'rejected_messages': self._rejected_msgs, 'gaps': self._gaps, 'imu_fused': fused,
            'implausible_wheel_rates': self._implausible,
            'wheel_sigma_mps': f'{est.sigma:.5f}' if est else 'n/a',
        }
        for i, name in enumerate(self.layout.names):
            values[f'outliers_{name}'] = int(self._outlier_count[i])
            values[f'outlier_share_{name}'] = f'{self._outlier_rate[i]:.2f}'
            if est is not None:
                values[f'slip_{name}'] = f'{est.slip[i]:.3f}'
        persistent = [n for n, r in zip(self.layout.names, self._outlier_rate, strict=True) if r > PERSISTENT_OUTLIER]
        if self._samples == 0:
            level, message = DIAG_OK, 'waiting for joint_states'
        elif persistent:
            level = DIAG_WARN
            message = f'wheel(s) {", ".join(persistent)} persistently disagree (stalled motor, encoder fault?)'
        elif est is not None and est.rejected:
            names = [self.layout.names[i] for i in np.flatnonzero(~est.used & np.isfinite(est.residual))]
            level, message = DIAG_OK, f'integrating; wheel(s) {", ".join(names)} slipping: left out'
        else:
            level, message = DIAG_OK, 'integrating'
        self.publish_diagnostic(level, message, values)


_PLANAR_SLOT_LIST = tuple(6 * r + c for r in (0, 1, 5) for c in (0, 1, 5))  # x, y, yaw (or vx, vy, wz) in the 6x6
_VY_SLOT = 7
_UNKNOWN_FLAT_LIST = tuple(UNKNOWN_VARIANCE if k % 7 == 0 else 0.0 for k in range(36))  # 6x6 row-major diagonal
_TWIST_TEMPLATE_LIST = tuple(0.0 if k in _PLANAR_SLOT_LIST else v for k, v in enumerate(_UNKNOWN_FLAT_LIST))


def main() -> None:
    sys.exit(run_node(WheelOdometryNode))


if __name__ == '__main__':
    main()
