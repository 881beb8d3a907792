"""`speed_limiter`: the first stage of the safety chain, and the owner of the e-stop reset.

cmd_vel_in (the operator) -> caps, curvature-preserving scaling, accel/decel ramps ->
cmd_vel_out. A watchdog timer on the node clock publishes zero (not silence) every
`watchdog_period` once the operator's last command is older than `command_timeout`.

E-stop protocol (`EstopLink`): `estop` true (from anyone) latches zero here and in every other
obeying node; each holds `true` on `estop` while latched. `false` on `estop` clears nothing. Only
the service `estop/reset` (std_srvs/Trigger) clears: it clears this latch and announces
`estop/cleared`, which clears the guards, the drive controller, the simulator and the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
import sys
from typing import Any

from std_srvs.srv import Trigger

from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import ConfigError, ParamSpec
from rover_nav.safety.chain_node import DIAG_OK, DIAG_WARN, ChainNode, ChainParams
from rover_nav.safety.command import Twist2D
from rover_nav.safety.limiter import LimiterConfig, SpeedLimiter
from rover_nav.safety.sensor_params import load_rover_geometry

SPECS = (
    shared.MAX_LINEAR_SPEED,
    shared.MAX_ANGULAR_SPEED,
    ParamSpec('max_linear_accel', float, 0.05,
              'Ramp (m/s^2) for speeding up on operator commands. Too high jerks the rover and slips wheels.',
              lo=1e-4, hi=100.0),
    ParamSpec('max_linear_decel', float, 0.1,
              'Ramp (m/s^2) for operator-driven slowing; timeouts, e-stop and guard stops step to zero at once.',
              lo=1e-4, hi=100.0),
    shared.COMMAND_TIMEOUT,
    shared.variant(shared.WATCHDOG_PERIOD, default=0.05),
    shared.MAX_CLOCK_SKEW,
    shared.PROFILE,
)


@dataclass(frozen=True)
class SpeedLimiterParams(ChainParams):
    """speed_limiter's parameter values, typed: one field per entry of SPECS."""

    max_linear_speed: float
    max_angular_speed: float
    max_linear_accel: float
    max_linear_decel: float
    command_timeout: float
    watchdog_period: float
    max_clock_skew: float
    profile: str


def limiter_config(snap: SpeedLimiterParams) -> LimiterConfig:
    return LimiterConfig(snap.max_linear_speed, snap.max_angular_speed, snap.max_linear_accel,
                         snap.max_linear_decel, snap.command_timeout)


def _cross_check(snap: SpeedLimiterParams) -> None:
    try:
        limiter_config(snap)
    except ValueError as exc:
        raise ConfigError(f'speed limiter parameters: {exc}') from exc


class SpeedLimiterNode(ChainNode[SpeedLimiterParams]):
    """Thin shell around `SpeedLimiter`; also offers `estop/reset`."""

    estop_announcer = True  # its estop/reset service is the only way to clear a latch

    def __init__(self, geometry: Any = None, **kwargs: Any) -> None:
        super().__init__('speed_limiter', SPECS, _cross_check, params_type=SpeedLimiterParams, **kwargs)
        self.use_hard_limits(load_rover_geometry(self.params.snapshot.profile, geometry))
        self.core = SpeedLimiter(limiter_config(self.params.snapshot))
        self.params.on_change(lambda snap: self.core.configure(limiter_config(snap)))
        self.create_service(Trigger, 'estop/reset', self._on_reset)
        self.create_timer(self.params.snapshot.watchdog_period, self._watchdog)
        self.report_state('waiting')

    def filter_command(self, v: float, w: float, now: float) -> Twist2D:
        out = self.core.command(v, w, now)
        self.report_state('limiting')
        return out

    def _watchdog(self) -> None:
        now = self.now_s()
        result = self.core.tick(now)
        if result.timed_out_now and not self.estopped:
            self.publish_event('command_timeout',
                               f'no operator command for {self.params.snapshot.command_timeout} s: zero')
            self.report_state('timed_out')
        if result.output is not None:
            self.publish_command(result.output, self._own_header())

    def on_estop_latched(self) -> None:
        self.core.reset()
        self.publish_event('estop', 'e-stop latched: chain publishes zero until estop/reset')

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        was = self.estopped
        self.core.reset()
        self.estop_link.clear()
        self.estop_link.announce_cleared()  # every other node clears on it, latched or not here
        if was:
            self.publish_event('estop_reset', 'e-stop reset')
        response.success = True
        response.message = ('e-stop cleared' if was else 'e-stop was not latched here') + \
            '; announced on estop/cleared'
        return response

    def status(self) -> tuple[int, str, dict[str, Any]]:
        if self.core.timed_out:
            return DIAG_WARN, 'no fresh operator command: publishing zero', {}
        return DIAG_OK, 'limiting operator commands', {}


def main() -> None:
    sys.exit(run_node(SpeedLimiterNode))


if __name__ == '__main__':
    main()
