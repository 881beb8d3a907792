"""tools/load_repeat.sh: counts per run, the flake rate, the exit status, and no busy loop left behind."""

from __future__ import annotations

import os
from pathlib import Path
import re
import subprocess
import sys

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'load_repeat.sh'


def test_counts_flake_rate_and_busy_loops_stopped(tmp_path):
    tests = tmp_path / 'test_sample.py'
    tests.write_text('def test_passes():\n    pass\n\n\ndef test_fails():\n    assert False\n')
    proc = subprocess.run([str(SCRIPT), '-n', '2', '-k', '1', '--', str(tests)], capture_output=True, text=True,
                          env={**os.environ, 'PYTHON': sys.executable}, timeout=300, cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert out.count(': 1 passed, 1 failed (exit 1,') == 2, out
    assert 'FAILED' in out and 'test_fails' in out
    assert '2 of 2 run(s) failed; 2 failures in 4 test executions (flake rate 50.00 %)' in out
    pids = [int(p) for p in re.search(r'pids ([\d ]+)\)', out).group(1).split()]
    assert len(pids) == 1
    for pid in pids:  # the busy loop was killed (and reaped) when the script ended
        assert not Path(f'/proc/{pid}').exists() or 'Z' in Path(f'/proc/{pid}/stat').read_text().split()[2]


def test_bad_usage_exits_2():
    proc = subprocess.run([str(SCRIPT), '-n', '0', '--', 'x'], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and 'load_repeat.sh [-n RUNS]' in proc.stdout


def test_a_whole_command_counts_every_pytest_summary_in_its_output(tmp_path):
    # `make test` runs pytest twice (the main suite, then the tier-1 job): both summaries count
    (tmp_path / 'test_a.py').write_text('def test_one():\n    pass\n\n\ndef test_two():\n    pass\n')
    (tmp_path / 'test_b.py').write_text('def test_bad():\n    assert False\n')
    pytest = f'{sys.executable} -m pytest -p no:cacheprovider -o addopts= --rootdir .'
    command = f'{pytest} test_a.py; {pytest} test_b.py'
    proc = subprocess.run([str(SCRIPT), '-n', '1', '-k', '0', '-c', command], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert f'1 run(s) of: {command}' in out
    assert 'run 1/1: 2 passed, 1 failed (exit 1,' in out, out
    assert '1 of 1 run(s) failed; 1 failures in 3 test executions (flake rate 33.33 %)' in out


def test_a_command_and_pytest_arguments_together_are_bad_usage():
    proc = subprocess.run([str(SCRIPT), '-c', 'true', '--', 'x'], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "-c 'COMMAND'" in proc.stdout
