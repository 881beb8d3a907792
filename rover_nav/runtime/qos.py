"""QoS profiles chosen by the role of the data (ROVER_SPEC section 3).

Publishers of sensor streams offer RELIABLE so every subscriber can match; subscribers ask for
BEST_EFFORT, which matches both reliable and best-effort publishers (a Gazebo bridge, a real IMU).
"""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)


def _profile(depth: int, reliable: bool = True, latched: bool = False) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


#: Velocity commands: only the newest matters, but it must arrive.
COMMAND = _profile(1)
#: Joystick input: reliable, a few messages of history.
JOY = _profile(10)
#: Odometry, ground truth: reliable, depth 10.
STATE = _profile(10)
#: Sensor stream as published by the simulator or a driver.
SENSOR_PUB = _profile(5)
#: Sensor stream as subscribed by consumers: best effort matches any publisher.
SENSOR_SUB = _profile(5, reliable=False)
#: Latched "latest state": e-stop, track path.
LATCHED = _profile(1, latched=True)
#: The event log: deep enough that a burst is not lost.
EVENTS = _profile(50)
#: Diagnostics.
DIAGNOSTICS = _profile(10)
#: Simulated clock.
CLOCK = _profile(1, reliable=False)
