"""Shared test helpers: ROS isolation, child processes with guaranteed cleanup, graph probes."""
