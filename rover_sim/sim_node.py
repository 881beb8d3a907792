"""`lunar_sim`: the embedded MuJoCo lunar simulator as a ROS 2 node (thin shell around `Simulation`).

Publishes what Gazebo + ros_gz_bridge would: `/clock`, `imu`, `joint_states`, `ground_truth`
(nav_msgs/Odometry in `world`), `hazcam/points` (PointCloud2 in `hazcam_link`, x forward, organised
rows x cols, NaN = no return); obeys `joint_commands` (steering positions, wheel velocities, NaN =
not commanded) and `estop` (Bool, latched: true stops and parks the wheels until the speed limiter's
`estop/reset` announces `estop/cleared`; a plain false clears nothing).

Lockstep protocol (mode `lockstep`, the default):
1. At control tick k (t_k = k / control_rate, t_0 = 0) the simulator publishes `/clock` = t_k, then
   `joint_states` and `ground_truth` stamped t_k, the IMU samples taken since the previous tick
   (stamped at their own sample times, the last one t_k) and any hazcam cloud taken (stamped t_k).
2. It waits for a `joint_commands` message stamped t_k. A stack that does not stamp (stamp 0) is
   recognised at its first timed-out tick (step 4); from then on each command stamped 0 answers.
   Otherwise a stamp of 0 answers only tick 0: a late answer to a repeat of tick 0 steps nothing.
   Chain nodes copy their input stamps, so the drive's answer to tick k carries t_k.
3. On receipt it applies the command and steps the physics to t_{k+1} in the callback, then goes
   to 1 with k + 1. Commands with other stamps update the command but do not step.
4. If no answer arrives within `step_timeout` wall seconds it logs a `missed_step` event and steps
   with the last command anyway (the command watchdog below still applies). Before the first
   command ever arrives (`wait_for_first_command`), it instead re-publishes tick 0, so a chain
   that starts slowly sees the same history as one that starts fast (determinism); with
   `start_subscribers` also until that many ground_truth subscribers matched, and tick 0 has been
   said twice since (a subscriber's own side of a DDS match can complete after the simulator's:
   ticks it is sent before then are lost to it, seen as a track that began at 0.2 s). Over DDS it
   also re-publishes any tick unanswered for REPEAT_PERIOD_S (a lost sample costs 0.5 s, not a
   missed step); not on an intra-process bus, which loses nothing.
Free mode (`free`): a wall-clock timer steps one tick every 1 / (control_rate * real_time_factor) s.
Watchdog: no `joint_commands` for `joint_command_timeout` sim seconds -> wheels stop and park.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import sys
import time
from typing import Any

from geometry_msgs.msg import Quaternion
from nav_msgs.msg import Odometry
import numpy as np
from rclpy.clock import Clock
from rclpy.clock_type import ClockType
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Imu, JointState, PointCloud2, PointField

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS
from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.checks import seconds_to_time
from rover_nav.runtime.estop_link import EstopLink
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, Params, ParamSpec
from rover_nav.runtime.rover_node import DIAG_OK, DIAG_WARN, RoverNode
from rover_sim.materials import METAL, ROCK
from rover_sim.simulation import SimConfig, Simulation

REPEAT_PERIOD_S = 0.5  # wall s between repeats of tick 0 while waiting for the first command

SPECS = (
    shared.WORLD,
    shared.PROFILE,
    ParamSpec('seed', int, 0, 'Seed of the sensor noise; same world + commands + seed -> same run.', lo=0,
              read_only=True),
    ParamSpec('terrain_seed', int, -1, "Replaces the world's terrain.seed (-1: keep the world file's): the "
              'same crater and rock statistics on another terrain.', lo=-1, hi=2**32 - 1, read_only=True),
    ParamSpec('physics_rate', float, 200.0, 'Hz of the MuJoCo steps. Higher is slower; below ~100 Hz the '
              'contacts of the 135 kg rover get bouncy.', lo=100.0, hi=2000.0, read_only=True),
    ParamSpec('control_rate', float, 10.0, 'Hz of the control ticks (/clock, joint_states, ground_truth; '
              'lockstep waits for one joint_commands per tick).', lo=1.0, hi=100.0, read_only=True),
    ParamSpec('mode', str, 'lockstep', 'lockstep: step on each tick joint_commands (deterministic, faster '
              'than real time); free: real-time stepping for live teleop.', choices=('lockstep', 'free'),
              read_only=True),
    ParamSpec('step_timeout', float, 1.0, 'Wall seconds lockstep waits for joint_commands of a tick before it '
              'steps anyway and logs missed_step. Too short on a loaded machine breaks determinism.',
              lo=0.01, hi=60.0),
    ParamSpec('wait_for_first_command', bool, True, 'Lockstep: repeat tick 0 until the first joint_commands '
              'arrives instead of advancing on timeouts (a slow start must not change the run).'),
    ParamSpec('start_subscribers', int, 0, 'Lockstep: also hold tick 0 until ground_truth has this many matched '
              'subscribers (rover run --processes: the operator, the track logger and the run monitor, so a '
              'recorder that starts slowly misses nothing). 0: do not wait.', lo=0, hi=100, read_only=True),
    ParamSpec('real_time_factor', float, 1.0, 'Free mode: simulated seconds per wall second.', lo=0.01, hi=100.0),
    shared.JOINT_COMMAND_TIMEOUT,
    ParamSpec('imu_rate', float, 50.0, 'Hz of IMU samples (published in a burst each tick).', lo=1.0, hi=500.0,
              read_only=True),
    ParamSpec('imu_accel_noise', float, 0.005, 'Accelerometer white noise std (m/s^2).', lo=0.0, hi=5.0),
    ParamSpec('imu_gyro_noise', float, 0.0005, 'Gyro white noise std (rad/s).', lo=0.0, hi=1.0),
    ParamSpec('imu_orientation_noise', float, 0.0, 'Orientation noise std (rad).', lo=0.0, hi=0.5),
    ParamSpec('hazcam_rate', float, 5.0, 'Hz of hazcam clouds (0: the rate in the rover description).', lo=0.0,
              hi=30.0, read_only=True),
    ParamSpec('cloud_noise', float, 0.005, 'Hazcam range noise std (m).', lo=0.0, hi=1.0),
    ParamSpec('hazcam_decimation', int, 2, 'Keep every n-th ray of the ray grid of the description in both '
              'directions (1: full 64x48 grid, ~5x the cost of 2).', lo=1, hi=16, read_only=True),
    ParamSpec('ruts', bool, True, 'Wheels leave ruts in the terrain (and in the physics heightfield).',
              read_only=True),
    shared.variant(shared.OUTPUT_DIR, read_only=False),
    shared.FRAME_PREFIX,
    ParamSpec('diagnostic_period', float, 1.0, 'Sim seconds between /diagnostics reports.', lo=0.1, hi=60.0),
)


@dataclass(frozen=True)
class LunarSimParams(Params):
    """lunar_sim's parameter values, typed: one field per entry of SPECS."""

    world: str
    profile: str
    seed: int
    terrain_seed: int
    physics_rate: float
    control_rate: float
    mode: str
    step_timeout: float
    wait_for_first_command: bool
    start_subscribers: int
    real_time_factor: float
    joint_command_timeout: float
    imu_rate: float
    imu_accel_noise: float
    imu_gyro_noise: float
    imu_orientation_noise: float
    hazcam_rate: float
    cloud_noise: float
    hazcam_decimation: int
    ruts: bool
    output_dir: str
    frame_prefix: str
    diagnostic_period: float


def _cross_check(snap: LunarSimParams) -> None:
    if snap.imu_rate > snap.physics_rate:
        raise ConfigError(f"parameter 'imu_rate' = {snap.imu_rate} must not exceed physics_rate")


class LunarSim(RoverNode[LunarSimParams]):
    """The simulator node; `step()` advances one control tick without an executor (for runners)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('lunar_sim', SPECS, _cross_check, params_type=LunarSimParams, **kwargs)
        from rover_sim.terrain import WorldConfigError, build_terrain, lander_surfaces, load_world

        p = self.params.snapshot
        try:
            world = load_world(p.world)
            if p.terrain_seed >= 0:
                world = world.with_seed(p.terrain_seed)
        except (WorldConfigError, FileNotFoundError) as exc:
            raise ConfigError(f"parameter 'world': {exc}") from exc
        self.terrain = build_terrain(world)
        self.sim = Simulation(self.terrain, SimConfig(
            profile=p.profile, physics_rate=p.physics_rate, imu_rate=p.imu_rate, hazcam_rate=p.hazcam_rate,
            seed=p.seed, imu_accel_noise=p.imu_accel_noise, imu_gyro_noise=p.imu_gyro_noise,
            imu_orientation_noise=p.imu_orientation_noise, cloud_noise=p.cloud_noise,
            hazcam_decimation=p.hazcam_decimation, ruts=p.ruts), rigid_zones=lander_surfaces(world))
        self.period = 1.0 / p.control_rate
        self.tick = 0
        self._imu_covariances: tuple[np.ndarray, np.ndarray, np.ndarray] = _imu_covariances(p)
        self.params.on_change(self._apply_noise)
        prefix = p.frame_prefix
        self._frames = {k: prefix + k for k in ('world', 'base_link', 'imu_link', 'hazcam_link')}
        self._wheel_index = {name: i for i, name in enumerate(WHEEL_JOINTS)}
        self._steer_index = {name: i for i, name in enumerate(STEER_JOINTS)}
        self._clock_pub = self.create_publisher(ClockMsg, '/clock', qos.CLOCK)
        self._imu_pub = self.create_publisher(Imu, 'imu', qos.SENSOR_PUB)
        self._js_pub = self.create_publisher(JointState, 'joint_states', qos.SENSOR_PUB)
        self._gt_pub = self.create_publisher(Odometry, 'ground_truth', qos.STATE)
        self._cloud_pub = self.create_publisher(PointCloud2, 'hazcam/points', qos.SENSOR_PUB)
        self.create_subscription(JointState, 'joint_commands', self._on_commands, qos.COMMAND)
        self.estopped = False
        # e-stop protocol (docs/safety_chain.md): true latches, only estop/cleared (estop/reset) clears
        self.estop_link = EstopLink(self, self._on_estop_latched, self._on_estop_cleared, hold=False)
        self.commands_received = 0
        self.missed_steps = 0
        self._last_command_t = 0.0
        self._timed_out = True  # nothing commanded yet: wheels parked
        self._answered = False
        self._chain_stamps = False  # has any command answered a tick after 0 with its stamp?
        self._zero_stamp_waiting = False  # a command stamped 0 came while waiting for tick k > 0
        self._unstamped_stack = False  # commands stamped 0 answer every tick (see _answers_tick)
        self._published_at = self._said_at = time.monotonic()  # first and latest publication of the tick
        self._said_to_all = 0  # publications of tick 0 made with every expected ground_truth subscriber matched
        self._wall_start = time.monotonic()
        self._next_diag = 0.0
        self.after_step: Any = None  # optional callable after every tick (a viewer's sync)
        self._imu_msgs: list[Imu] = []
        self._cloud_msgs: list[PointCloud2] = []
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        if p.mode == 'free':
            self.create_timer(self.period / p.real_time_factor, self.step, clock=self._steady)
        else:
            self.create_timer(min(0.1, p.step_timeout / 4.0), self._watch_lockstep, clock=self._steady)
        self.sim.prime_sensors()
        self._publish_tick()
        self.get_logger().info(
            f'world {world.name}: {self.terrain.shape[1]}x{self.terrain.shape[0]} nodes at '
            f'{self.terrain.resolution} m, {p.mode} at {p.control_rate} Hz, physics {p.physics_rate} Hz')

    # --- time -----------------------------------------------------------------------------------------
    def now_s(self) -> float:
        """Simulated time (s): events and diagnostics are stamped on the clock this node publishes."""
        return self.sim.time

    @property
    def t_k(self) -> float:
        return self.tick * self.period

    def _apply_noise(self, p: LunarSimParams) -> None:
        """Runtime noise changes reach the sensor models, not only the covariances the messages report."""
        imu = self.sim.imu
        imu.accel_noise, imu.gyro_noise, imu.orientation_noise = (
            p.imu_accel_noise, p.imu_gyro_noise, p.imu_orientation_noise)
        self.sim.scanner.range_noise = p.cloud_noise
        self._imu_covariances = _imu_covariances(p)

    # --- inputs ---------------------------------------------------------------------------------------
    def _on_commands(self, msg: JointState) -> None:
        n = len(msg.name)
        if (msg.position and len(msg.position) != n) or (msg.velocity and len(msg.velocity) != n):
            self.warn_throttled('joint_commands rejected: position/velocity length differs from name length')
            return
        values = [*msg.position, *msg.velocity]
        if any(math.isinf(v) for v in values):
            self.warn_throttled('joint_commands rejected: infinite value (NaN means not commanded)')
            return
        wheels = np.full(len(WHEEL_JOINTS), np.nan)
        steers = np.full(len(STEER_JOINTS), np.nan)
        for i, name in enumerate(msg.name):
            if name in self._wheel_index and msg.velocity:
                wheels[self._wheel_index[name]] = msg.velocity[i]
            elif name in self._steer_index and msg.position:
                steers[self._steer_index[name]] = msg.position[i]
        if not (self.estopped or self.sim.hold):
            self.sim.command(wheels, steers)
        else:
            self.sim.command(None, steers)
        self.commands_received += 1
        self._last_command_t = self.sim.time
        if self._timed_out:
            self._timed_out = False
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if (self.params.snapshot.mode == 'lockstep' and not self._answered and self._answers_tick(stamp_ns)
                and self._may_start()):
            self._answered = True
            self.step()

    def _may_start(self) -> bool:
        """Past tick 0, or tick 0 said twice to every expected ground_truth subscriber (`start_subscribers`).

        The match count is the simulator's side of the DDS match; the subscriber's side can follow
        later, and a volatile reader does not get what was published before it. The second saying,
        REPEAT_PERIOD_S after the first, is the margin for that.
        """
        return self.tick > 0 or self.params.snapshot.start_subscribers == 0 or self._said_to_all >= 2

    def _all_subscribed(self) -> bool:
        return bool(self._gt_pub.get_subscription_count() >= self.params.snapshot.start_subscribers)

    def _answers_tick(self, stamp_ns: int) -> bool:
        """Does a command stamped `stamp_ns` answer the current tick?

        Stamped t_k: yes (tick 0's answer is stamped 0). Stamped 0 at a later tick: only from a stack
        that does not stamp at all, known once a tick has timed out with nothing but such commands. A
        stamping chain answers every repeat of tick 0 with stamp 0 too, and such a late answer, taken
        for the answer of tick 1, put the physics one tick ahead of the chain for the rest of the
        drive: how many repeats a start needs depends on the machine's load, so the same seed gave
        another drive (a campaign test under load: 1.4 mm).
        """
        if abs(stamp_ns - round(self.t_k * 1e9)) < 1000:
            if stamp_ns != 0:
                self._chain_stamps = True
            return True
        if stamp_ns == 0:
            self._zero_stamp_waiting = True
            return self._unstamped_stack
        return False

    def _on_estop_latched(self, _source: str) -> None:
        self.estopped = True
        self.sim.hold = True
        self.sim.stop_wheels()
        self.publish_event('estop', 'simulator: wheels stopped and parked (e-stop latched)')

    def _on_estop_cleared(self) -> None:
        self.estopped = False
        self.sim.hold = False
        self.get_logger().info('e-stop cleared (estop/reset): wheels follow joint_commands again')

    def _watch_lockstep(self) -> None:
        p = self.params.snapshot
        now = time.monotonic()
        waited = now - self._published_at
        if self.tick == 0 and p.wait_for_first_command and (self.commands_received == 0 or not self._may_start()):
            if now - self._said_at >= min(REPEAT_PERIOD_S, p.step_timeout):
                self._publish_tick(repeat=True)  # nobody answering (or listening) yet: say tick 0 again
            return
        if waited < p.step_timeout:
            if self._repeat_unanswered and now - self._said_at >= REPEAT_PERIOD_S:
                self._publish_tick(repeat=True)  # over DDS a message of the chain may have been lost: ask again
            return
        if self._zero_stamp_waiting and not self._chain_stamps and not self._unstamped_stack:
            self._unstamped_stack = True
            self.get_logger().warning('joint_commands are stamped 0 (unstamped): stepping on each of them from now on; '
                                      "stamp them with the tick's /clock time for a deterministic lockstep")
        self.missed_steps += 1
        self.publish_event('missed_step', f'no joint_commands stamped {self.t_k:.3f} s within '
                                          f'{p.step_timeout:.2f} s wall; stepped with the last command')
        self.step()

    @property
    def _repeat_unanswered(self) -> bool:
        """Repeat a tick that is not answered within REPEAT_PERIOD_S? Over DDS, yes: a sample the chain
        lost (best-effort /clock and sensors, or a reliable one sent before a late match at start-up)
        then costs half a second instead of `step_timeout` and a missed step; the chain answers a
        repeat again, and a late answer steps nothing. Not on an intra-process bus: it loses nothing,
        and a repeat under load would hand the guards a tick's sensor samples twice."""
        from rover_nav.runtime.intra_process import bus_of

        return bus_of(self.context) is None

    def announce(self) -> None:
        """Publish the current tick again now (a runner calls it once every node of its composition is up).

        The tick published at construction reaches no one when the simulator is built first, and
        waiting for the next repeat would cost up to REPEAT_PERIOD_S of wall time per drive.
        """
        self._publish_tick(repeat=True)

    # --- stepping -------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one control tick (watchdog, physics) and publish the new tick."""
        p = self.params.snapshot
        if not self._timed_out and self.sim.time - self._last_command_t > p.joint_command_timeout:
            self._timed_out = True
            self.sim.stop_wheels()
            if self.commands_received:
                self.publish_event('command_timeout', f'no joint_commands for {p.joint_command_timeout:.2f} s: '
                                                      'wheels stopped')
        if self._timed_out or self.estopped:
            self.sim.stop_wheels()
        self.sim.advance(self.period)
        self.tick += 1
        self._publish_tick()
        if self.after_step is not None:
            self.after_step()
        if self.sim.time + 1e-9 >= self._next_diag:
            self._next_diag = self.sim.time + p.diagnostic_period
            self._diagnose()

    def _publish_tick(self, repeat: bool = False) -> None:
        stamp = seconds_to_time(self.t_k)
        self._clock_pub.publish(ClockMsg(clock=stamp))
        js = self.sim.joint_states()
        msg = JointState(name=list(js.names), position=js.position.tolist(), velocity=js.velocity.tolist(),
                         effort=js.effort.tolist())
        msg.header.stamp = stamp
        self._js_pub.publish(msg)
        self._gt_pub.publish(self._odometry(stamp))
        if self.sim.imu_out:
            self._imu_msgs = [self._imu_msg(sample) for sample in self.sim.imu_out]
            self.sim.imu_out.clear()
        elif not repeat:
            self._imu_msgs = []
        if self.sim.cloud_out:
            self._cloud_msgs = [self._cloud_msg(t, points) for t, points in self.sim.cloud_out]
            self.sim.cloud_out.clear()
        elif not repeat:
            self._cloud_msgs = []
        for imu in self._imu_msgs:  # a repeated tick repeats its samples: late subscribers get them
            self._imu_pub.publish(imu)
        for cloud in self._cloud_msgs:
            self._cloud_pub.publish(cloud)
        self._said_at = time.monotonic()
        if self.tick == 0 and self.params.snapshot.start_subscribers:
            self._said_to_all = self._said_to_all + 1 if self._all_subscribed() else 0
        if not repeat or self.tick == 0:  # a tick's answer is awaited from its first publication on
            self._answered = False
            self._zero_stamp_waiting = False
            self._published_at = self._said_at

    # --- messages -------------------------------------------------------------------------------------
    def _odometry(self, stamp: Any) -> Odometry:
        gt = self.sim.ground_truth()
        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = self._frames['world']
        msg.child_frame_id = self._frames['base_link']
        pose, twist = msg.pose.pose, msg.twist.twist
        pose.position.x, pose.position.y, pose.position.z = gt.position.tolist()
        _set_quat(pose.orientation, gt.orientation)
        twist.linear.x, twist.linear.y, twist.linear.z = gt.linear.tolist()
        twist.angular.x, twist.angular.y, twist.angular.z = gt.angular.tolist()
        return msg

    def _imu_msg(self, sample: Any) -> Imu:
        msg = Imu()
        msg.header.stamp = seconds_to_time(sample.stamp)
        msg.header.frame_id = self._frames['imu_link']
        _set_quat(msg.orientation, sample.orientation)
        w, a = msg.angular_velocity, msg.linear_acceleration
        w.x, w.y, w.z = np.asarray(sample.angular_velocity, dtype=float).tolist()
        a.x, a.y, a.z = np.asarray(sample.linear_acceleration, dtype=float).tolist()
        # shared read-only arrays (the message setter keeps a float64 array of the right size as is)
        (msg.orientation_covariance, msg.angular_velocity_covariance,
         msg.linear_acceleration_covariance) = self._imu_covariances
        return msg

    def _cloud_msg(self, t: float, points: np.ndarray) -> PointCloud2:
        rows, cols = points.shape[:2]
        msg = PointCloud2()
        msg.header.stamp = seconds_to_time(t)
        msg.header.frame_id = self._frames['hazcam_link']
        msg.height, msg.width = rows, cols
        msg.fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
                      for i, n in enumerate('xyz')]
        msg.is_bigendian = sys.byteorder == 'big'
        msg.point_step = 12
        msg.row_step = 12 * cols
        msg.is_dense = False
        msg.data = np.ascontiguousarray(points, dtype=np.float32).tobytes()
        return msg

    def _diagnose(self) -> None:
        wall = time.monotonic() - self._wall_start
        level = DIAG_WARN if (self.estopped or self.missed_steps) else DIAG_OK
        text = 'e-stop latched' if self.estopped else (
            f'{self.missed_steps} missed steps' if self.missed_steps else 'running')
        self.publish_diagnostic(level, text, {
            'sim_time_s': round(self.sim.time, 3), 'real_time_factor': round(self.sim.time / wall, 2) if wall else 0,
            'missed_steps': self.missed_steps, 'parked': bool(self._timed_out or self.estopped), 'estop': self.estopped,
            'slip': np.round(self.sim.slip, 3).tolist(), 'sinkage_mm': np.round(1000 * self.sim.sinkage, 1).tolist(),
            'on_metal': [bool(v) for v in self.sim.wheel_materials == METAL],
            'on_rock': [bool(v) for v in self.sim.wheel_materials == ROCK]})

    # --- shutdown -------------------------------------------------------------------------------------
    def save_terrain(self, folder: str | Path) -> Path:
        """Write `terrain_final.npz` (+ .json): the terrain with the ruts the wheels left."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        npz, _ = self.sim.save_terrain(folder / 'terrain_final')
        return npz

    def on_shutdown(self) -> None:
        self.sim.stop_wheels()
        out = self.params.snapshot.output_dir
        if out:
            path = self.save_terrain(out)
            self.get_logger().info(f'terrain with ruts written to {path}')


def _set_quat(out: Quaternion, q: np.ndarray) -> None:
    out.x, out.y, out.z, out.w = np.asarray(q, dtype=float).tolist()


def _diag(v: float) -> np.ndarray:
    return np.diag([v, v, v]).reshape(9)


def _imu_covariances(p: LunarSimParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orientation, angular velocity and acceleration covariances (diagonal; floors keep them positive)."""
    return (_diag(max(p.imu_orientation_noise, 1e-4) ** 2), _diag(max(p.imu_gyro_noise, 1e-5) ** 2),
            _diag(max(p.imu_accel_noise, 1e-4) ** 2))


def main() -> None:
    sys.exit(run_node(LunarSim))


if __name__ == '__main__':
    main()
