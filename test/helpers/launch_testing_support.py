"""What the launch_testing tests of test/launch share, importable with or without launch_testing.

launch_testing's pytest hook imports every test module during collection and lets only a
SyntaxError through its `try`: a module-level skip escapes it and aborts collection. So the
modules import everything optional inside `try`, skip through `pytestmark` when launch_testing is
missing, and skip a run from inside `generate_test_description` with `unittest.SkipTest`, which
launch_testing's runner catches (LaunchTestRunner.run -> SkipResult).
"""

from __future__ import annotations

import unittest


def require_packages(*packages: str) -> None:
    """Skip this launch test run (unittest.SkipTest) unless every ROS package is installed."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    missing = []
    for package in packages:
        try:
            get_package_share_directory(package)
        except (PackageNotFoundError, OSError):  # OSError: no AMENT_PREFIX_PATH at all
            missing.append(package)
    if missing:
        raise unittest.SkipTest(f'not installed: {", ".join(missing)}')


def post_shutdown_test(cls: type) -> type:
    """`launch_testing.post_shutdown_test()` where launch_testing is installed.

    Without it the module is skipped by its `pytestmark`, and the class is returned unchanged.
    """
    try:
        import launch_testing
    except ImportError:
        return cls
    return launch_testing.post_shutdown_test()(cls)
