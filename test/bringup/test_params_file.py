"""`rover run --params FILE`: ROS 2 parameter files checked against every node's own schema."""

from __future__ import annotations

import json
import sys

from helpers.processes import NodeProcess
import pytest

from rover_bringup import graph
from rover_bringup.params_file import check_params_files, effective_values, node_specs
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
