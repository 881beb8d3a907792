"""Drive a scenario through the drive and odometry cores on the simulator core, without ROS.

A quick, deterministic check of the drive against real (simulated) terramechanics: the scenario's
commands pass a speed-ramp like the limiter's (`max_linear_accel` / `max_linear_decel`), the
kinematics core turns them into joint commands, the simulator core steps 0.1 s per command, and
the odometry core integrates the joint states (optionally with the IMU heading). It measures what
the full DDS chain (`rover run --scenario square`) measures, minus the guards and the transport.
The world is simulated as `rover run` simulates it (`Simulation.for_world`: a lander's deck and
ramp are metal). Suspension compensation is on, as in `drive_controller`, unless switched off.

    python -m rover_bringup.drive_replay --world flat --scenario square [--imu-yaw] [--gyro-assist] [--pad 1.0]
    python -m rover_bringup.drive_replay --world change4 --scenario egress [--no-suspension-compensation]
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
import json
import math
import sys
from typing import Any

import numpy as np

from rover_description.rotations import rpy_matrix
from rover_nav.drive import joints, suspension
from rover_nav.drive.gyro_assist import GyroAssist
from rover_nav.drive.kinematics import DriveKinematics, DriveLimits
from rover_nav.drive.layout import WheelLayout
from rover_nav.drive.odometry import (
    ImuYaw,
    Odometry2D,
    OdometryConfig,
    ResidualPool,
    base_pitch_rate_from_imu,
    base_yaw_from_imu,
    base_yaw_rate_from_imu,
    estimate_twist,
)
from rover_nav.tracklog.sampling import MovingAverageSpeed

TICK_S = 0.1


@dataclass(frozen=True)
class ReplayResult:
    """Figures of one replay (metres, degrees, seconds; frames: the spawn pose's frame)."""

    path_m: float
    closure_m: float
    final_yaw_deg: float
    odom_error_m: float
    odom_yaw_error_deg: float
    odom_sigma_xy_m: tuple[float, float]
    odom_position_nees: float
    mean_slip: float
    waiting_s: float
    rejected_wheel_samples: int
    max_speed_1s: float  # m/s, the 1 s moving average of horizontal ground-truth speed (as summary.json)
    max_speed_t: float  # s, simulated time of that peak


def _ramp(v_now: float, v_req: float, accel: float, decel: float, dt: float) -> float:
    step = (accel if abs(v_req) > abs(v_now) else decel) * dt
    return v_now + max(-step, min(step, v_req - v_now))


def replay(commands: list[dict[str, float]], world: str = 'flat', profile: str = 'yutu2', imu_yaw: bool = False,
           pad_s: float = 0.0, limits: DriveLimits | None = None, accel: float = 0.05, decel: float = 0.1,
           seed: int = 0, gyro_assist: bool = False, suspension_compensation: bool = True,
           suspension_max_fraction: float = 0.2, suspension_filter: dict[str, float] | None = None,
           suspension_settle_s: float = 1.0, suspension_axle_mean: bool = True) -> ReplayResult:
    """Run `commands` ({duration_s, linear_x, angular_z}); pad_s is added to every segment after the first.

    gyro_assist: point turns corrected by the simulated gyro, as `drive_controller` with gyro_assist true.
    suspension_compensation: wheel rates corrected for the suspension's pitching (latest gyro sample and
    joint rates of the tick), as `drive_controller` with suspension_compensation true.
    """
    from rover_description.description import urdf_model
    from rover_description.geometry import load_geometry
    from rover_sim.simulation import SimConfig, Simulation
    from rover_sim.terrain.config import load_world

    sim = Simulation.for_world(load_world(world), SimConfig(profile=profile, seed=seed, hazcam_rate=0.01))
    geometry = load_geometry(profile)
    layout = WheelLayout.from_geometry(geometry)
    susp = suspension.SuspensionModel.from_urdf(urdf_model(profile), layout.wheel_joints, layout.radius)
    speed = MovingAverageSpeed(1.0)
    peak_t, pitch = 0.0, None
    compensator = suspension.SuspensionCompensator(susp, suspension_max_fraction, suspension_settle_s,
                                                   suspension.RateFilter(**(suspension_filter or {})),
                                                   suspension.axle_groups(layout.x) if suspension_axle_mean else None)
    drive = DriveKinematics(layout, limits or DriveLimits(max_wheel_speed=0.08, min_turning_radius=1.0),
                            GyroAssist() if gyro_assist else None)
    cfg = OdometryConfig()
    odom = Odometry2D(slip_ratio_sigma=cfg.slip_ratio_sigma)
    pool, heading, mount = ResidualPool(), ImuYaw(), rpy_matrix(*geometry.imu.rpy)
    start = sim.ground_truth()
    p0, yaw0 = start.position[:2].copy(), start.yaw
    v_now, prev, waiting, rejected, path, last_xy, slips = 0.0, None, 0, 0, 0.0, p0.copy(), []
    gyro: float | None = None
    segments = [*commands, {'duration_s': 3.0, 'linear_x': 0.0, 'angular_z': 0.0}]  # come to rest
    for i, seg in enumerate(segments):
        duration = float(seg['duration_s']) + (pad_s if 0 < i < len(commands) else 0.0)
        for _ in range(int(round(duration / TICK_S))):
            js = sim.joint_states()
            steer = joints.steer_angles(layout, js.names, js.position)
            drive.observe_steering(steer, sim.time)
            est = estimate_twist(layout, steer, joints.wheel_values(layout, js.names, js.velocity, 'velocity'), cfg,
                                 sigma2=pool.sigma2)
            pool.update(est.rss, est.dof)
            rejected += est.rejected
            if prev is not None:
                odom.step(0.5 * (est.v + prev.v), 0.5 * (est.w + prev.w), 0.5 * (est.cov + prev.cov), TICK_S)
            prev = est
            if sim.imu_out:
                omega = tuple(float(c) for c in sim.imu_out[-1].angular_velocity)
                gyro = base_yaw_rate_from_imu(omega, mount)
                pitch = base_pitch_rate_from_imu(omega, mount)
            if imu_yaw and sim.imu_out:
                q = tuple(float(c) for c in sim.imu_out[-1].orientation)
                odom.set_yaw(heading.odom_yaw(base_yaw_from_imu(q, mount), odom.yaw), 0.02**2)
            sim.imu_out.clear()
            sim.cloud_out.clear()
            v_now = _ramp(v_now, float(seg['linear_x']), accel, decel, TICK_S)
            cmd = drive.command(v_now, float(seg['angular_z']), sim.time, yaw_rate=gyro)
            waiting += cmd.waiting
            rates = None
            if suspension_compensation and pitch is not None:
                rates = susp.rates_vector(pitch, dict(zip(js.names, (float(v) for v in js.velocity), strict=True)))
            wheel_rate = compensator.command(cmd.wheel_rate, cmd.steer, rates, sim.time, layout.max_wheel_rate)
            sim.command(wheel_rate, cmd.steer[layout.steer_index])
            sim.advance(TICK_S)
            truth = sim.ground_truth()
            before = speed.max_speed
            speed.update(sim.time, float(truth.position[0]), float(truth.position[1]))
            if speed.max_speed > before:
                peak_t = sim.time
            path += float(np.linalg.norm(truth.position[:2] - last_xy))
            last_xy = truth.position[:2].copy()
            if abs(cmd.v) > 0.01 and not cmd.waiting:
                slips.append(1.0 - float(truth.linear[0]) / cmd.v)
    end = sim.ground_truth()
    c, s = math.cos(-yaw0), math.sin(-yaw0)
    d = end.position[:2] - p0
    truth_xy = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])
    truth_yaw = end.yaw - yaw0
    err = np.array([odom.x, odom.y]) - truth_xy
    cov = odom.covariance[:2, :2]
    return ReplayResult(
        path_m=path, closure_m=float(np.linalg.norm(truth_xy)),
        final_yaw_deg=math.degrees(math.remainder(truth_yaw, 2 * math.pi)),
        odom_error_m=float(np.linalg.norm(err)),
        odom_yaw_error_deg=math.degrees(math.remainder(odom.yaw - truth_yaw, 2 * math.pi)),
        odom_sigma_xy_m=(math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])),
        odom_position_nees=float(err @ np.linalg.solve(cov, err)),
        mean_slip=float(np.mean(slips)) if slips else math.nan, waiting_s=waiting * TICK_S,
        rejected_wheel_samples=rejected, max_speed_1s=speed.max_speed, max_speed_t=peak_t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--world', default='flat')
    parser.add_argument('--scenario', default='square', help='scenario name or YAML file')
    parser.add_argument('--profile', default='yutu2')
    parser.add_argument('--imu-yaw', action='store_true', help='odometry heading from the IMU')
    parser.add_argument('--pad', type=float, default=0.0, help='seconds added to every segment after the first')
    parser.add_argument('--gyro-assist', action='store_true', help='point turns corrected by the gyro')
    parser.add_argument('--no-suspension-compensation', action='store_true',
                        help='wheel rates not corrected for the suspension pitching')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    from rover_bringup.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    commands = [_segment(c) for c in scenario.segments]
    result = replay(commands, args.world, args.profile, args.imu_yaw, args.pad, seed=args.seed,
                    gyro_assist=args.gyro_assist, suspension_compensation=not args.no_suspension_compensation)
    print(json.dumps(asdict(result), indent=2))
    return 0


def _segment(command: Any) -> dict[str, float]:
    if isinstance(command, dict):
        return command
    return {'duration_s': command.duration_s, 'linear_x': command.linear_x, 'angular_z': command.angular_z}


if __name__ == '__main__':
    sys.exit(main())
