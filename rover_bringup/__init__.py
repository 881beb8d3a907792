"""Bringup: launch files, YAML configuration, scenarios and the `rover` command."""
