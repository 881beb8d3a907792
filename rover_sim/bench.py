"""Simulator benchmarks (`rover bench --only simulator`): real-time factors against bare MuJoCo stepping.

Baseline: `mj_step` of the very same compiled model (rover + terrain fields + treads) on the
default world, the rover driving, with nothing else per step. The simulation is built like the
`lunar_sim` node builds it (`Simulation.for_world`: the lander's deck and ramp are metal).
Measured against it: the stepping core (`Simulation.advance`: soil coupling, wheel and steering
servos, ruts, IMU and hazcam at their rates), and the parts on their own. Nothing here is asserted by a test.
"""

from __future__ import annotations

import time

from rover_nav.runtime.benchmarking import BenchResult

WORLD = 'change4'
SIM_SECONDS = 20.0


def _core(world: str):
    from rover_sim.simulation import SimConfig, Simulation
    from rover_sim.terrain import load_world

    return Simulation.for_world(load_world(world), SimConfig())


def _driving_core(world: str):
    import numpy as np

    sim = _core(world)
    sim.command(np.full(6, 0.0559 / sim.layout.wheel_radius), np.zeros(4))
    sim.advance(1.0)
    return sim


def _bare_rtf(sim, sim_seconds: float) -> float:
    """Real-time factor of bare mj_step on a copy of the core's model and state (soil frozen)."""
    import mujoco

    data = mujoco.MjData(sim.model)
    data.qpos[:] = sim.data.qpos
    data.qvel[:] = sim.data.qvel
    data.ctrl[:] = sim.data.ctrl
    data.act[:] = sim.data.act
    data.eq_active[:] = sim.data.eq_active
    start = time.perf_counter()
    mujoco.mj_step(sim.model, data, nstep=round(sim_seconds / sim.dt))
    return sim_seconds / (time.perf_counter() - start)


def bare_stepping_rtf(world: str = WORLD, sim_seconds: float = SIM_SECONDS, repeat: int = 1) -> float:
    """The baseline of every simulator figure: bare MuJoCo stepping of the world's model, x real time.

    With `repeat` > 1 the best of that many timings of the one built model (the least disturbed).
    """
    sim = _driving_core(world)
    return max(_bare_rtf(sim, sim_seconds) for _ in range(repeat))


def run_benchmarks(world: str = WORLD, sim_seconds: float = SIM_SECONDS) -> list[BenchResult]:
    sim = _driving_core(world)
    n = round(sim_seconds / sim.dt)
    bare_rtf = _bare_rtf(sim, sim_seconds)
    start = time.perf_counter()
    sim.advance(sim_seconds)
    core_rtf = sim_seconds / (time.perf_counter() - start)
    scans = 20
    start = time.perf_counter()
    for _ in range(scans):
        sim.scan()
    scan_ms = 1000.0 * (time.perf_counter() - start) / scans
    step_ms = 1000.0 * sim_seconds / bare_rtf / n
    note = (f'{world}, {sim.config.physics_rate:.0f} Hz physics, soil {sim.config.soil_rate:.0f} Hz, '
            f'IMU {sim.config.imu_rate:.0f} Hz, hazcam {sim.scanner.shape[1]}x{sim.scanner.shape[0]} rays')
    return [
        BenchResult('simulator core real-time factor', core_rtf, bare_rtf, 'x real time',
                    'bare mj_step of the same model (x real time)', note),
        BenchResult('bare MuJoCo stepping real-time factor', bare_rtf, 1.0, 'x real time', 'real time',
                    f'{step_ms * 1000.0:.0f} us per physics step'),
        BenchResult('hazcam scan (height-grid rays)', scan_ms, step_ms, 'ms', 'one physics step (ms)',
                    f'{sim.scanner.shape[0] * sim.scanner.shape[1]} rays per scan'),
    ]


if __name__ == '__main__':
    for result in run_benchmarks():
        print(f'{result.name}: {result.value:.4g} {result.unit} = {result.ratio:.3g} x {result.baseline_name} '
              f'({result.note})')
