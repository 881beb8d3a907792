"""Wheel layouts for the drive tests: both real profiles from the description, plus edge cases.

The real profiles come from `load_geometry(profile)` (the URDF); `tight` is a hand-built layout
with narrow, asymmetric steering limits, so the steering-limit clamp and infeasible point turns
are exercised too.
"""

from __future__ import annotations

from functools import cache

import pytest

from rover_description.geometry import PROFILES, RoverGeometry, Wheel
from rover_nav.drive.layout import WheelLayout


def _hand_built(profile: str, half_base: float, half_track: float, mid_track: float, radius: float,
                steer_min: float, steer_max: float, rate: float) -> RoverGeometry:
    spots = {'fl': (half_base, half_track), 'ml': (0.0, mid_track), 'rl': (-half_base, half_track),
             'fr': (half_base, -half_track), 'mr': (0.0, -mid_track), 'rr': (-half_base, -half_track)}
    wheels = []
    for name, (x, y) in spots.items():
        steered = name[0] != 'm'
        wheels.append(Wheel(name, f'wheel_{name}_joint', f'steer_{name}_joint' if steered else None, x, y, 0.0,
                            radius, radius, steer_min if steered else 0.0, steer_max if steered else 0.0))
    return RoverGeometry(profile, 10.0, tuple(wheels), (-1.0, 1.0, -1.0, 1.0), -0.2, None, None, rate)  # type: ignore[arg-type]


def tight_geometry() -> RoverGeometry:
    """Corners may steer only -0.3 .. +0.4 rad: no point turn, curvature limited by the servos."""
    return _hand_built('tight', 0.5, 0.5, 0.55, 0.15, -0.3, 0.4, 0.5)


@cache
def layout_for(profile: str) -> WheelLayout:
    if profile == 'tight':
        return WheelLayout.from_geometry(tight_geometry())
    from rover_description.geometry import load_geometry

    return WheelLayout.from_geometry(load_geometry(profile))


REAL_PROFILES = PROFILES


@pytest.fixture(params=REAL_PROFILES, scope='session')
def profile(request) -> str:
    return request.param


@pytest.fixture(scope='session')
def layout(profile) -> WheelLayout:
    return layout_for(profile)


@pytest.fixture(scope='session')
def layouts():
    """`layouts(profile)` -> WheelLayout, for tests that draw the profile with hypothesis."""
    return layout_for


class InProcessNode:
    """Runs `cls(**kwargs)` in a private context; `spin(dt)` pumps it together with the probe."""

    def __init__(self, cls: type, probe, overrides: dict | None = None) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.probe = probe
        self.node = None
        self.executor = None
        try:
            params = [Parameter(k, value=v) for k, v in (overrides or {}).items()]
            self.node = cls(context=self.context, parameter_overrides=params)
            self.executor = SingleThreadedExecutor(context=self.context)
            self.executor.add_node(self.node)
        except Exception:
            self.close()
            raise

    def spin(self, dt: float) -> None:
        for _ in range(10):  # spin_once handles one ready callback; drain a few
            self.executor.spin_once(timeout_sec=0.0)
        self.probe.spin(dt)

    def wait_for(self, predicate, timeout_s: float = 10.0, what: str = 'condition') -> None:
        from helpers.processes import wait_until

        wait_until(predicate, timeout_s, poll_s=0.005, spin=self.spin, what=what)

    def close(self) -> None:
        import rclpy

        if self.executor is not None:
            self.executor.shutdown()
        if self.node is not None:
            self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def start_node(probe):
    """`start_node(cls, overrides)` -> InProcessNode pumped with the probe; closed after the test."""
    started: list[InProcessNode] = []

    def start(cls: type, overrides: dict | None = None) -> InProcessNode:
        harness = InProcessNode(cls, probe, overrides)
        started.append(harness)
        return harness

    try:
        yield start
    finally:
        for harness in reversed(started):
            harness.close()
