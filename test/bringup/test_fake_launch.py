"""The launch stand-ins reject what the real Jazzy launch / launch_ros reject at construction or visit.

Each case is what ros2/launch 3.4.0-3.4.4 and launch_ros 0.26 raise on (read from their sources): a
stand-in that accepts it would let a launch file pass here and fail under `ros2 launch`.
"""

from __future__ import annotations

from pathlib import Path
import textwrap

from helpers import fake_launch as fl
from helpers.fake_launch import load_launch_file
import pytest


@pytest.fixture(autouse=True)
def _stand_ins():
    with fl.stand_ins():
        yield


def _launch_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / 'case.launch.py'
    path.write_text(textwrap.dedent("""
        from launch import LaunchDescription
        from launch.actions import DeclareLaunchArgument
        from launch.conditions import IfCondition
        from launch.substitutions import EqualsSubstitution, LaunchConfiguration, PathJoinSubstitution
        from launch_ros.actions import Node

        def generate_launch_description():
    """) + textwrap.indent(textwrap.dedent(body), '    '))
    return path


def test_nested_list_in_path_join_is_rejected():
    """launch < 3.4.5: 'Failed to normalize given item of type list' (the bug of issue 16)."""
    world = fl.LaunchConfiguration('world')
    with pytest.raises(TypeError, match="Failed to normalize given item of type '<class 'list'>'"):
        fl.PathJoinSubstitution(['share', 'worlds', [world, '.sdf']])


def test_concatenation_outside_path_join_is_accepted():
    context = fl.Context({'world': 'flat'})
    path = [fl.PathJoinSubstitution(['share', 'worlds', fl.LaunchConfiguration('world')]), '.sdf']
    assert fl.perform_substitutions(context, fl.normalize_to_list_of_substitutions(path)) == 'share/worlds/flat.sdf'


@pytest.mark.parametrize('value', [3, None, 1.5, [['a']], [b'bytes'], ['a', 2]])
def test_normalize_accepts_only_str_and_substitutions(value):
    with pytest.raises(TypeError):
        fl.normalize_to_list_of_substitutions(value)


def test_keyword_only_arguments_are_enforced():
    with pytest.raises(TypeError):
        fl.TextSubstitution('positional')
    with pytest.raises(TypeError):
        fl.Node('pkg', 'exe')
    with pytest.raises(TypeError):
        fl.DeclareLaunchArgument('name', 'default')
    with pytest.raises(TypeError):
        fl.LaunchConfiguration('name', 'default')
    with pytest.raises(TypeError):
        fl.ParameterValue('1', int)


def test_unknown_node_keyword_is_rejected():
    with pytest.raises(TypeError, match='node_name'):
        fl.Node(package='p', executable='e', node_name='n')


@pytest.mark.parametrize('parameters', [
    ({'a': 1},),                  # a tuple: launch_ros wants a list
    [{'a': None}],                # no None parameter value
    [{'a': Path('/x')}],          # nor a Path
    [['share', ['x', '.yaml']]],  # a parameter file made of a nested list
    [3],                          # a parameter file that is a number
])
def test_node_parameters_are_checked(parameters):
    with pytest.raises(TypeError):
        fl.Node(package='p', executable='e', parameters=parameters)


@pytest.mark.parametrize('remappings', [[['a', 'b']], [('a', 'b', 'c')], [('a', 3)]])
def test_remapping_rules_are_2_tuples_of_substitutions(remappings):
    with pytest.raises(TypeError):
        fl.Node(package='p', executable='e', remappings=remappings)


def test_empty_list_parameter_fails_when_evaluated(tmp_path):
    path = _launch_file(tmp_path, "return LaunchDescription([Node(package='p', executable='e', "
                                  "parameters=[{'a': []}])])")
    with pytest.raises(TypeError):
        load_launch_file(path)


def test_condition_must_be_a_condition():
    with pytest.raises(TypeError, match='condition'):
        fl.Node(package='p', executable='e', condition='true')


def test_opaque_function_needs_a_callable():
    with pytest.raises(TypeError):
        fl.OpaqueFunction(function='not callable')


def test_launch_description_holds_only_entities():
    with pytest.raises(TypeError):
        fl.LaunchDescription(['not an action'])


def test_default_outside_choices_is_rejected():
    with pytest.raises(RuntimeError, match='not in provided choices'):
        fl.DeclareLaunchArgument('driver', default_value='joy', choices=['joystick', 'sdl'])
    with pytest.raises(RuntimeError, match='choices arg is empty'):
        fl.DeclareLaunchArgument('driver', default_value='joy', choices=[])


def test_given_value_outside_choices_is_rejected(tmp_path):
    path = _launch_file(tmp_path, """
        return LaunchDescription([DeclareLaunchArgument('mode', default_value='a', choices=['a', 'b'])])
    """)
    assert load_launch_file(path, launch_arguments={'mode': 'b'}).arguments == {'mode': 'b'}
    with pytest.raises(RuntimeError, match='is not valid'):
        load_launch_file(path, launch_arguments={'mode': 'c'})


@pytest.mark.parametrize('expression', ['yes', '', 'on', 'flat'])
def test_if_condition_accepts_only_true_false_1_0(expression):
    with pytest.raises(fl.InvalidConditionExpressionError):
        fl.IfCondition(expression).evaluate(fl.Context())


@pytest.mark.parametrize(('expression', 'expected'), [('true', True), (' True ', True), ('1', True),
                                                      ('false', False), ('0', False)])
def test_if_condition_values(expression, expected):
    assert fl.IfCondition(expression).evaluate(fl.Context()) is expected
    assert fl.UnlessCondition(expression).evaluate(fl.Context()) is not expected


def test_equals_substitution_compares_as_launch_does():
    context = fl.Context({'driver': 'joy_linux', 'flag': 'True', 'rate': '20'})
    equal = fl.EqualsSubstitution
    assert equal(fl.LaunchConfiguration('driver'), 'joy_linux').perform(context) == 'true'
    assert equal(fl.LaunchConfiguration('driver'), 'joystick').perform(context) == 'false'
    assert equal(fl.LaunchConfiguration('flag'), True).perform(context) == 'true'
    assert equal(fl.LaunchConfiguration('rate'), 20.0).perform(context) == 'true'
    assert fl.NotEqualsSubstitution('', '').perform(context) == 'false'
    assert fl.AllSubstitution('true', '1', 'True').perform(context) == 'true'
    with pytest.raises(fl.SubstitutionFailure):
        fl.AllSubstitution('true', 'maybe').perform(context)


def test_deprecated_launch_configuration_equals_fails_the_load(tmp_path):
    """Jazzy warns that LaunchConfigurationEquals is deprecated; our launch files must not use it."""
    path = _launch_file(tmp_path, """
        from launch.conditions import LaunchConfigurationEquals
        return LaunchDescription([
            DeclareLaunchArgument('mode', default_value='a'),
            Node(package='p', executable='e', condition=LaunchConfigurationEquals('mode', 'a')),
        ])
    """)
    with pytest.raises(fl.LaunchDeprecationWarning, match='deprecated'):
        load_launch_file(path)


def test_undeclared_launch_configuration_fails(tmp_path):
    path = _launch_file(tmp_path, """
        return LaunchDescription([Node(package='p', executable='e', parameters=[{'a': LaunchConfiguration('nope')}])])
    """)
    with pytest.raises(fl.SubstitutionFailure, match="'nope' does not exist"):
        load_launch_file(path)


def test_conditions_and_parameters_are_evaluated_like_launch(tmp_path):
    path = _launch_file(tmp_path, """
        mode = LaunchConfiguration('mode')
        return LaunchDescription([
            DeclareLaunchArgument('mode', default_value='a', choices=['a', 'b']),
            DeclareLaunchArgument('dev', default_value=''),
            Node(package='p', executable='when_a', condition=IfCondition(EqualsSubstitution(mode, 'a')),
                 parameters=[{'dev': LaunchConfiguration('dev'), 'n': '3', 'm': LaunchConfiguration('mode'),
                              'nested': {'k': 1.5}}]),
            Node(package='p', executable='when_b', condition=IfCondition(EqualsSubstitution(mode, 'b'))),
        ])
    """)
    summary = load_launch_file(path)
    assert [n['executable'] for n in summary.launched] == ['when_a']
    (params,) = summary.launched[0]['parameters']
    # a substituted '' stays a string; a literal str stays a str; substituted text is read as YAML
    assert params == {'dev': '', 'n': '3', 'm': 'a', 'nested.k': 1.5}
    assert [n['executable'] for n in load_launch_file(path, launch_arguments={'mode': 'b'}).launched] == ['when_b']


def test_unmodelled_classes_are_missing():
    """A class the stand-ins do not model fails the import instead of being accepted blindly."""
    with pytest.raises(ImportError):
        from launch.actions import ExecuteProcess  # noqa: F401


def test_list_parameter_values_are_normalised_like_launch_ros(tmp_path):
    path = _launch_file(tmp_path, """
        return LaunchDescription([Node(package='p', executable='e', parameters=[
            {'ints': [1, 2], 'mixed': [1, 2.5], 'flags': [True, False], 'names': ['a', 'b']}])])
    """)
    (params,) = load_launch_file(path).launched[0]['parameters']
    assert params == {'ints': [1, 2], 'mixed': [1.0, 2.5], 'flags': [True, False], 'names': ['a', 'b']}
    assert type(params['mixed'][0]) is float and type(params['ints'][0]) is int
