"""Full-width rigid steps: drive straight at top speed into a rock step of height h and report the outcome.

Shared by `test_steps.py` (the properties) and by hand (`python test/sim/step_trial.py 0.05 0.1 ...`
prints the table of docs/simulator.md). The world is flat `change4` regolith with no roughness; from
x = FACE_X on, across the whole map, the ground is h higher and rock (`Terrain.materials`), so the
face is a vertical step one grid cell (5 cm) wide. The core is driven directly (the guards out of
the way, as `test_mobility.py` does): every wheel at v / r, steering straight.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys

import numpy as np

from rover_sim.materials import ROCK
from rover_sim.simulation import SimConfig, Simulation
from rover_sim.terrain import build_terrain, parse_world

V_TOP = 0.0559
FACE_X = 0.0  # m, the step's face (world x)
SPAWN_X = -1.5  # m, base_link at the start: the front wheels 0.85 m before the face
TOP_LENGTH_M = 4.0  # m of step top beyond the face (the rover stops driving 1.5 m before the map's end)


def step_world(h: float, soil: str = 'change4'):
    """The terrain of a full-width rock step of height h (m) at x = FACE_X on flat regolith."""
    world = parse_world({'name': f'step{round(1000 * h)}mm', 'size_m': [2.0 * (TOP_LENGTH_M + 0.5) + 2.0, 4.0],
                         'resolution_m': 0.05, 'soil': soil, 'terrain': {'seed': 1, 'roughness_m': 0.0},
                         'spawn': {'x': SPAWN_X, 'y': 0.0, 'yaw_deg': 0.0}})
    terrain = build_terrain(world)
    on_top = terrain.grid.x >= FACE_X - 1e-9
    terrain.heights[:, on_top] += h
    terrain.materials = np.where(on_top[None, :], ROCK, terrain.materials).astype(np.uint8)
    return terrain


@dataclass
class StepOutcome:
    """What happened at one step height by one time (figures over the whole run so far)."""

    height: float
    time: float  # s simulated
    climbed: bool  # all six wheels on the top
    climb_time: float | None  # s when all six first were
    max_pitch_deg: float  # largest |pitch| of base_link
    max_excess_m: float  # highest base_link above the highest it can be (its start height + h)
    x: float  # base_link's x now (m)

    def row(self) -> str:
        climb = f'{self.climb_time:6.1f}' if self.climb_time is not None else '     -'
        return (f'{self.height:5.2f} m  t={self.time:5.0f} s  climbed={"yes" if self.climbed else "no ":3s} '
                f'at {climb} s  max pitch {self.max_pitch_deg:5.1f} deg  max excess {100 * self.max_excess_m:6.1f} cm  '
                f'x {self.x:6.2f} m')


class StepTrial:
    """One rover driving into one step; `run_until(t)` advances it and returns the outcome so far."""

    def __init__(self, h: float, seed: int = 0, soil: str = 'change4') -> None:
        self.h = h
        self.sim = sim = Simulation(step_world(h, soil), SimConfig(hazcam_rate=0.2, imu_rate=10.0, seed=seed))
        self.r = sim.layout.wheel_radius
        self.z0 = float(sim.ground_truth().position[2])
        self.x_end = float(sim.terrain.extent[1]) - 1.5
        self.max_pitch = 0.0
        self.max_excess = -math.inf
        self.climb_time: float | None = None
        sim.command(np.full(6, V_TOP / self.r), np.zeros(4))

    def wheels_on_top(self) -> bool:
        """All six treads beyond the face with their centres over the top (at least half a radius above it)."""
        xyz = self.sim.data.xpos[self.sim.layout.tread_body]
        return bool(np.all(xyz[:, 0] > FACE_X) and np.all(xyz[:, 2] > self.h + 0.5 * self.r))

    def pitch_deg(self) -> float:
        rot = self.sim.base_rotation()
        return math.degrees(math.asin(max(-1.0, min(1.0, -rot[2, 0]))))

    def run_until(self, t_end: float, period: float = 0.5) -> StepOutcome:
        sim = self.sim
        while sim.time < t_end - 1e-9:
            sim.advance(min(period, t_end - sim.time))
            p = sim.ground_truth().position
            self.max_pitch = max(self.max_pitch, abs(self.pitch_deg()))
            self.max_excess = max(self.max_excess, float(p[2]) - self.z0 - self.h)
            if self.climb_time is None and self.wheels_on_top():
                self.climb_time = sim.time
            if p[0] > self.x_end:
                sim.command(np.zeros(6))  # the end of the map: stop on the top
        return StepOutcome(self.h, sim.time, self.climb_time is not None, self.climb_time, self.max_pitch,
                           self.max_excess, float(sim.ground_truth().position[0]))


def main(argv: list[str]) -> None:
    heights = [float(a) for a in argv] or [0.05, 0.10, 0.15, 0.20, 0.25, 0.30]
    for h in heights:
        trial = StepTrial(h)
        for t in (120.0, 600.0):
            print(trial.run_until(t).row(), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
