"""`lunar_sim` as a real process over DDS: lockstep driving, steering, clock, hazcam, IMU, e-stop, determinism."""

from __future__ import annotations

import math
from pathlib import Path
import sys

from geometry_msgs.msg import Quaternion
from helpers.processes import NodeProcess
from nav_msgs.msg import Odometry
import numpy as np
import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState, PointCloud2
from std_msgs.msg import Bool, String
import yaml

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS, load_geometry
from rover_description.rotations import rpy_matrix
from rover_nav.runtime import qos
from rover_sim.sensors import roll_pitch_yaw, tilt_deg
from rover_sim.soils import load_soil
from rover_sim.terramechanics import TractionTable, WheelSoilParams

pytestmark = pytest.mark.ros
V_TOP = 0.0559
RADIUS = 0.15
PERIOD = 0.1


def start_sim(tmp_path: Path, world: str, *params: str, name: str = 'sim') -> NodeProcess:
    args = ['--ros-args', '-p', f'world:={world}', '-p', 'step_timeout:=5.0', *sum((['-p', p] for p in params), [])]
    return NodeProcess([sys.executable, '-m', 'rover_sim.sim_node', *args], tmp_path / f'{name}.log')


def stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def quat_matrix(q: Quaternion) -> np.ndarray:
    x, y, z, w = q.x, q.y, q.z, q.w
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class LockstepDriver:
    """Plays the drive controller: answers every /clock tick with joint_commands stamped with it."""

    def __init__(self, probe) -> None:
        self.probe = probe
        self.clocks = probe.subscribe('/clock', Clock, qos.CLOCK)
        self.pub = probe.publisher('joint_commands', JointState, qos.COMMAND)
        self.answered = -1.0
        self.wheel = 0.0
        self.steer = np.zeros(4)

    def message(self, t: float) -> JointState:
        msg = JointState(name=[*STEER_JOINTS, *WHEEL_JOINTS])
        msg.position = [*map(float, self.steer), *([math.nan] * 6)]
        msg.velocity = [*([math.nan] * 4), *([float(self.wheel)] * 6)]
        msg.header.stamp.sec = int(round(t * 1e9) // 1_000_000_000)
        msg.header.stamp.nanosec = int(round(t * 1e9) % 1_000_000_000)
        return msg

    @property
    def now(self) -> float:
        return stamp_s(self.clocks[-1].msg.clock) if self.clocks else -1.0

    def run_until(self, t_end: float, timeout_s: float = 60.0) -> None:
        def pump() -> bool:
            t = self.now
            if t > self.answered and t >= 0.0:
                self.answered = t
                if t < t_end - 1e-9:
                    self.pub.publish(self.message(t))
            return t >= t_end - 1e-9

        self.probe.wait_for(pump, timeout_s, f'sim time {t_end:.1f} s')

    def truth_now(self, truth: list, timeout_s: float = 30.0) -> Odometry:
        """The ground truth of the current tick: on a loaded machine it can arrive after the tick's /clock,
        and the newest sample received so far may still be from before a stop."""
        t = self.now
        self.probe.wait_for(lambda: bool(truth) and stamp_s(truth[-1].msg.header.stamp) >= t - 1e-9, timeout_s,
                            f'ground truth at {t:.1f} s')
        return truth[-1].msg


def test_lockstep_drive_steer_clock_and_imu(tmp_path, probe):
    truth = probe.subscribe('ground_truth', Odometry, qos.STATE)
    states = probe.subscribe('joint_states', JointState, qos.SENSOR_SUB)
    imu = probe.subscribe('imu', Imu, qos.SENSOR_SUB)
    drive = LockstepDriver(probe)
    sim = start_sim(tmp_path, 'flat')
    try:
        drive.run_until(1.0)
        at_rest = [r.msg.linear_acceleration.z for r in imu if stamp_s(r.msg.header.stamp) <= 1.0]
        assert np.mean(at_rest) == pytest.approx(1.62, abs=0.05)
        clock_ticks = [stamp_s(r.msg.clock) for r in drive.clocks]
        assert np.all(np.diff(clock_ticks) >= 0.0) and clock_ticks[-1] == pytest.approx(1.0)
        start = truth[-1].msg.pose.pose.position
        drive.wheel = V_TOP / RADIUS
        drive.run_until(11.0)
        end = truth[-1].msg.pose.pose.position
        dist = math.hypot(end.x - start.x, end.y - start.y)
        geometry = load_geometry('yutu2')
        table = TractionTable(load_soil('change4'), WheelSoilParams.from_wheel(geometry.wheels[0]), 135 * 1.62)
        s_flat = table.steady_slip(135 * 1.62 / 6, 0.0)
        expected = V_TOP * 10.0 * (1.0 - s_flat)
        print(f'flat: {dist:.3f} m in 10 s, expected {expected:.3f} m (s_flat {s_flat:.3f})')
        assert dist == pytest.approx(expected, rel=0.05)
        # steering reaches its angles
        drive.wheel = 0.0
        drive.steer = np.array([0.5, -0.5, -0.5, 0.5])
        drive.run_until(14.0)
        last = states[-1].msg
        got = [last.position[last.name.index(n)] for n in STEER_JOINTS]
        np.testing.assert_allclose(got, drive.steer, atol=0.02)
        assert set(last.name) >= {*WHEEL_JOINTS, *STEER_JOINTS, 'rocker_l_joint', 'bogie_r_joint'}
        assert truth[-1].msg.header.frame_id == 'world' and truth[-1].msg.child_frame_id == 'base_link'
    finally:
        code = sim.stop()
    assert code == 0, sim.output()


def _cloud_heights(msg: PointCloud2, base_z: float) -> np.ndarray:
    """Cloud points (hazcam_link) -> (x forward, height above the flat ground) in a level base_link."""
    assert msg.header.frame_id == 'hazcam_link'
    pts = np.frombuffer(bytes(msg.data), dtype=np.float32).reshape(-1, 3).astype(float)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    pose = load_geometry('yutu2').hazcam.pose
    base = pts @ rpy_matrix(*pose.rpy).T + np.array(pose.xyz)
    return np.column_stack([base[:, 0], base[:, 2] + base_z])


def _world_file(tmp_path: Path, source: str, **changes) -> Path:
    from rover_description.paths import data_file

    data = yaml.safe_load(data_file('worlds', f'{source}.yaml').read_text())
    data.update(changes)
    path = tmp_path / f'{data["name"]}.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


def _first(probe, topic: str, msg_type, qos_profile, timeout_s: float = 40.0):
    box = probe.subscribe(topic, msg_type, qos_profile)
    probe.wait_for(lambda: len(box) > 0, timeout_s, topic)
    return box


def test_hazcam_sees_a_rock_ahead_and_not_a_flat_floor(tmp_path, probe):
    rock = _world_file(tmp_path, 'flat', name='one_rock', size_m=[12.0, 12.0],
                       rocks=[{'x': 2.0, 'y': 0.0, 'diameter_m': 0.5, 'height_m': 0.3}])
    for world, expect_rock in ((str(rock), True), ('flat', False)):
        sim = start_sim(tmp_path, world, 'cloud_noise:=0.0', name=Path(world).stem)
        try:
            clouds = _first(probe, 'hazcam/points', PointCloud2, qos.SENSOR_SUB)
            truth = _first(probe, 'ground_truth', Odometry, qos.STATE)
            xz = _cloud_heights(clouds[-1].msg, truth[-1].msg.pose.pose.position.z)
            assert len(xz) > 300
            tall = xz[xz[:, 1] > 0.15]
            if expect_rock:
                assert len(tall) >= 5 and np.all(np.abs(tall[:, 0] - 2.0) < 0.4)
                assert xz[:, 1].max() == pytest.approx(0.3, abs=0.05)
            else:
                assert len(tall) == 0 and np.abs(xz[:, 1]).max() < 0.05
        finally:
            code = sim.stop()
            probe.inbox.clear()
        assert code == 0, sim.output()


def test_imu_reads_minus_fifteen_pitch_on_the_ramp(tmp_path, probe):
    world = _world_file(tmp_path, 'slope_test', name='on_ramp', spawn={'x': -7.0, 'y': 0.0, 'yaw_deg': 0.0})
    imu = probe.subscribe('imu', Imu, qos.SENSOR_SUB)
    sim = start_sim(tmp_path, str(world))
    try:
        probe.wait_for(lambda: len(imu) > 0, 40.0, 'imu')
        rot = quat_matrix(imu[-1].msg.orientation)
        _, pitch, _ = roll_pitch_yaw(rot)
        assert math.degrees(pitch) == pytest.approx(-15.0, abs=1.5)
        assert tilt_deg(rot) == pytest.approx(15.0, abs=1.5)
    finally:
        code = sim.stop()
    assert code == 0, sim.output()


def test_estop_stops_and_only_the_reset_notice_releases(tmp_path, probe):
    from std_msgs.msg import Empty

    from rover_nav.runtime.estop_link import CLEARED_QOS, CLEARED_TOPIC

    cleared = probe.publisher(CLEARED_TOPIC, Empty, CLEARED_QOS)
    truth = probe.subscribe('ground_truth', Odometry, qos.STATE)
    events = probe.subscribe('events', String, qos.EVENTS)
    estop = probe.publisher('estop', Bool, qos.LATCHED)
    drive = LockstepDriver(probe)
    sim = start_sim(tmp_path, 'flat', 'hazcam_rate:=1.0')
    try:
        drive.wheel = V_TOP / RADIUS
        drive.run_until(3.0)
        assert drive.truth_now(truth).twist.twist.linear.x > 0.03
        estop.publish(Bool(data=True))
        probe.wait_for(lambda: any('"estop"' in e.msg.data for e in events), 20.0, 'estop event')
        drive.run_until(drive.now + 3.0)
        assert abs(drive.truth_now(truth).twist.twist.linear.x) < 0.002
        estop.publish(Bool(data=False))  # a plain false clears nothing
        drive.run_until(drive.now + 2.0)
        assert abs(drive.truth_now(truth).twist.twist.linear.x) < 0.002
        probe.wait_for_subscribers(cleared)
        cleared.publish(Empty())  # what the speed limiter's estop/reset announces
        probe.spin(0.3)
        drive.run_until(drive.now + 3.0)
        assert drive.truth_now(truth).twist.twist.linear.x > 0.03
    finally:
        code = sim.stop()
    assert code == 0, sim.output()


def test_same_world_and_seed_same_final_pose_across_processes(tmp_path, probe):
    poses = []
    for run in range(2):
        truth = probe.subscribe('ground_truth', Odometry, qos.STATE)
        drive = LockstepDriver(probe)
        sim = start_sim(tmp_path, 'rock_test', 'seed:=5', name=f'det{run}')
        try:
            drive.wheel = 0.3
            drive.steer = np.array([0.1, -0.1, 0.1, -0.1])
            drive.run_until(4.0)
            probe.wait_for(lambda truth=truth: stamp_s(truth[-1].msg.header.stamp) >= 4.0 - 1e-9, 10.0, 'last pose')
            p = truth[-1].msg.pose.pose.position
            poses.append(np.array([p.x, p.y, p.z]))
        finally:
            code = sim.stop()
            probe.inbox.clear()
            probe.node.destroy_publisher(drive.pub)
        assert code == 0, sim.output()
    assert np.linalg.norm(poses[0] - poses[1]) < 1e-3


def test_bad_world_exits_2(tmp_path):
    sim = start_sim(tmp_path, 'no_such_world')
    try:
        sim.proc.wait(timeout=60)
    finally:
        code = sim.stop()
    assert code == 2
    assert "parameter 'world'" in sim.output()


def test_free_mode_runs_without_commands_and_keeps_the_rover_parked(tmp_path, probe):
    clocks = probe.subscribe('/clock', Clock, qos.CLOCK)
    truth = probe.subscribe('ground_truth', Odometry, qos.STATE)
    sim = start_sim(tmp_path, 'flat', 'mode:=free', 'real_time_factor:=4.0', 'hazcam_rate:=1.0')
    try:
        probe.wait_for(lambda: len(clocks) > 0 and stamp_s(clocks[-1].msg.clock) >= 2.0 and len(truth) > 0, 40.0,
                       'clock at 2 s and a ground truth')  # a late-matched /ground_truth once gave none
        assert abs(truth[-1].msg.twist.twist.linear.x) < 0.002  # nothing commanded: parked
    finally:
        code = sim.stop()
    assert code == 0, sim.output()


def test_noise_changed_at_runtime_reaches_the_sensor_models():
    """imu_*_noise and cloud_noise may change at runtime: the models use the new values, the covariances say so."""
    import rclpy
    from rclpy.parameter import Parameter

    from rover_sim.sim_node import LunarSim

    context = rclpy.Context()
    rclpy.init(context=context)
    node = LunarSim(context=context, parameter_overrides=[Parameter('world', value='flat')])
    try:
        result = node.set_parameters([Parameter('imu_accel_noise', value=0.2), Parameter('imu_gyro_noise', value=0.01),
                                      Parameter('cloud_noise', value=0.03)])
        assert all(r.successful for r in result)
        assert node.sim.imu.accel_noise == 0.2 and node.sim.imu.gyro_noise == 0.01
        assert node.sim.scanner.range_noise == 0.03
        node.sim.advance(0.1)
        msg = node._imu_msg(node.sim.imu_out[-1])
        assert msg.linear_acceleration_covariance[0] == pytest.approx(0.04)
        assert msg.angular_velocity_covariance[4] == pytest.approx(1e-4)
        assert msg.orientation_covariance[8] == pytest.approx(1e-8)
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def _commands(t: float) -> JointState:
    msg = JointState(name=list(WHEEL_JOINTS), velocity=[0.0] * len(WHEEL_JOINTS))
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t - int(t)) * 1e9))
    return msg


@pytest.fixture
def lockstep_sim():
    import rclpy
    from rclpy.parameter import Parameter

    from rover_sim.sim_node import LunarSim

    context = rclpy.Context()
    rclpy.init(context=context)
    node = LunarSim(context=context, parameter_overrides=[Parameter('world', value='flat'),
                                                          Parameter('step_timeout', value=0.5)])
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def _time_out(sim) -> None:
    """Let the current tick's step_timeout pass (the lockstep watch, called as its timer would)."""
    sim._published_at -= sim.params.snapshot.step_timeout + 0.1
    sim._watch_lockstep()


def test_a_late_answer_to_a_repeated_tick_zero_steps_nothing(lockstep_sim):
    """A stamping chain answers each repeat of tick 0 (stamp 0); an answer that comes after the step is
    no answer to tick 1: the physics waits for the command stamped t_1."""
    sim = lockstep_sim
    sim._on_commands(_commands(0.0))
    assert sim.tick == 1
    sim._on_commands(_commands(0.0))  # the chain's late answer to a repeat of tick 0
    assert sim.tick == 1
    sim._on_commands(_commands(0.1))
    sim._on_commands(_commands(0.2))
    assert sim.tick == 3
    sim._on_commands(_commands(0.0))  # and never later either
    assert sim.tick == 3 and sim.missed_steps == 0


def test_a_stack_that_never_stamps_steps_on_each_command_after_one_timeout(lockstep_sim):
    """A user stack with unstamped joint_commands still drives lockstep: after one timed-out tick."""
    sim = lockstep_sim
    sim._on_commands(_commands(0.0))
    sim._on_commands(_commands(0.0))
    assert sim.tick == 1
    _time_out(sim)
    assert sim.tick == 2 and sim.missed_steps == 1
    for k in range(3):
        sim._on_commands(_commands(0.0))
        assert sim.tick == 3 + k
    assert sim.missed_steps == 1


def test_a_stamping_chain_that_missed_a_tick_is_not_taken_for_an_unstamped_one(lockstep_sim):
    sim = lockstep_sim
    sim._on_commands(_commands(0.0))
    sim._on_commands(_commands(0.1))
    _time_out(sim)  # tick 2 unanswered
    assert sim.tick == 3 and sim.missed_steps == 1
    sim._on_commands(_commands(0.0))
    assert sim.tick == 3


def test_over_dds_an_unanswered_tick_is_said_again_before_it_is_missed(lockstep_sim, monkeypatch):
    from rover_sim.sim_node import REPEAT_PERIOD_S

    sim = lockstep_sim
    sim._on_commands(_commands(0.0))
    said = []
    monkeypatch.setattr(sim._gt_pub, 'publish', lambda msg: said.append(stamp_s(msg.header.stamp)))
    sim._watch_lockstep()
    assert said == []  # not yet
    sim._said_at -= REPEAT_PERIOD_S
    sim._watch_lockstep()
    assert said == [pytest.approx(0.1)] and sim.tick == 1 and sim.missed_steps == 0
    sim._said_at -= REPEAT_PERIOD_S
    sim._published_at -= sim.params.snapshot.step_timeout  # the wait is counted from the first publication
    sim._watch_lockstep()
    assert sim.missed_steps == 1 and sim.tick == 2


def test_on_the_intra_process_bus_a_tick_is_not_said_again(lockstep_sim, monkeypatch):
    from rover_sim import sim_node

    sim = lockstep_sim
    monkeypatch.setattr('rover_nav.runtime.intra_process.bus_of', lambda context: object())
    sim._on_commands(_commands(0.0))
    said = []
    monkeypatch.setattr(sim._gt_pub, 'publish', lambda msg: said.append(msg))
    sim._said_at -= sim_node.REPEAT_PERIOD_S
    sim._watch_lockstep()
    assert said == [] and sim.tick == 1


def test_tick_zero_waits_for_the_expected_ground_truth_subscribers():
    """`start_subscribers`: a recorder that starts after the chain must not miss the first ticks
    (under load a process-per-node logger came up 4.3 s of drive late and its track began there)."""
    import time

    import rclpy
    from rclpy.parameter import Parameter

    from rover_sim.sim_node import REPEAT_PERIOD_S, LunarSim

    context = rclpy.Context()
    rclpy.init(context=context)
    sim = LunarSim(context=context, parameter_overrides=[Parameter('world', value='flat'),
                                                         Parameter('start_subscribers', value=1)])
    recorder = rclpy.create_node('late_recorder', context=context)
    try:
        said = []
        publish = sim._gt_pub.publish
        sim._gt_pub.publish = lambda msg: (said.append(stamp_s(msg.header.stamp)), publish(msg))
        sim._on_commands(_commands(0.0))  # the chain answers, but nobody records yet
        assert sim.tick == 0
        sim._said_at -= REPEAT_PERIOD_S
        sim._watch_lockstep()
        assert said == [0.0] and sim.tick == 0  # tick 0 said again, not stepped
        recorder.create_subscription(Odometry, 'ground_truth', lambda _msg: None, qos.STATE)
        deadline = time.monotonic() + 30.0
        while sim._gt_pub.get_subscription_count() < 1:
            assert time.monotonic() < deadline, 'the recorder never matched'
            time.sleep(0.05)
        sim._on_commands(_commands(0.0))  # an answer before tick 0 was said to the recorder
        assert sim.tick == 0
        for sayings in (1, 2):  # the recorder's side of the match may lag: tick 0 is said to it twice
            sim._said_at -= REPEAT_PERIOD_S
            sim._watch_lockstep()
            assert said[-1] == 0.0 and sim._said_to_all == sayings and sim.tick == 0
            sim._on_commands(_commands(0.0))  # the chain's answer to that repeat
        assert sim.tick == 1 and sim.missed_steps == 0
    finally:
        recorder.destroy_node()
        sim.destroy_node()
        rclpy.try_shutdown(context=context)
