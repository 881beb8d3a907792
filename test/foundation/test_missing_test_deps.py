"""A missing test-only module skips the files that need it, with the rosdep key; under CI=true it fails.

A rosdep install without the test keys used to end the whole session at the first module-level
`from hypothesis import ...` (a collection error aborts pytest)."""

from __future__ import annotations

import os
import subprocess
import sys

from rover_description.paths import REPO_ROOT

NEEDS_HYPOTHESIS = 'test/teleop/test_deadman.py'  # imports hypothesis at module level
PLAIN = 'test/teleop/test_device_select.py'  # does not


def _pytest_without_hypothesis(tmp_path, ci: bool) -> subprocess.CompletedProcess:
    # sys.modules[name] = None makes both `import hypothesis` and importlib.util.find_spec fail
    (tmp_path / 'hide_hypothesis.py').write_text("import sys\nsys.modules['hypothesis'] = None\n")
    # not the outer session's options (colcon test passes -n 2 and its --junit-xml in PYTEST_ADDOPTS)
    env = {k: v for k, v in os.environ.items() if k != 'CI' and not k.startswith('PYTEST_')} | {
        'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)}
    if ci:
        env['CI'] = 'true'
    argv = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', '-p',
            'no:hypothesispytest', '-p', 'hide_hypothesis', '-rs', NEEDS_HYPOTHESIS, PLAIN]
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_missing_hypothesis_skips_with_the_rosdep_key(tmp_path):
    out = _pytest_without_hypothesis(tmp_path, ci=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert ' passed, 1 skipped' in out.stdout, out.stdout  # the rest of the session still runs
    assert 'hypothesis (rosdep key python3-hypothesis)' in out.stdout, out.stdout


def test_missing_hypothesis_fails_under_ci(tmp_path):
    out = _pytest_without_hypothesis(tmp_path, ci=True)
    assert out.returncode not in (0, 5), out.stdout + out.stderr
    assert 'missing under CI=true: hypothesis (rosdep key python3-hypothesis)' in out.stdout + out.stderr
