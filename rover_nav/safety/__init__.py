"""The safety chain between the operator and the wheels.

`/teleop/cmd_vel` -> speed_limiter -> slope_guard -> obstacle_guard -> `/cmd_vel`. Each stage
has a pure core (no rclpy: `limiter`, `slope`, `obstacle` with `attitude`, `ground`, `sweep`,
`cloud`) and a thin node shell (`*_node.py`). Nothing downstream ever raises a speed.
"""
