"""`rover run` refuses bad input before anything starts: exit 2, the bad key named, nothing written."""

from __future__ import annotations

import subprocess
import sys

import yaml

from rover_description.paths import data_file


def _rover_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'rover_bringup.cli', 'run', *args], capture_output=True, text=True,
                          timeout=120)


def test_bad_world_file_names_the_key_and_starts_nothing(tmp_path):
    world = yaml.safe_load(data_file('worlds', 'flat.yaml').read_text())
    world['resolution_m'] = -1.0
    path = tmp_path / 'bad_world.yaml'
    path.write_text(yaml.safe_dump(world))
    out = tmp_path / 'out'
    result = _rover_run('--world', str(path), '--out', str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'resolution_m' in result.stderr
    assert not out.exists()


def test_bad_scenario_file_names_the_key_and_starts_nothing(tmp_path):
    path = tmp_path / 'bad_scenario.yaml'
    path.write_text(yaml.safe_dump({'name': 'bad', 'commands': [{'duration_s': 10, 'linear_x': 'fast'}]}))
    out = tmp_path / 'out'
    result = _rover_run('--world', 'flat', '--scenario', str(path), '--out', str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'commands[0].linear_x' in result.stderr
    assert not out.exists()


def test_unknown_world_name_lists_the_known_ones(tmp_path):
    result = _rover_run('--world', 'mars', '--out', str(tmp_path / 'out'))
    assert result.returncode == 2
    assert 'change4' in result.stderr


def test_an_output_folder_that_holds_a_drive_is_refused(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'summary.json').write_text('{}')
    result = _rover_run('--world', 'flat', '--out', str(out))
    assert result.returncode == 2
    assert 'already holds files' in result.stderr


def test_an_alias_bomb_scenario_is_refused_at_once_with_exit_2(tmp_path):
    """Issue 18 finding 10: the old error message repr()'d 9^9 aliased values (30 s, 3.2 GB, MemoryError)."""
    from worlds.hostile_yaml import ALIAS_BOMB_SCENARIO

    path = tmp_path / 'bomb.yaml'
    path.write_text(ALIAS_BOMB_SCENARIO)
    out = tmp_path / 'out'
    result = _rover_run('--world', 'flat', '--scenario', str(path), '--out', str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'YAML aliases' in result.stderr and len(result.stderr) < 2000
    assert not out.exists()


def test_a_huge_world_is_refused_up_front_naming_the_key(tmp_path):
    world = yaml.safe_load(data_file('worlds', 'flat.yaml').read_text())
    world.update(size_m=[1000.0, 1000.0], resolution_m=0.5)
    world.setdefault('terrain', {})['craters'] = {'per_100m2': 1000.0, 'min_diameter_m': 0.5, 'max_diameter_m': 4.0}
    path = tmp_path / 'huge.yaml'
    path.write_text(yaml.safe_dump(world))
    result = _rover_run('--world', str(path), '--out', str(tmp_path / 'out'))
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'terrain.craters.per_100m2' in result.stderr


def test_the_output_folder_is_claimed_atomically(tmp_path):
    """Two runs with the same --out both pass the 'already holds files' check: only one may claim it."""
    import pytest

    from rover_bringup.runner import claim_output_dir
    from rover_nav.runtime.params import ConfigError

    out = tmp_path / 'shared'
    claim_output_dir(out)
    with pytest.raises(ConfigError, match='already used by another run'):
        claim_output_dir(out)


def test_stopping_children_that_already_exited_is_no_error(tmp_path):
    """runner.py called os.killpg in `finally` without catching ProcessLookupError: a child (group) gone
    between poll() and the kill turned a clean stop into a traceback (issue 18, finding 11)."""
    from rover_bringup.runner import ProcessGraph

    graph = ProcessGraph(tmp_path / 'logs')
    graph.start('quick', [sys.executable, '-c', 'pass'])
    name, proc, _log = graph.children[0]
    proc.wait(timeout=60)
    real_poll = proc.poll
    proc.poll = lambda: None  # the race: it looked alive, then its group vanished before the kill
    try:
        codes = graph.stop(grace_s=5.0)
    finally:
        proc.poll = real_poll
    assert codes == {name: 0}


def _graph_with_child(tmp_path, name: str, setup: str, then: str, command: str = 'rover run'):
    """A ProcessGraph of `command` with one Python child: `setup`, a "ready" line in its log, then `then`."""
    from helpers.processes import wait_until

    from rover_bringup.runner import ProcessGraph

    graph = ProcessGraph(tmp_path / 'logs', command=command)
    graph.start(name, [sys.executable, '-c', f'{setup}print("ready", flush=True)\n{then}\n'])
    wait_until(lambda: 'ready' in (tmp_path / 'logs' / f'{name}.log').read_text(), 60.0, what=f'{name} up')
    return graph


def test_a_child_that_ignores_sigint_leaves_its_stack_in_its_log_before_it_is_killed(tmp_path, capfd):
    """A process-per-node drive under load once ended with `drive_controller: -9` and an empty log:
    nobody could tell what it was doing. stop() now asks for the stacks (SIGUSR1, as run_node sets up)."""
    graph = _graph_with_child(tmp_path, 'stuck',
                              'import faulthandler, signal, time\n'
                              'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
                              'faulthandler.register(signal.SIGUSR1, all_threads=True)\n'
                              'def waiting_for_something_that_never_comes():\n'
                              '    time.sleep(120)\n',
                              then='waiting_for_something_that_never_comes()', command='rover teleop')
    log = tmp_path / 'logs' / 'stuck.log'
    assert graph.stop(grace_s=0.5) == {'stuck': -9}
    assert 'waiting_for_something_that_never_comes' in log.read_text()
    err = capfd.readouterr().err
    assert 'rover teleop: stuck did not stop within 0.5 s of SIGINT; it is killed' in err  # the user's command
    assert 'waiting_for_something_that_never_comes' in err  # a CI run keeps stderr, not the logs


def test_a_node_ended_by_its_teardown_watchdog_is_reported_with_its_stack_but_fails_nothing(tmp_path, capfd):
    """Its shutdown hook ran (zero command, recording) and only the DDS goodbye hung: `rover run`
    shows the stack and carries on; any other non-zero code is still an error."""
    from rover_bringup.runner import failed_children
    from rover_nav.runtime.node_main import TEARDOWN_HUNG

    graph = _graph_with_child(tmp_path, 'watchdogged',
                              'import os, signal\n'
                              'def on_sigint(*_):\n'
                              '    print("  File node_main.py, line 1 in destroy_node", flush=True)\n'
                              '    signal.signal(signal.SIGALRM, signal.SIG_DFL)\n'
                              '    os.kill(os.getpid(), signal.SIGALRM)\n'
                              'signal.signal(signal.SIGINT, on_sigint)\n',
                              then='signal.pause()')
    codes = graph.stop(grace_s=30.0)
    assert codes == {'watchdogged': TEARDOWN_HUNG}
    assert failed_children(codes) == {}
    assert failed_children({'a': TEARDOWN_HUNG, 'b': 1, 'c': -9, 'd': -2}, tolerated=(-2,)) == {'b': 1, 'c': -9}
    err = capfd.readouterr().err
    assert 'rover run: watchdogged stopped (its shutdown hook ran) but its DDS teardown hung' in err
    assert 'in destroy_node' in err
