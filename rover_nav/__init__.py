"""Rover navigation: the nodes and their pure-Python cores (teleop, limits, guards, drive, logging)."""
