"""`drive_controller`: cmd_vel (TwistStamped) -> joint_commands (JointState) for the 6 wheels and 4 corners.

Thin shell around `DriveKinematics` (and `GyroAssist` for point turns, fed by `imu`; and the
suspension compensation, fed by the IMU pitch rate and the rocker/bogie rates of `joint_states`);
its watchdog, freshness and diagnostics decisions are the pure cores of `controller_core`. Event
driven for lockstep simulation: one joint_commands per cmd_vel, stamped with the cmd_vel's
stamp. A watchdog on the node clock (sim time aware)
publishes zero wheel speed with the steering held while cmd_vel is stale (`cmd_vel_timeout`) or
the e-stop is latched, at `watchdog_period`.

E-stop protocol (`rover_nav.runtime.estop_link`): `estop` (std_msgs/Bool, latched QoS) `true`
latches a stop, which this node then holds on `estop` itself; `false` never clears it, only the
`estop/cleared` notice of the speed limiter's `estop/reset` service (std_srvs/Trigger).
Measured steering angles come from `joint_states`.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys
from typing import Any

from geometry_msgs.msg import TwistStamped
import numpy as np
from sensor_msgs.msg import Imu, JointState

from rover_description.geometry import HardLimits
from rover_description.rotations import rpy_matrix
from rover_nav.drive import controller_core as core
from rover_nav.drive import joints, suspension
from rover_nav.drive.gyro_assist import GyroAssist, GyroAssistConfig
from rover_nav.drive.kinematics import DriveCommand, DriveKinematics, DriveLimits
from rover_nav.drive.layout import WheelLayout
from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import all_finite, stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.estop_link import EstopLink
from rover_nav.runtime.geometry_param import geometry_for
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, Params, ParamSpec
from rover_nav.runtime.rover_node import RoverNode

PARAMS = (
    shared.PROFILE,
    shared.MAX_WHEEL_SPEED,
    ParamSpec('min_turning_radius', float, 1.0, 'm; tighter curvature is clamped while moving (point turns only '
              'near zero speed). Too small lets the corners hit their servo limits at speed.', lo=0.01, hi=1e4),
    shared.CMD_VEL_TIMEOUT,
    shared.MAX_CLOCK_SKEW,
    ParamSpec('steer_tolerance', float, 0.1, 'rad; the wheels wait while any corner is further than this from its '
              'target angle. Too large scrubs the wheels through turns.', lo=0.005, hi=1.5),
    ParamSpec('steer_resume_tolerance', float, 0.05, 'rad; waiting wheels start when every corner is within this '
              "of its target (<= steer_tolerance). Below the servos' steady-state error under load the rover "
              'never starts.', lo=0.001, hi=1.5),
    ParamSpec('steer_stall_warning', float, 5.0, 's of continuous waiting for the corners before /diagnostics '
              'warns (a jammed or weak steering servo).', lo=0.1, hi=600.0),
    ParamSpec('v_eps', float, 0.002, 'm/s; at or below it a yaw-rate request becomes a point turn. Must be below '
              'v_eps_exit.', lo=1e-5, hi=1.0),
    ParamSpec('v_eps_exit', float, 0.005, 'm/s; a point turn is left only when |v| rises above it (hysteresis: '
              'too close to v_eps and the corners chatter between modes).', lo=1e-5, hi=1.0),
    ParamSpec('w_eps', float, 0.002, 'rad/s; a smaller yaw rate at |v| <= v_eps is a stop (steering held).',
              lo=1e-6, hi=1.0),
    ParamSpec('gyro_assist', bool, False, 'Point turns use the IMU gyro to turn by the commanded angle despite '
              'wheel slip, including the time spent waiting for the corners (rate x duration = angle). Off: pure '
              'kinematics, so open-loop scripts must budget the steering swing and slip themselves. A stale IMU '
              'turns it off by itself.'),
    ParamSpec('gyro_assist_gain', float, 0.5, '1/s; how fast the point-turn angle deficit is made up.',
              lo=0.0, hi=10.0),
    ParamSpec('gyro_assist_max_boost', float, 0.3, 'Largest relative change of the point-turn rate the assist may '
              'ask for (0.3 = +/-30 %); bounds the damage of a wrong gyro.', lo=0.0, hi=0.9),
    ParamSpec('suspension_compensation', bool, True, 'Wheel rates corrected for the pitching of the rocker/bogie '
              'each hub motor sits on (IMU pitch rate + rocker/bogie joint rates, chain from the URDF): without it '
              'the rover overshoots the commanded speed while a wheel drops over an edge (e.g. the lander deck). '
              'Stale or missing rates: no correction, driving goes on.'),
    ParamSpec('suspension_compensation_max', float, 0.2, "Largest slow-down of a wheel's rate command by the "
              'suspension compensation, as a fraction of that command (0.2 = 20 %; it never speeds a wheel up); '
              'a zero command stays zero and no wheel reverses. Bounds the damage of a wrong rate.',
              lo=0.0, hi=0.9),
    ParamSpec('suspension_settle_time', float, 1.0, 's the wheel-rate command must be steady (within 2 %, no '
              'wheel stopped) before the suspension compensation applies. Start-up and post-turn transients '
              'bounce the suspension; correcting them feeds the bounce (0.07 m/s peaks on the square).',
              lo=0.0, hi=60.0),
    ParamSpec('suspension_rate_spike', float, 0.1, 'rad/s; a body or rocker/bogie pitch rate above this is a '
              'bounce, not terrain: no compensation until the rates are quiet again.', lo=1e-3, hi=10.0),
    ParamSpec('suspension_rate_tau', float, 0.3, 's; time constant of the low-pass on the pitch rates used by '
              'the suspension compensation (longer: smoother but later).', lo=0.0, hi=10.0),
    ParamSpec('suspension_rate_timeout', float, 0.3, 's; an older IMU sample or joint_states is not used by '
              'the suspension compensation (it then stays off).', lo=0.01, hi=60.0),
    shared.IMU_TIMEOUT,
    shared.WATCHDOG_PERIOD,
    shared.DIAGNOSTICS_PERIOD,
)


@dataclass(frozen=True)
class DriveControllerParams(Params):
    """drive_controller's parameter values, typed: one field per entry of PARAMS."""

    profile: str
    max_wheel_speed: float
    min_turning_radius: float
    cmd_vel_timeout: float
    max_clock_skew: float
    steer_tolerance: float
    steer_resume_tolerance: float
    steer_stall_warning: float
    v_eps: float
    v_eps_exit: float
    w_eps: float
    gyro_assist: bool
    gyro_assist_gain: float
    gyro_assist_max_boost: float
    suspension_compensation: bool
    suspension_compensation_max: float
    suspension_settle_time: float
    suspension_rate_spike: float
    suspension_rate_tau: float
    suspension_rate_timeout: float
    imu_timeout: float
    watchdog_period: float
    diagnostics_period: float


def _cross_check(snap: DriveControllerParams) -> None:
    if snap.v_eps_exit <= snap.v_eps:
        raise ConfigError(f"parameter 'v_eps_exit' = {snap.v_eps_exit} must be greater than 'v_eps' = {snap.v_eps}")
    if snap.steer_resume_tolerance > snap.steer_tolerance:
        raise ConfigError(f"parameter 'steer_resume_tolerance' = {snap.steer_resume_tolerance} must not exceed "
                          f"'steer_tolerance' = {snap.steer_tolerance}")


def limits_from(snap: DriveControllerParams, hard: HardLimits | None = None) -> DriveLimits:
    """The kinematics limits out of a parameter snapshot, capped by the rover's hard limits (if given):
    the drive never commands more than the description's top speed and wheel speed, whatever its
    parameters or cmd_vel say."""
    hard = hard or HardLimits()
    return DriveLimits(max_wheel_speed=min(snap.max_wheel_speed, hard.wheel_speed),
                       min_turning_radius=snap.min_turning_radius,
                       v_eps=snap.v_eps, v_eps_exit=snap.v_eps_exit, w_eps=snap.w_eps,
                       steer_tolerance=snap.steer_tolerance, steer_resume_tolerance=snap.steer_resume_tolerance,
                       max_linear_speed=hard.top_speed)


def assist_config_from(snap: DriveControllerParams) -> GyroAssistConfig:
    return GyroAssistConfig(gain=snap.gyro_assist_gain, max_boost=snap.gyro_assist_max_boost)


def load_suspension(profile: str, layout: WheelLayout) -> suspension.SuspensionModel:
    """The suspension chain of a description profile (ConfigError if it cannot be built)."""
    from rover_description.description import urdf_model

    try:
        return suspension.SuspensionModel.from_urdf(urdf_model(profile), layout.wheel_joints, layout.radius.tolist())
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"parameter 'profile' = {profile!r}: unusable suspension chain: {exc}") from exc


def compensator_from(snap: DriveControllerParams, model: suspension.SuspensionModel,
                     layout: WheelLayout) -> suspension.SuspensionCompensator:
    """A fresh suspension compensator configured from a parameter snapshot."""
    return suspension.SuspensionCompensator(
        model, snap.suspension_compensation_max, snap.suspension_settle_time,
        suspension.RateFilter(tau=snap.suspension_rate_tau, spike=snap.suspension_rate_spike,
                              max_gap=snap.suspension_rate_timeout),
        suspension.axle_groups(layout.x))


def load_layout(profile: str) -> WheelLayout:
    """The wheel layout of a description profile (ConfigError if the description cannot give one)."""
    geometry = geometry_for(profile)
    try:
        return WheelLayout.from_geometry(geometry)
    except ValueError as exc:
        raise ConfigError(f"parameter 'profile' = {profile!r}: unusable wheel layout: {exc}") from exc




class DriveControllerNode(RoverNode[DriveControllerParams]):
    """cmd_vel -> joint_commands; watchdog, e-stop latch, measured steering, diagnostics."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('drive_controller', PARAMS, cross_check=_cross_check, params_type=DriveControllerParams,
                         **kwargs)
        snap = self.params.snapshot
        self.layout = load_layout(snap.profile)
        self.hard_limits = geometry_for(snap.profile).limits
        self.apply_hard_limits(self.hard_limits, snap.profile)
        self._steer_idx = tuple(self.layout.steer_index.tolist())
        self._assist = GyroAssist(assist_config_from(snap))
        self.drive = DriveKinematics(self.layout, limits_from(snap, self.hard_limits),
                                     self._assist if snap.gyro_assist else None)
        from rover_description.geometry import load_geometry

        self._imu_mount = core.ImuMount(rpy_matrix(*load_geometry(snap.profile).imu.rpy).tolist())
        self._gyro: tuple[float, float] | None = None  # (body yaw rate rad/s, receive time s)
        self._pitch: tuple[float, float] | None = None  # (body pitch rate rad/s, receive time s)
        self._susp_rates: tuple[list[float], float] | None = None  # (joint rates rad/s, receive time s)
        self._susp_active = False
        self._susp_fresh = False
        self.suspension = load_suspension(snap.profile, self.layout)
        self._joint_index = joints.JointIndex(self.layout, self.suspension.joints)
        self._compensator = compensator_from(snap, self.suspension, self.layout)
        if not self.drive.point_turn_feasible:
            self.get_logger().warning(f'profile {snap.profile!r}: steering limits do not allow point turns; '
                                      'turn-in-place requests will stop the rover')
        self.params.on_change(self._reconfigure)
        self._pub = self.create_publisher(JointState, 'joint_commands', qos.COMMAND)
        self.create_subscription(TwistStamped, 'cmd_vel', self._on_cmd_vel, qos.COMMAND)
        self.create_subscription(JointState, 'joint_states', self._on_joint_states, qos.SENSOR_SUB)
        self.estop_link = EstopLink(self, self._on_latch, self._on_clear, hold=True, on_repeat=self._diagnostics)
        self.create_subscription(Imu, 'imu', self._on_imu, qos.SENSOR_SUB)
        self._gate = core.CommandGate(snap.cmd_vel_timeout)
        self._rejected = 0
        self._last: DriveCommand | None = None
        self._waiting_since: float | None = None
        self.create_timer(snap.watchdog_period, self._watchdog)
        self.create_timer(snap.diagnostics_period, self._diagnostics)
        self.get_logger().info(
            f'drive ready: profile {snap.profile}, curvature limits left {self.drive.kappa_max_left:.3f} / right '
            f'{self.drive.kappa_max_right:.3f} 1/m, point turns {"on" if self.drive.point_turn_feasible else "off"}')

    def _reconfigure(self, snap: DriveControllerParams) -> None:
        self.drive.set_limits(limits_from(snap, self.hard_limits))
        self._assist.config = assist_config_from(snap)
        self._assist.reset()
        self.drive.assist = self._assist if snap.gyro_assist else None
        self._compensator = compensator_from(snap, self.suspension, self.layout)
        self._gate.set_timeout(snap.cmd_vel_timeout)

    # --- inputs -------------------------------------------------------------------------------------------------
    def _on_imu(self, msg: Imu) -> None:
        av = msg.angular_velocity
        rates = self._imu_mount.rates(av.x, av.y, av.z)
        if rates is None:
            self.warn_throttled('rejected imu: non-finite angular velocity')
            return
        now = self.now_s()
        self._gyro = (rates[0], now)
        self._pitch = (rates[1], now)

    def _fresh_yaw_rate(self, now: float) -> float | None:
        return core.fresh(self._gyro, now, self.params.snapshot.imu_timeout)

    def _on_cmd_vel(self, msg: TwistStamped) -> None:
        now = self.now_s()
        snap = self.params.snapshot
        t = msg.twist
        stamp_ok = not stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, snap.max_clock_skew)
        stamp = msg.header.stamp if stamp_ok else self.get_clock().now().to_msg()
        values = (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z)
        if not all_finite(values) or not stamp_ok:
            self._rejected += 1
            why = 'non-finite twist' if stamp_ok else f'stamp more than {snap.max_clock_skew} s ahead of the clock'
            self.warn_throttled(f'rejected cmd_vel ({why}): stopping')
            self._publish(self.drive.hold(now), stamp, now)
            return
        if self._gate.command(now):
            self.get_logger().info('cmd_vel fresh: driving')
        if self._gate.estop:
            self._publish(self.drive.hold(now), stamp, now)
            return
        cmd = self.drive.command(t.linear.x, t.angular.z, now, yaw_rate=self._fresh_yaw_rate(now))
        self._publish(self._compensated(cmd, now), stamp, now)

    def _compensated(self, cmd: DriveCommand, now: float) -> DriveCommand:
        snap = self.params.snapshot
        if not snap.suspension_compensation:
            self._susp_active = False
            return cmd
        rates = core.suspension_rates(self._pitch, self._susp_rates, now, snap.suspension_rate_timeout)
        self._susp_fresh = rates is not None
        wheel_rate = self._compensator.command(cmd.wheel_rate, cmd.steer, rates, now, self.layout.max_wheel_rate)
        self._susp_active = self._compensator.active
        if not self._susp_active:
            return cmd
        return DriveCommand(cmd.steer, wheel_rate, cmd.surface_speed, cmd.v, cmd.w, cmd.mode, cmd.stopped, cmd.clamped,
                            cmd.saturated, cmd.waiting, cmd.infeasible, cmd.steer_error)  # dataclasses.replace, faster

    def _on_joint_states(self, msg: JointState) -> None:
        names, index = msg.name, self._joint_index
        try:
            angles = index.steer_angles(names, msg.position)
        except joints.JointStateError as exc:
            self.warn_throttled(f'rejected joint_states: {exc}')
            return
        named, susp = index.steer_named(names), index.extra_indices(names)
        finite = [math.isfinite(angles[k]) for k in self._steer_idx]
        if any(n and not f for n, f in zip(named, finite, strict=True)):
            self.warn_throttled('joint_states: non-finite steering angle ignored')
        now = self.now_s()
        if any(finite):
            self.drive.observe_steering(np.array(angles), now)
        self._observe_suspension(msg, now, susp)

    def _observe_suspension(self, msg: JointState, now: float, susp: tuple[int, ...] | None) -> None:
        """Keep the rocker/bogie joint rates (all present and finite, or none)."""
        velocity = msg.velocity
        if len(velocity) != len(msg.name):
            return  # position-only joint states: no rates (steering already handled)
        if susp is None:
            return
        rates = [float(velocity[i]) for i in susp]
        if all(math.isfinite(v) for v in rates):
            self._susp_rates = (rates, now)

    def _on_latch(self, source: str) -> None:
        self._gate.latch(self.now_s())
        self.publish_event('estop', f'drive stopped: e-stop latched ({source})')
        self._publish(self.drive.hold(self.now_s()), self.get_clock().now().to_msg())
        self._diagnostics()  # confirms at once: `rover estop` waits for estop=True

    def _on_clear(self) -> None:
        self._gate.clear(self.now_s())
        self.get_logger().info('e-stop cleared (estop/reset): drive accepts cmd_vel again')
        self._diagnostics()

    # --- timers -------------------------------------------------------------------------------------------------
    def _watchdog(self) -> None:
        now = self.now_s()
        tick = self._gate.tick(now)
        if tick.timed_out:
            self.publish_event('command_timeout',
                               f'no cmd_vel for {self._gate.timeout_s:.2f} s: wheels stopped, steering held')
        if tick.hold:
            self._publish(self.drive.hold(now), self.get_clock().now().to_msg(), now)

    def _diagnostics(self) -> None:
        last = self._last
        snap = self.params.snapshot
        now = self.now_s()
        gate = self._gate
        values = {
            'mode': self.drive.mode, 'estop': gate.estop, 'stale': gate.stale, 'rejected_commands': self._rejected,
            'v': f'{last.v:.4f}' if last else 'n/a', 'w': f'{last.w:.4f}' if last else 'n/a',
            'waiting_for_steering': bool(last and last.waiting), 'saturated': bool(last and last.saturated),
            'curvature_clamped': bool(last and last.clamped),
            'gyro_assist_deficit_rad': f'{self._assist.deficit:.3f}',
            'gyro_fresh': self._fresh_yaw_rate(now) is not None,
            'suspension_compensation': core.suspension_status(snap.suspension_compensation, self._susp_active,
                                                              self._susp_fresh),
            'steer_error_rad': f'{last.steer_error:.3f}' if last else 'n/a',
        }
        level, message = core.drive_status(
            estop=gate.estop, stale=gate.stale, has_command=gate.last_command_t is not None,
            waiting_for_s=None if self._waiting_since is None else now - self._waiting_since,
            stall_warning_s=snap.steer_stall_warning,
            last=None if last is None else core.LastCommand(last.stopped, last.waiting, last.infeasible,
                                                            last.steer_error))
        self.publish_diagnostic(level, message, values)

    # --- output -------------------------------------------------------------------------------------------------
    def _publish(self, cmd: DriveCommand, stamp: object, now: float | None = None) -> None:
        self._last = cmd
        if not cmd.waiting:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = self.now_s() if now is None else now
        msg = JointState()
        msg.header.stamp = stamp
        msg.name, msg.position, msg.velocity = joints.command_fields(self.layout, cmd.steer, cmd.wheel_rate)
        self._pub.publish(msg)

    def on_shutdown(self) -> None:
        """Last words: zero wheel speed, steering held."""
        self._publish(self.drive.hold(self.now_s()), self.get_clock().now().to_msg())


def main() -> None:
    sys.exit(run_node(DriveControllerNode))


if __name__ == '__main__':
    main()
