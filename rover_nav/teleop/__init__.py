"""Operator input: joystick driver (evdev -> sensor_msgs/Joy), joystick teleop and keyboard teleop.

Pure cores (no rclpy): `evdev_joy`, `device_select`, `evtest_format`, `joystick_core`, `deadman`,
`keyboard`, `rover_status`. Node shells: `joystick_node`, `joy_teleop_node`, `keyboard_teleop_node`.
"""
