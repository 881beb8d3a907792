"""Subcommands of the `rover` CLI: each module has `add_arguments(parser)` and `run(args) -> int`.

Keep heavy imports (rclpy, mujoco, matplotlib) inside `run` so `rover --help` stays fast.
"""
