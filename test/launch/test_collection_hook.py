"""The launch_testing tests survive launch_testing's pytest collection hook, on both tiers.

launch_testing (jazzy, launch_testing/pytest/hooks.py) implements `pytest_pycollect_makemodule`:
for every test file it calls `find_launch_test_entrypoint(path)`, which imports the module with
`_pytest.pathlib.import_path(path, root=None[, consider_namespace_packages=False])` and catches only
SyntaxError. A `pytest.skip`/`importorskip` at module level raises `Skipped` there, which aborts the
collection of the whole session ("1 skipped", 0 tests run). Each module is imported here exactly
that way, in a fresh interpreter:

- as on the embedded tier (no launch, no launch_testing): nothing may escape;
- as on a ROS install without Gazebo (launch stand-ins and a launch_testing stand-in importable,
  ros_gz_sim not installed): nothing may escape, the entry point carries the `launch_test` mark
  the hook looks for, post-shutdown classes are marked, and `generate_test_description` either
  returns a description with a ReadyToTest or raises `unittest.SkipTest`, which launch_testing's
  runner turns into a skipped run (LaunchTestRunner.run catches unittest.case.SkipTest).
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import textwrap

import pytest

HERE = Path(__file__).resolve().parent
TEST_ROOT = HERE.parent
LAUNCH_TESTS = sorted(p for p in HERE.glob('test_*.py') if 'generate_test_description' in p.read_text()
                      and p.name != Path(__file__).name)

# What launch_testing.pytest.hooks.find_launch_test_entrypoint does, then a report of the module.
_HOOK = textwrap.dedent("""
    import json, sys, types, unittest
    sys.path.insert(0, {test_root!r})
    path, with_launch = {path!r}, {with_launch!r}

    if with_launch:
        # launch/launch_ros stand-ins (strict) and a launch_testing stand-in with the jazzy API the
        # tests use; the real ament_index_python stays, so ros_gz_sim is "not installed".
        from helpers import fake_launch
        import ament_index_python.packages  # the real one
        saved = {{k: v for k, v in sys.modules.items() if k.startswith('ament_index_python')}}
        for name, mod in fake_launch._modules().items():
            sys.modules[name] = mod
        sys.modules.update(saved)

        class ReadyToTest(fake_launch.Action):
            def __init__(self):
                super().__init__()

        def post_shutdown_test():
            def decorator(test_item):
                if not isinstance(test_item, type):
                    raise TypeError('postcondition_test should decorate test classes')
                test_item.__post_shutdown_test__ = True
                return test_item
            return decorator

        lt = types.ModuleType('launch_testing')
        lt.post_shutdown_test = post_shutdown_test
        lt.actions = types.ModuleType('launch_testing.actions')
        lt.actions.ReadyToTest = ReadyToTest
        lt.asserts = types.ModuleType('launch_testing.asserts')
        lt.asserts.assertExitCodes = lambda proc_info, *a, **k: None
        sys.modules.update({{'launch_testing': lt, 'launch_testing.actions': lt.actions,
                             'launch_testing.asserts': lt.asserts}})
    else:
        for name in ('launch', 'launch_ros', 'launch_testing'):
            sys.modules[name] = None  # ImportError, as where they are not installed

    import pytest
    from _pytest.pathlib import import_path
    report = {{}}
    try:
        try:
            module = import_path(path, root=None, consider_namespace_packages=False)  # pytest >= 8.1
        except TypeError:
            module = import_path(path, root=None)  # pytest 7 (Ubuntu 24.04: 7.4.4)
    except SyntaxError:
        module = None
    except BaseException as exc:  # what would escape the hook
        print(json.dumps({{'escaped': f'{{type(exc).__module__}}.{{type(exc).__name__}}: {{exc}}'}}))
        sys.exit(0)

    entry = getattr(module, 'generate_test_description', None)
    report['marks'] = [m.name for m in getattr(entry, 'pytestmark', [])]
    report['post_shutdown'] = sorted(
        n for n, c in vars(module).items()
        if isinstance(c, type) and issubclass(c, unittest.TestCase) and getattr(c, '__post_shutdown_test__', False))
    report['active'] = sorted(
        n for n, c in vars(module).items()
        if isinstance(c, type) and issubclass(c, unittest.TestCase) and c is not unittest.TestCase
        and not getattr(c, '__post_shutdown_test__', False))
    if with_launch:
        try:
            result = entry()
        except unittest.SkipTest as exc:
            report['skipped'] = str(exc)
        else:
            description, context = result if isinstance(result, tuple) else (result, {{}})
            report['ready_to_test'] = sum(type(e).__name__ == 'ReadyToTest' for e in description.entities)
            report['context'] = sorted(context)
    print(json.dumps(report))
""")


def _hook_import(path: Path, with_launch: bool) -> dict:
    code = _HOOK.format(test_root=str(TEST_ROOT), path=str(path), with_launch=with_launch)
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120,
                          cwd=str(TEST_ROOT.parent))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_there_are_launch_tests():
    assert {p.name for p in LAUNCH_TESTS} >= {'test_sim_launch.py', 'test_teleop_launch.py'}


@pytest.mark.parametrize('path', LAUNCH_TESTS, ids=lambda p: p.name)
def test_hook_import_without_launch_testing(path):
    report = _hook_import(path, with_launch=False)
    assert 'escaped' not in report, report
    assert report['marks'] == ['launch_test']


@pytest.mark.parametrize('path', LAUNCH_TESTS, ids=lambda p: p.name)
def test_hook_import_with_launch_testing_and_no_gazebo(path):
    report = _hook_import(path, with_launch=True)
    assert 'escaped' not in report, report
    assert report['marks'] == ['launch_test']
    assert report['post_shutdown'] == ['TestShutdown'], 'the exit-code checks must run after shutdown'
    assert report['active'], 'no active (pre-shutdown) test class'
    if path.name == 'test_sim_launch.py':
        assert 'ros_gz_sim' in report['skipped']
    else:
        assert report['ready_to_test'] == 1


def test_a_module_level_skip_would_escape(tmp_path):
    """The check itself: the old shape (module-level importorskip) is caught as escaping."""
    path = tmp_path / 'test_old_shape.py'
    path.write_text(textwrap.dedent("""
        import pytest
        pytest.importorskip('launch_testing_not_here')

        @pytest.mark.launch_test
        def generate_test_description():
            pass
    """))
    report = _hook_import(path, with_launch=False)
    assert 'Skipped' in report['escaped']
