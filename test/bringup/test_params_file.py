"""`rover run --params FILE`: ROS 2 parameter files checked against every node's own schema."""

from __future__ import annotations

import json
from pathlib import Path
import sys

from helpers.processes import NodeProcess
import pytest

from rover_bringup import graph
from rover_bringup.params_file import check_hard_limits, check_params_files, effective_values, node_specs
from rover_nav.runtime.params import ConfigError

DRIVE = graph.simulated_drive()


def write(tmp_path, text: str, name: str = 'p.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_good_file_passes_and_later_values_win(tmp_path):
    a = write(tmp_path, '/**:\n  ros__parameters:\n    max_linear_speed: 0.04\n', 'a.yaml')
    b = write(tmp_path, 'speed_limiter:\n  ros__parameters:\n    max_linear_speed: 0.03\n', 'b.yaml')
    check_params_files([a, b], DRIVE)
    assert effective_values([a, b], 'speed_limiter')['max_linear_speed'] == 0.03
    assert effective_values([a, b], 'drive_controller')['max_linear_speed'] == 0.04


@pytest.mark.parametrize(('text', 'message'), [
    ('/**:\n  ros__parameters:\n    max_linar_speed: 0.03\n', "unknown parameter 'max_linar_speed'"),
    ('/**:\n  ros__parameters:\n    max_linear_speed: -1.0\n', 'max_linear_speed = -1.0 rejected by'),
    ('/**:\n  ros__parameters:\n    max_step_height: fast\n', 'max_step_height'),
    ('/**:\n  ros__parameters:\n    world: flat\n', 'use --world'),
    ('drive_controler:\n  ros__parameters:\n    max_wheel_speed: 0.05\n', "section 'drive_controler' names no node"),
    ('speed_limiter:\n  ros__parameters:\n    max_step_height: 0.1\n', 'declared by no node speed_limiter'),
    ('/**:\n  max_linear_speed: 0.03\n', 'ros__parameters'),
    ('- just a list\n', 'expected sections'),
    ('/**: {ros__parameters: {max_linear_speed: [[1, 2]]}}\n', 'a list parameter holds only'),
])
def test_bad_files_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match='--params') as err:
        check_params_files([write(tmp_path, text)], DRIVE)
    assert message in str(err.value)


ROVER_YAML = str(Path(__file__).resolve().parents[2] / 'rover_bringup' / 'config' / 'rover.yaml')


@pytest.mark.parametrize(('text', 'message'), [
    ('/**:\n  ros__parameters:\n    max_linear_speed: 0.06\n',
     "/**: max_linear_speed = 0.06 is above the hard limit 0.0559 of the rover description (profile 'yutu2'), "
     'enforced by speed_limiter'),
    ('drive_controller:\n  ros__parameters:\n    max_wheel_speed: 0.1\n',
     'max_wheel_speed = 0.1 is above the hard limit 0.08'),
    ('/**:\n  ros__parameters:\n    stop_tilt_deg: 24.0\n    resume_tilt_deg: 22.0\n',
     'stop_tilt_deg = 24.0 is above the hard limit 23.0'),
    ('obstacle_guard:\n  ros__parameters:\n    max_step_height: 0.25\n',
     'max_step_height = 0.25 is above the hard limit 0.2'),
    ('/**:\n  ros__parameters:\n    command_timeout: 1.5\n', 'command_timeout = 1.5 is above the hard limit 1.0'),
    # the description's command_timeout bounds every command timeout, whatever a node calls it
    ('drive_controller:\n  ros__parameters:\n    cmd_vel_timeout: 1.5\n',
     'cmd_vel_timeout = 1.5 is above the hard limit 1.0'),
])
def test_values_above_the_hard_limits_are_refused_naming_key_and_limit(tmp_path, text, message):
    path = write(tmp_path, text)
    check_params_files([path], DRIVE)  # each value is within its node's schema...
    with pytest.raises(ConfigError, match='hard limit') as err:  # ...but above what the rover is rated for
        check_hard_limits([ROVER_YAML, path], DRIVE, 'yutu2')
    assert message in str(err.value) and path in str(err.value)


def test_hard_limits_judge_the_value_a_node_gets(tmp_path):
    at_limit = write(tmp_path, '/**:\n  ros__parameters:\n    max_linear_speed: 0.0559\n    max_wheel_speed: 0.08\n')
    check_hard_limits([ROVER_YAML, at_limit], DRIVE, 'yutu2')
    above = write(tmp_path, 'speed_limiter:\n  ros__parameters:\n    max_linear_speed: 0.07\n', 'above.yaml')
    lowered = write(tmp_path, 'speed_limiter:\n  ros__parameters:\n    max_linear_speed: 0.05\n', 'lower.yaml')
    check_hard_limits([ROVER_YAML, above, lowered], DRIVE, 'yutu2')  # a later file wins, as in ROS
    sim_only = write(tmp_path, 'lunar_sim:\n  ros__parameters:\n    command_timeout: 2.0\n', 'sim.yaml')
    check_hard_limits([ROVER_YAML, sim_only], DRIVE, 'yutu2')  # the simulator's own watchdog is not a rating
    check_hard_limits([ROVER_YAML], DRIVE, 'yutu2')  # the shipped defaults are within the limits


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path):
    refs = ', '.join(['*{p}'] * 9)
    bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n' + ''.join(
        f'{c}: &{c} [{refs.format(p=p)}]\n' for p, c in zip('abcdefgh', 'bcdefghi', strict=True))
    with pytest.raises(ConfigError, match='ros__parameters'):
        check_params_files([write(tmp_path, bomb)], DRIVE)


@pytest.mark.ros
def test_node_specs_are_exactly_what_each_node_declares():
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        for spec in DRIVE:
            module_name, class_name = spec.node_class.split(':')
            cls = getattr(__import__(module_name, fromlist=[class_name]), class_name)
            node = cls(context=context)
            try:
                declared = set(node._parameters) - {'use_sim_time', 'start_type_description_service'}
            finally:
                if hasattr(node, 'on_shutdown'):
                    node.on_shutdown()
                node.destroy_node()
            assert declared == set(node_specs(spec)), spec.name
    finally:
        rclpy.try_shutdown(context=context)


def test_rover_run_refuses_a_value_above_the_hard_limit_before_starting(tmp_path):
    fast = write(tmp_path, '/**:\n  ros__parameters:\n    max_linear_speed: 0.1\n', 'fast.yaml')
    out = tmp_path / 'fast'
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', '--params', fast, '--out', str(out)],
                       tmp_path / 'fast.log')
    try:
        assert proc.proc.wait(timeout=120) == 2, proc.output()
    finally:
        proc.stop()
    assert 'max_linear_speed = 0.1 is above the hard limit 0.0559' in proc.output()
    assert not out.exists() or not any(out.iterdir())  # refused before anything started


@pytest.mark.e2e
def test_rover_run_applies_a_params_file_and_refuses_a_bad_one(tmp_path):
    bad = write(tmp_path, '/**:\n  ros__parameters:\n    max_linar_speed: 0.03\n', 'bad.yaml')
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', '--params', bad, '--out',
                        str(tmp_path / 'bad')], tmp_path / 'bad.log')
    try:
        assert proc.proc.wait(timeout=120) == 2
    finally:
        proc.stop()
    assert "unknown parameter 'max_linar_speed'" in proc.output()
    slow = write(tmp_path, '/**:\n  ros__parameters:\n    max_linear_speed: 0.03\n', 'slow.yaml')
    out = tmp_path / 'slow'
    proc = NodeProcess([sys.executable, '-m', 'rover_bringup.cli', 'run', '--world', 'flat', '--scenario', 'straight',
                        '--duration', '15', '--params', slow, '--out', str(out), '--quiet'], tmp_path / 'slow.log')
    try:
        assert proc.proc.wait(timeout=600) == 0, proc.output()
    finally:
        proc.stop()
    summary = json.loads((out / 'summary.json').read_text())
    assert 0.025 < summary['max_speed_mps'] <= 0.03 * 1.05


def test_a_campaign_refuses_a_value_above_the_hard_limit_before_any_drive(tmp_path):
    from rover_bringup.campaign.plan import Drive
    from rover_bringup.campaign.run import CampaignConfig, validate

    fast = write(tmp_path, '/**:\n  ros__parameters:\n    max_wheel_speed: 0.09\n', 'fast.yaml')
    cfg = CampaignConfig(out=tmp_path / 'c', drives=[Drive('flat', 'straight', 1)], params=(fast,))
    with pytest.raises(ConfigError, match='max_wheel_speed = 0.09 is above the hard limit 0.08'):
        validate(cfg)
