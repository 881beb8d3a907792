"""Our launch files, for the tests that load them against the stand-ins or the real launch."""

from __future__ import annotations

from rover_description.paths import data_dir

PACKAGE = 'rover_testbed'
LAUNCH_FILES = sorted(data_dir('launch').glob('*.launch.py'))
# Arguments without a default (launch refuses to start without them), with a value each for the tests.
REQUIRED_ARGUMENTS = {'link.launch.py': {'ground_domain': '43'}}
