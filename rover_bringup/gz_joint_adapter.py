"""`gz_joint_adapter`: `/joint_commands` -> one std_msgs/Float64 topic per joint, for Gazebo.

Gazebo's JointController / JointPositionController systems listen on one gz topic per joint,
and ros_gz_bridge bridges one ROS topic to one gz topic. This node splits the drive's single
`joint_commands` message (ROVER_SPEC section 3) into `gz/<joint>/cmd_vel` (wheels, rad/s) and
`gz/<joint>/cmd_pos` (steering, rad) for the bridge (see config/gz_bridge.yaml).

Gazebo's controllers hold their last command forever, so when `joint_commands` goes stale
for `joint_command_timeout` this node commands zero wheel speed itself (steering is held).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import sys
from typing import Any

from sensor_msgs.msg import JointState
from std_msgs.msg import Float64

from rover_description.geometry import STEER_JOINTS, WHEEL_JOINTS
from rover_nav.runtime import qos
from rover_nav.runtime import shared_params as shared
from rover_nav.runtime.node_main import run_node
from rover_nav.runtime.params import Params
from rover_nav.runtime.rover_node import DIAG_OK, DIAG_WARN, RoverNode

PARAMS = (
    shared.JOINT_COMMAND_TIMEOUT,
)


@dataclass(frozen=True)
class GzJointAdapterParams(Params):
    """gz_joint_adapter's parameter values, typed: one field per entry of PARAMS."""

    joint_command_timeout: float


def split_command(names: list[str], positions: list[float], velocities: list[float]) -> dict[str, float]:
    """Topic suffix per commanded joint: {'wheel_fl_joint/cmd_vel': 1.2, 'steer_fl_joint/cmd_pos': 0.1}.

    NaN (or a missing entry) means "not commanded" and is skipped; so is any unknown joint.
    """
    out: dict[str, float] = {}
    for i, name in enumerate(names):
        if name in WHEEL_JOINTS and i < len(velocities) and math.isfinite(velocities[i]):
            out[f'{name}/cmd_vel'] = float(velocities[i])
        elif name in STEER_JOINTS and i < len(positions) and math.isfinite(positions[i]):
            out[f'{name}/cmd_pos'] = float(positions[i])
    return out


class GzJointAdapter(RoverNode[GzJointAdapterParams]):
    """Splits joint_commands into per-joint Float64 topics and zeroes the wheels when stale."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('gz_joint_adapter', PARAMS, params_type=GzJointAdapterParams, **kwargs)
        self._pubs = {f'{j}/cmd_vel': self.create_publisher(Float64, f'gz/{j}/cmd_vel', qos.COMMAND)
                      for j in WHEEL_JOINTS}
        self._pubs.update({f'{j}/cmd_pos': self.create_publisher(Float64, f'gz/{j}/cmd_pos', qos.COMMAND)
                           for j in STEER_JOINTS})
        self._last_rx: float | None = None
        self._stale = True
        self._ticks = 0
        self.create_subscription(JointState, 'joint_commands', self._on_command, qos.COMMAND)
        self.create_timer(0.1, self._watchdog)

    def _on_command(self, msg: JointState) -> None:
        values = split_command(list(msg.name), list(msg.position), list(msg.velocity))
        if not values:
            self.warn_throttled('joint_commands without any known, finite joint command ignored')
            return
        for key, value in values.items():
            self._pubs[key].publish(Float64(data=value))
        self._last_rx = self.now_s()
        self._stale = False

    def _watchdog(self) -> None:
        now = self.now_s()
        stale = self._last_rx is None or now - self._last_rx > self.params.snapshot.joint_command_timeout
        if stale:
            self._zero_wheels()
            if not self._stale:
                self.publish_event('command_timeout', 'joint_commands stale: wheels commanded to zero')
        self._stale = stale
        self._ticks += 1
        if self._ticks % 10 == 0:  # 1 Hz status
            self.publish_diagnostic(DIAG_WARN if stale else DIAG_OK,
                                    'joint_commands stale, wheels stopped' if stale else 'forwarding joint_commands')

    def _zero_wheels(self) -> None:
        for joint in WHEEL_JOINTS:
            self._pubs[f'{joint}/cmd_vel'].publish(Float64(data=0.0))

    def on_shutdown(self) -> None:
        self._zero_wheels()


def main() -> None:
    sys.exit(run_node(GzJointAdapter))


if __name__ == '__main__':
    main()
