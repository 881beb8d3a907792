"""Drive kinematics and wheel odometry for the six-wheel, four-steer rover.

`kinematics` (body twist -> steering angles + wheel rates) and `odometry` (wheel rates + steering
angles -> body twist -> pose) are pure numpy cores; `controller_node` and `odometry_node` are the
thin rclpy shells (`drive_controller`, `wheel_odometry`).
"""
