"""`hardware_driver`: the lifecycle node that runs the real rover board (ROVER_SPEC section 7).

configure opens the devices (and sets every RoboClaw's serial timeout, or fails), activate lets
the motors run, deactivate stops and centres them, cleanup releases the devices. Topics
(relative names): subscribes `joint_commands` (sensor_msgs/JointState, reliable depth 1) and
`estop` (std_msgs/Bool, latched); publishes `joint_states` and `imu` (sensor QoS), `battery`
(sensor_msgs/BatteryState), `estop` (true when the GPIO switch trips), `events` and
`/diagnostics`. With `autostart: true` it configures (retrying every few seconds, e.g. until
motor power is on) and activates itself.

E-stop protocol (shared with the chain): `estop` true from anyone latches a stop here; the
speed limiter owns the `estop/reset` service and announces `estop/cleared` after a reset, which
releases this latch (a plain `false` on `estop` does not), unless the GPIO switch is still open:
then the driver publishes `estop` true again, so the whole chain stays stopped while the
mushroom is pressed.

All the behaviour lives in `DriverCore`; this shell converts messages and owns the timers.
"""

from __future__ import annotations

import math
import sys
from typing import Any
import weakref

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import BatteryState, Imu, JointState
from std_msgs.msg import Bool

from rover_nav.hardware.config import SPECS, HardwareParams, build_config, cross_check, load_profile_geometry
from rover_nav.hardware.devices import DeviceFactories
from rover_nav.hardware.driver_core import DriverCore, HardwareError, parse_joint_command
from rover_nav.runtime import qos
from rover_nav.runtime.checks import stamp_seconds, stamp_too_far_ahead
from rover_nav.runtime.estop_link import EstopLink
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError
from rover_nav.runtime.rover_node import RoverNode

NODE_NAME = 'hardware_driver'
RCLError = _rclpy.RCLError
AUTOSTART_RETRY_S = 5.0
# Approximate BNO055 noise (datasheet order of magnitude): roll/pitch ~1 deg, yaw relative.
_ORIENTATION_VAR = {'imuplus': (3e-4, 3e-4, 1e-2), 'ndof': (3e-4, 3e-4, 3e-3)}
_GYRO_VAR = 2.5e-5
_ACCEL_VAR = 1e-3


class HardwareDriverNode(RoverNode[HardwareParams], LifecycleNode):
    """The lifecycle shell around `DriverCore`. `geometry`/`factories` are injectable for tests."""

    def __init__(self, geometry: Any = None, factories: DeviceFactories | None = None, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, SPECS, cross_check, params_type=HardwareParams, **kwargs)
        self._geometry = geometry
        self._factories = factories
        self.core: DriverCore | None = None
        self._motion_timers: list[Any] = []
        self._configured_timers: list[Any] = []
        self._published_estop = False
        hard = getattr(geometry if geometry is not None else load_profile_geometry(self.params.snapshot.profile),
                       'limits', None)
        if hard is not None:  # no runtime change may raise max_wheel_speed above the description's rating
            self.apply_hard_limits(hard, self.params.snapshot.profile)
        self.params.on_change(self._on_params)
        self.create_subscription(JointState, 'joint_commands', self._on_commands, qos.COMMAND)
        # e-stop protocol (docs/safety_chain.md): true latches; only estop/cleared (estop/reset) clears
        self.estop_link = EstopLink(self, self._on_estop_latched, self._on_estop_cleared, hold=False,
                                    clear_always=True)
        self._joint_pub = self.create_publisher(JointState, 'joint_states', qos.SENSOR_PUB)
        self._imu_pub = self.create_publisher(Imu, 'imu', qos.SENSOR_PUB)
        self._battery_pub = self.create_publisher(BatteryState, 'battery', qos.COMMAND)
        self._estop_pub = self.create_publisher(Bool, 'estop', qos.LATCHED)
        self._imu_group = MutuallyExclusiveCallbackGroup()  # IMU reads run beside the motor loop
        self._guard_lifecycle_services()
        self._autostart_timer = None
        if self.params.snapshot.autostart:
            self._autostart_timer = self.create_timer(0.05, self._autostart)

    # -- lifecycle ------------------------------------------------------------------------------

    def _guard_lifecycle_services(self) -> None:
        """Make the lifecycle services safe to call at any time, in any state.

        rclpy's change_state raises RCLError ("Transition is not registered") for a transition
        that is invalid in the current state (activate while unconfigured, an unknown id): in the
        executor that kills the node. Here it is answered with success = false instead. The
        read-only queries (get_state, available states/transitions) get their own callback group,
        so they answer while the motor loop or a configure retry waits on a dead serial line.
        """
        change = getattr(self, '_service_change_state', None)
        if change is None:
            return
        inner = change.callback

        def guarded_change_state(request: Any, response: Any) -> Any:
            transition = request.transition
            if not transition.label and transition.id not in self._available_transition_ids():
                self.get_logger().warning(f'change_state: transition id {transition.id} is not available in '
                                          f'state {self._state_machine.current_state[1]}: refused')
                response.success = False
                return response
            try:
                return inner(request, response)
            except RCLError as exc:
                self.get_logger().warning(f'change_state refused: {exc}')
                response.success = False
                return response

        change.callback = guarded_change_state
        queries = MutuallyExclusiveCallbackGroup()
        for name in ('_service_get_state', '_service_get_available_states', '_service_get_available_transitions',
                     '_service_get_transition_graph'):
            service = getattr(self, name, None)
            if service is None:
                continue
            service.callback_group.entities.discard(weakref.ref(service))
            service.callback_group = queries
            queries.add_entity(service)

    def _available_transition_ids(self) -> set[int]:
        return {t[0] for t in self._state_machine.available_transitions}

    def _autostart(self) -> None:
        timer = self._autostart_timer
        if timer is None:  # only ever called by that timer
            return
        timer.timer_period_ns = int(AUTOSTART_RETRY_S * 1e9)
        try:
            if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                self.get_logger().error(f'autostart: configure failed; retrying in {AUTOSTART_RETRY_S:.0f} s')
                return
            timer.cancel()
            self.trigger_activate()
        except Exception as exc:  # e.g. someone configured it by hand first: not a transition from here
            timer.cancel()
            self.get_logger().warning(f'autostart stopped: {exc}')

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        snap = self.params.snapshot
        try:
            geometry = self._geometry if self._geometry is not None else load_profile_geometry(snap.profile)
            self._wheel_radius = float(geometry.wheel_radius)
            cfg = build_config(snap, geometry)
        except ConfigError as exc:
            self.get_logger().error(f'configure failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        core = DriverCore(cfg, self._factories)
        try:
            core.open()
        except (HardwareError, ConfigError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self.publish_diagnostic(2, f'configure failed: {exc}', name=f'{self.get_name()}: devices')
            return TransitionCallbackReturn.FAILURE
        self.core = core
        if self.estop_link.latched:  # latched before the devices were open: they start stopped
            core.trip_estop(self.now_s(), 'estop topic')
        for address, version in core.versions.items():
            timeout = core.serial_timeouts[address]
            self.get_logger().info(f'RoboClaw {address}: {version}; its own serial timeout is {timeout:.1f} s')
        if snap.steering_enabled:
            self.get_logger().info('steering angles in joint_states are MODELLED (slew rate '
                                   f'{cfg.steer_rate:.2f} rad/s): hobby servos have no feedback')
        self._configured_timers = [
            self.create_timer(snap.diagnostics_period_s, self._publish_diagnostics),
            self.create_timer(snap.battery_period_s, self._publish_battery),
        ]
        if snap.estop_enabled:
            self._configured_timers.append(self.create_timer(1.0 / snap.estop_poll_hz, self._poll_estop))
        self._poll_estop()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.core is None:
            return TransitionCallbackReturn.FAILURE
        snap = self.params.snapshot
        self.core.activate(self.now_s())
        self._motion_timers = [self.create_timer(1.0 / snap.control_rate_hz, self._tick)]
        if snap.imu_enabled:
            self._motion_timers.append(self.create_timer(1.0 / snap.imu_rate_hz, self._publish_imu,
                                                         callback_group=self._imu_group))
        self.get_logger().info('active: motors enabled (they start on the first fresh joint_commands)')
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy(self._motion_timers)
        if self.core is not None:
            self.core.deactivate(self.now_s())
        self.get_logger().info('inactive: motors stopped, steering centred')
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState | None = None) -> TransitionCallbackReturn | None:
        """Lifecycle shutdown transition AND run_node's exit hook: stop, centre, release."""
        self._release()
        return TransitionCallbackReturn.SUCCESS if state is not None else None

    def _release(self) -> None:
        self._destroy(self._motion_timers)
        self._destroy(self._configured_timers)
        if self.core is not None:
            self.core.close()
            self.core = None

    def _destroy(self, timers: list[Any]) -> None:
        for timer in timers:
            self.destroy_timer(timer)
        timers.clear()

    def _on_params(self, snap: HardwareParams) -> None:
        if self.core is not None:
            self.core.update_params(snap, self._wheel_radius)

    # -- inputs ---------------------------------------------------------------------------------

    def _on_commands(self, msg: JointState) -> None:
        core = self.core
        if core is None or not core.active:
            return
        now = self.now_s()
        if stamp_too_far_ahead(stamp_seconds(msg.header.stamp), now, self.params.snapshot.max_clock_skew):
            core.rejected_commands += 1
            self.warn_throttled('joint_commands stamped in the future beyond max_clock_skew: ignored')
            return
        try:
            cmd = parse_joint_command(list(msg.name), list(msg.position), list(msg.velocity))
        except (ValueError, TypeError) as exc:
            core.rejected_commands += 1
            self.warn_throttled(f'malformed joint_commands ignored: {exc}')
            return
        core.command(now, cmd)

    def _on_estop_latched(self, source: str) -> None:
        core = self.core
        if core is not None and core.trip_estop(self.now_s(), source):
            self.publish_event('estop', 'e-stop received on estop: motors stopped until estop/reset')

    def _on_estop_cleared(self) -> None:
        core = self.core
        if core is None:
            return
        was_latched = core.estop.latched
        released, message = core.reset_estop(self.now_s())
        if not released:  # the mushroom is still pressed: keep everyone stopped
            self.get_logger().warning(f'estop/reset refused here: {message}; publishing estop true again')
            self._announce_gpio_estop()
            return
        if self._published_estop:
            self._estop_pub.publish(Bool(data=False))  # our latched true must not stop late joiners
            self._published_estop = False
        if was_latched:
            self.get_logger().info('e-stop released: motors run again on the next fresh joint_commands')

    def _poll_estop(self) -> None:
        if self.core is not None and self.core.poll_estop(self.now_s()):
            self._announce_gpio_estop()

    def _announce_gpio_estop(self) -> None:
        self._estop_pub.publish(Bool(data=True))
        self._published_estop = True
        self.publish_event('estop', 'GPIO e-stop switch open (pressed or wire cut): motors stopped')

    # -- outputs --------------------------------------------------------------------------------

    def _tick(self) -> None:
        core = self.core
        if core is None:
            return
        report = core.tick(self.now_s())
        for kind, detail in report.events:
            if kind == 'estop':
                self._announce_gpio_estop()
            else:
                self.publish_event(kind, detail)
        if report.joints.names:
            msg = JointState(name=report.joints.names, position=report.joints.positions,
                             velocity=report.joints.velocities)
            msg.header.stamp = self.get_clock().now().to_msg()
            self._joint_pub.publish(msg)

    def _publish_imu(self) -> None:
        core = self.core  # local: this runs in the IMU callback group, beside lifecycle transitions
        if core is None:
            return
        sample = core.read_imu(self.now_s())
        if sample is None:
            self.warn_throttled('BNO055 read failed or fusion not ready: no imu published')
            return
        snap = self.params.snapshot
        msg = Imu()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = snap.frame_prefix + 'imu_link'
        w, x, y, z = sample.orientation
        msg.orientation.w, msg.orientation.x, msg.orientation.y, msg.orientation.z = w, x, y, z
        (msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z) = sample.angular_velocity
        (msg.linear_acceleration.x, msg.linear_acceleration.y,
         msg.linear_acceleration.z) = sample.linear_acceleration
        roll_var, pitch_var, yaw_var = _ORIENTATION_VAR[snap.imu_mode]
        msg.orientation_covariance = [roll_var, 0.0, 0.0, 0.0, pitch_var, 0.0, 0.0, 0.0, yaw_var]
        msg.angular_velocity_covariance = [_GYRO_VAR, 0.0, 0.0, 0.0, _GYRO_VAR, 0.0, 0.0, 0.0, _GYRO_VAR]
        msg.linear_acceleration_covariance = [_ACCEL_VAR, 0.0, 0.0, 0.0, _ACCEL_VAR, 0.0, 0.0, 0.0, _ACCEL_VAR]
        self._imu_pub.publish(msg)

    def _publish_battery(self) -> None:
        core = self.core
        if core is None or core.battery_volts is None:
            return
        msg = BatteryState()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.voltage = float(core.battery_volts)
        nan = math.nan
        msg.temperature = msg.current = msg.charge = msg.capacity = msg.design_capacity = nan
        msg.percentage = nan
        msg.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
        msg.power_supply_health = (BatteryState.POWER_SUPPLY_HEALTH_DEAD if core.battery.low
                                   else BatteryState.POWER_SUPPLY_HEALTH_GOOD)
        msg.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_UNKNOWN
        msg.present = True
        msg.location = 'main'
        self._battery_pub.publish(msg)

    def _publish_diagnostics(self) -> None:
        if self.core is None:
            return
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        for item in self.core.diagnostics(self.now_s()):
            array.status.append(DiagnosticStatus(
                level=bytes([item.level]), name=f'{self.get_name()}: {item.name}', message=item.message,
                hardware_id=item.name, values=[KeyValue(key=str(k), value=str(v)) for k, v in item.values.items()]))
        self._diagnostics_pub.publish(array)  # the base class's /diagnostics publisher


def spin_two_threads(node: Any) -> None:
    """Spin with three threads: the IMU group and the lifecycle queries may then run while the motor
    loop waits on serial I/O."""
    executor = MultiThreadedExecutor(num_threads=3, context=node.context)
    executor.add_node(node)
    try:
        executor.spin()
    finally:
        executor.shutdown()


def main() -> None:
    sys.exit(run_node(HardwareDriverNode, spin=spin_two_threads))


if __name__ == '__main__':
    main()
