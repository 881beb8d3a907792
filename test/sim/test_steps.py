"""Full-width rigid steps (issue 17 item 5): outcomes monotonic in height, the same at 120 s and 600 s, no rear-up.

A full-width rock step of height h on flat `change4` regolith (`step_trial.py`), driven straight into at
top speed with the guards out of the way. Before the fix (the tread held to its hub on rock by a stiff
damper that MuJoCo's contact solve fought), a wheel switching between regolith and rock at the face was
launched at ~6 m/s and the rover reared up (0.15 m: 90 degrees of pitch, base_link 0.33 m above where it
can be; 0.20 m: 70 degrees). Each trial stops as soon as all six wheels are on the top.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

import pytest

_spec = importlib.util.spec_from_file_location('step_trial', Path(__file__).with_name('step_trial.py'))
step_trial = importlib.util.module_from_spec(_spec)
sys.modules.setdefault('step_trial', step_trial)
_spec.loader.exec_module(step_trial)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

HEIGHTS = (0.10, 0.15, 0.20, 0.30)
# bounds on the whole run: a rocker-bogie climbing a step of h pitches by about atan(h / wheelbase) plus its
# rockers' swing (~17 degrees at 0.20 m, measured), and base_link never rises above its start height + h
MAX_PITCH_DEG = 25.0
MAX_EXCESS_M = 0.05


@pytest.fixture(scope='module')
def trials() -> dict[float, tuple]:
    """Per height: (the trial, its outcome at 120 s); a trial stops driving once all six wheels are on the top."""
    out = {}
    for h in HEIGHTS:
        trial = step_trial.StepTrial(h)
        outcome = trial.run_until(10.0)
        while outcome.time < 120.0 and not outcome.climbed:
            outcome = trial.run_until(outcome.time + 10.0)
        print(outcome.row())
        out[h] = (trial, outcome)
    return out


def test_step_outcomes_are_monotonic_in_height_and_nothing_rears_up(trials):
    climbed = [trials[h][1].climbed for h in HEIGHTS]
    assert climbed == sorted(climbed, reverse=True), f'climbed by height {dict(zip(HEIGHTS, climbed, strict=True))}'
    assert climbed[0], 'the 0.10 m step is climbed'
    for h in HEIGHTS:
        outcome = trials[h][1]
        assert outcome.max_pitch_deg < MAX_PITCH_DEG, outcome.row()
        assert outcome.max_excess_m < MAX_EXCESS_M, outcome.row()


def test_a_step_not_climbed_in_120_s_is_not_climbed_by_600_s_and_the_rover_stays_down(trials):
    """The lowest step not climbed in 120 s (the likeliest to be climbed late) is driven on to 600 s."""
    stuck = [h for h in HEIGHTS if not trials[h][1].climbed]
    assert stuck, 'every step was climbed: nothing to hold for 600 s'
    trial, at_120 = trials[stuck[0]]
    at_600 = trial.run_until(600.0)
    print(at_600.row())
    assert not at_600.climbed, at_600.row()
    assert at_600.max_pitch_deg < MAX_PITCH_DEG and at_600.max_excess_m < MAX_EXCESS_M, at_600.row()
    assert abs(at_600.x - at_120.x) < 0.1, f'crept from x {at_120.x:.2f} to {at_600.x:.2f} m'
