"""Scenario files: parsing, validation that names the bad key, playback, and the operator node."""

from __future__ import annotations

import math

from geometry_msgs.msg import TwistStamped
from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_bringup.scenario import Scenario, Segment, load_scenario, parse_scenario
from rover_description.paths import data_dir
from rover_nav.runtime.params import ConfigError

NAMED = ('egress', 'straight', 'square', 'climb_and_back')


@pytest.mark.parametrize('name', NAMED)
def test_named_scenarios_load(name):
    scen = load_scenario(name)
    assert scen.name == name
    assert scen.duration_s > 0
    assert (data_dir('scenarios') / f'{name}.yaml').is_file()


def test_square_turns_four_right_angles_plus_the_steering_swing_and_turn_slip():
    """Each segment budgets the corner wheels' swing (point-turn angle / steering rate); turns also
    budget the 9 % point-turn slip measured on regolith (see the scenario file)."""
    from rover_description.geometry import load_geometry

    geom = load_geometry('yutu2')
    corner = geom.wheel('fl')
    swing_s = math.atan2(abs(corner.x), abs(corner.y)) / geom.max_steer_rate
    scen = load_scenario('square')
    turn_slip = 0.09
    turned = sum(s.angular_z * (s.duration_s - swing_s) * (1 - turn_slip) for s in scen.segments if s.angular_z)
    driven = sum(s.linear_x * (s.duration_s - swing_s) for s in scen.segments if s.linear_x)
    assert turned == pytest.approx(2 * math.pi, rel=0.01)
    assert driven == pytest.approx(8.0, rel=0.01)


@pytest.mark.parametrize(('data', 'key'), [
    ({'commands': [{'duration_s': -1}]}, 'commands[0].duration_s'),
    ({'commands': [{'duration_s': 1, 'linear_x': 'fast'}]}, 'commands[0].linear_x'),
    ({'commands': [{'duration_s': 1, 'linear_x': float('nan')}]}, 'commands[0].linear_x'),
    ({'commands': [{'linear_x': 0.1}]}, 'commands[0].duration_s'),
    ({'commands': [{'duration_s': 1, 'speed': 1}]}, "['speed']"),
    ({'commands': []}, 'commands'),
    ({'rate_hz': 0, 'commands': [{'duration_s': 1}]}, 'rate_hz'),
    ({'name': 'x', 'comands': []}, "['comands']"),
    ([1, 2], 'top level'),
])
def test_invalid_scenarios_name_the_key(data, key):
    with pytest.raises(ConfigError) as exc:
        parse_scenario(data, 'bad.yaml')
    assert key in str(exc.value)


def test_missing_named_scenario_lists_the_available_ones():
    names = 'climb_and_back, egress, egress_plan, square, straight'
    with pytest.raises(FileNotFoundError, match=f'named scenarios: {names}'):
        load_scenario('no_such_scenario')


@given(st.lists(st.tuples(st.floats(0.1, 50), st.floats(-0.1, 0.1), st.floats(-0.2, 0.2)), min_size=1, max_size=6),
       st.floats(-10, 400))
def test_command_at_is_a_segment_command_or_zero(segments, t):
    scen = Scenario('s', 10.0, tuple(Segment(*s) for s in segments))
    v, w = scen.command_at(t)
    if t < 0 or t >= scen.duration_s:
        assert (v, w) == (0.0, 0.0)
    else:
        assert (v, w) in {(s.linear_x, s.angular_z) for s in scen.segments}


@pytest.mark.ros
def test_operator_plays_the_scenario_on_sim_time(probe):
    """Driven by the simulator's per-tick ground_truth, the operator publishes each tick's command stamped t_k."""
    from nav_msgs.msg import Odometry
    import rclpy
    from rclpy.parameter import Parameter

    from rover_bringup.operator_node import ScenarioOperator
    from rover_nav.runtime import qos

    scen = parse_scenario({'rate_hz': 10, 'commands': [{'duration_s': 1.0, 'linear_x': 0.05},
                                                       {'duration_s': 1.0, 'angular_z': 0.1}]})
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = ScenarioOperator(scenario=scen, context=ctx,
                            parameter_overrides=[Parameter('use_sim_time', value=True)])
    from rclpy.executors import SingleThreadedExecutor
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    out = probe.subscribe('teleop/cmd_vel', TwistStamped, qos.COMMAND)
    clock = probe.publisher('ground_truth', Odometry, qos.STATE)
    try:
        probe.wait_for(lambda: clock.get_subscription_count() >= 1 and node._pub.get_subscription_count() >= 1,
                       10.0, 'operator and probe matched')
        t = 0.0
        for _ in range(25):
            msg = Odometry()
            msg.header.stamp.sec, msg.header.stamp.nanosec = int(t), int(round((t % 1) * 1e9))
            n_before = len(out)
            clock.publish(msg)
            probe.wait_for(lambda n=n_before: (ex.spin_once(timeout_sec=0.01) or True) and len(out) > n,
                           10.0, 'operator command for the tick')
            t += 0.1
        stamps = [r.msg.header.stamp.sec + r.msg.header.stamp.nanosec * 1e-9 for r in out]
        assert stamps == pytest.approx([0.1 * k for k in range(25)], abs=1e-6)
        cmds = [(r.msg.twist.linear.x, r.msg.twist.angular.z) for r in out]
        assert cmds[:10] == [(0.05, 0.0)] * 10
        assert cmds[10:20] == [(0.0, 0.1)] * 10
        assert cmds[20:] == [(0.0, 0.0)] * 5
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


@pytest.mark.ros
def test_operator_repeats_its_command_when_the_simulator_repeats_a_tick(probe):
    """The simulator repeats tick 0 until the chain answers; a first command lost before discovery
    finished must not leave the lockstep run waiting forever."""
    from nav_msgs.msg import Odometry
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from rover_bringup.operator_node import ScenarioOperator
    from rover_nav.runtime import qos

    scen = parse_scenario({'rate_hz': 10, 'commands': [{'duration_s': 5.0, 'linear_x': 0.05}]})
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = ScenarioOperator(scenario=scen, context=ctx, parameter_overrides=[Parameter('use_sim_time', value=True)])
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    out = probe.subscribe('teleop/cmd_vel', TwistStamped, qos.COMMAND)
    ticks = probe.publisher('ground_truth', Odometry, qos.STATE)
    try:
        probe.wait_for(lambda: ticks.get_subscription_count() >= 1 and node._pub.get_subscription_count() >= 1,
                       10.0, 'operator and probe matched')
        for expected in (1, 2, 3):  # tick 0, three times
            ticks.publish(Odometry())
            probe.wait_for(lambda n=expected: (ex.spin_once(timeout_sec=0.01) or True) and len(out) >= n,
                           10.0, f'command number {expected} for the repeated tick 0')
        assert all(r.msg.header.stamp.sec == 0 and r.msg.header.stamp.nanosec == 0 for r in out)
    finally:
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)
