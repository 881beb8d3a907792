"""The rated envelope through `rover run` with the default parameters: a 20 degree ramp is climbed to the top.

ROVER_SPEC sections 1 and 4: the rover climbs 20 degrees on its documented soil (`change4`, the
default) with the slope guard at its defaults (slow 15, stop 23, resume 21 degrees of tilt): it
slows on the ramp but never stops. What it cannot climb with the guards out of the way is tested
on the simulator core (test/sim/test_mobility.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.e2e, pytest.mark.ros, pytest.mark.timeout(1200)]  # hang guards: long drives, loaded machines

CAP = 0.0559
FOOT, LENGTH, SLOPE = -4.0, 3.0, 20.0  # ramp foot x, horizontal length (m), degrees


@pytest.mark.timeout(900)
def test_climbs_a_twenty_degree_ramp_to_the_top_without_a_slope_stop(run_drive, tmp_path: Path):
    world = {'name': 'ramp20', 'size_m': [20.0, 8.0], 'resolution_m': 0.05, 'terrain': {'seed': 1},
             'ramps': [{'x': FOOT, 'y': 0.0, 'heading_deg': 0.0, 'slope_deg': SLOPE, 'length_m': LENGTH,
                        'width_m': 4.0, 'plateau_m': 4.0}],
             'spawn': {'x': FOOT - 1.0, 'y': 0.0, 'yaw_deg': 0.0}}
    (tmp_path / 'ramp20.yaml').write_text(yaml.safe_dump(world))
    (tmp_path / 'up.yaml').write_text(yaml.safe_dump(
        {'name': 'up', 'rate_hz': 10, 'commands': [{'duration_s': 300.0, 'linear_x': CAP, 'angular_z': 0.0}]}))
    drive = run_drive('--world', str(tmp_path / 'ramp20.yaml'), '--scenario', str(tmp_path / 'up.yaml'),
                      '--duration', '300', timeout_s=850.0)
    assert drive.code == 0, drive.output[-3000:]
    s = drive.summary
    print(f"ramp20: final x {s['final_pose']['x']:.2f} m, z {s['final_pose']['z']:.2f} m, max tilt "
          f"{s['max_tilt_deg']:.1f} deg, slope events {[e['kind'] for e in s['events'] if 'slope' in e['kind']]}")
    assert not drive.events('slope_stop'), drive.events('slope_stop')
    assert drive.events('slope_slow'), 'the slope guard should slow the rover on 20 degrees'
    top = FOOT + LENGTH  # the plateau starts here (along x, the ramp heads +x)
    assert s['final_pose']['x'] - 0.5 > top, 'the rear wheels did not reach the top of the ramp'
