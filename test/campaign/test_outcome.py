"""Judging guard outcomes from ground truth: false stops, rock misses, early slope stops."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
import pytest

from rover_bringup.campaign.outcome import (
    JUDGE_MARGIN_M,
    Body,
    GuardLimits,
    KnownRock,
    TrackSample,
    early_slope_stops,
    is_false_obstacle_stop,
    rock_misses,
    travel_direction,
)

BODY = Body(footprint=(-0.65, 0.65, -0.6, 0.6),
            wheels=tuple((x, y, 0.15, 0.15) for x in (-0.5, 0.0, 0.5) for y in (-0.5, 0.5)))
LIMITS = GuardLimits(max_step_height=0.2, clearance=0.1, obstacle_lookahead=0.1, stop_tilt_deg=23.0)


def straight_track(x0: float, x1: float, yaw: float = 0.0, tilt: float = 0.0) -> list[TrackSample]:
    n = 20
    return [TrackSample(t=i * 10.0, x=x0 + (x1 - x0) * i / n, y=0.0, yaw=yaw, tilt_deg=tilt) for i in range(n + 1)]


def test_a_tall_rock_just_ahead_justifies_the_stop():
    rock = KnownRock(x=0.65 + 0.15 + 0.25, y=0.0, diameter_m=0.5, height_m=0.3)  # gap 0.15 m to the nose
    assert not is_false_obstacle_stop(0.0, 0.0, 0.0, 1, [rock], BODY, LIMITS)


def test_no_rock_or_only_low_rocks_make_a_false_stop():
    assert is_false_obstacle_stop(0.0, 0.0, 0.0, 1, [], BODY, LIMITS)
    low = KnownRock(x=1.0, y=0.0, diameter_m=0.5, height_m=0.15)
    assert is_false_obstacle_stop(0.0, 0.0, 0.0, 1, [low], BODY, LIMITS)


def test_the_box_follows_heading_and_direction():
    reach = LIMITS.clearance + LIMITS.obstacle_lookahead + JUDGE_MARGIN_M
    behind = KnownRock(x=-0.65 - reach / 2, y=0.0, diameter_m=0.2, height_m=0.3)
    assert is_false_obstacle_stop(0.0, 0.0, 0.0, 1, [behind], BODY, LIMITS)
    assert not is_false_obstacle_stop(0.0, 0.0, 0.0, -1, [behind], BODY, LIMITS)
    north = KnownRock(x=0.0, y=0.65 + reach / 2, diameter_m=0.2, height_m=0.3)
    assert not is_false_obstacle_stop(0.0, 0.0, math.pi / 2, 1, [north], BODY, LIMITS)


@given(st.floats(0.0, 2 * math.pi), st.floats(-20, 20), st.floats(-20, 20))
def test_judgement_is_invariant_under_moving_the_whole_scene(yaw, dx, dy):
    ahead = 0.65 + 0.2
    rock = KnownRock(x=dx + ahead * math.cos(yaw), y=dy + ahead * math.sin(yaw), diameter_m=0.3, height_m=0.3)
    assert not is_false_obstacle_stop(dx, dy, yaw, 1, [rock], BODY, LIMITS)


def test_driving_over_a_tall_rock_is_a_miss_and_past_it_is_not():
    tall = KnownRock(x=5.0, y=0.5, diameter_m=0.4, height_m=0.3)  # in the left wheels' line
    assert rock_misses(straight_track(0.0, 8.0), [tall], BODY, LIMITS) == 1
    assert rock_misses(straight_track(0.0, 3.5), [tall], BODY, LIMITS) == 0
    between = KnownRock(x=5.0, y=0.0, diameter_m=0.4, height_m=0.3)  # passes between the wheel lines
    assert rock_misses(straight_track(0.0, 8.0), [between], BODY, LIMITS) == 0
    low = KnownRock(x=5.0, y=0.5, diameter_m=0.4, height_m=0.1)
    assert rock_misses(straight_track(0.0, 8.0), [low], BODY, LIMITS) == 0


def test_travel_direction_from_the_track():
    forward = straight_track(0.0, 2.0)
    assert travel_direction(forward, forward[-1].t) == 1
    backward = straight_track(2.0, 0.0)
    assert travel_direction(backward, backward[-1].t) == -1


def test_slope_stop_below_the_threshold_is_early():
    steep = straight_track(0.0, 1.0, tilt=23.5)
    gentle = straight_track(0.0, 1.0, tilt=12.0)
    event = [{'kind': 'slope_stop', 't': 100.0}]
    assert early_slope_stops(steep, event, LIMITS) == 0
    assert early_slope_stops(gentle, event, LIMITS) == 1
    assert early_slope_stops(gentle, [{'kind': 'obstacle_stop', 't': 100.0}], LIMITS) == 0


def test_only_the_part_of_a_rock_above_the_step_height_counts():
    # rover_sim's rounded rock profile: h(r) = H (1 - (r/R)^p)^(1/p)
    rock = KnownRock(x=0.0, y=0.0, diameter_m=0.4, height_m=0.21, shape_power=3.0)
    core = rock.radius_above(0.2)
    assert 0.0 < core < 0.11  # of a 0.2 m radius
    assert 0.21 * (1 - (core / 0.2) ** 3) ** (1 / 3) == pytest.approx(0.2)  # h(core) = 0.2 m
    assert rock.radius_above(0.25) == 0.0 and rock.radius_above(0.0) == pytest.approx(0.2)
    # a wheel brushing the low flank of a 0.21 m rock (seen in a campaign) meets no 0.20 m step ...
    flank = KnownRock(x=5.0, y=0.5 + 0.075 + 0.15, diameter_m=0.42, height_m=0.21, shape_power=3.0)
    assert rock_misses(straight_track(0.0, 8.0), [flank], BODY, LIMITS) == 0
    # ... but driving over its middle does
    middle = KnownRock(x=5.0, y=0.5, diameter_m=0.42, height_m=0.21, shape_power=3.0)
    assert rock_misses(straight_track(0.0, 8.0), [middle], BODY, LIMITS) == 1
