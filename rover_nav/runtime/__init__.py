"""Shared runtime for the rover nodes: parameters, QoS, the main() shape, input checks.

Only `params` and `checks` are importable without rclpy; the rest are the thin ROS shell.
"""
