"""What the three chain fuzz modules share: fuzzed TwistStamped commands into a `safety.harness.Harness`,
the output checks, and the stale-input-to-zero property judged on stamps."""

from __future__ import annotations

import math

from fuzz.strategies import any_float, stamp_near
from geometry_msgs.msg import TwistStamped
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from safety.harness import Harness, seconds

#: moderate case counts, no deadline (a loaded machine), no example database (no state between runs), no
#: shrinking (each example is a DDS round trip; the failing example is printed as found)
FUZZ_SETTINGS = settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                         phases=[Phase.explicit, Phase.generate])


def command_fields(now: float):
    """(v, w, other twist components, stamp fields, frame) of one fuzzed command."""
    return st.tuples(any_float, any_float,
                     st.one_of(st.just((0.0, 0.0, 0.0, 0.0)), st.tuples(any_float, any_float, any_float, any_float)),
                     stamp_near(now), st.sampled_from(['', 'base_link', 'x' * 300, '\u00e9\u00e8']))


def twist_msg(fields) -> TwistStamped:
    """The TwistStamped of one `command_fields` draw."""
    v, w, (ly, lz, ax, ay), (sec, nsec), frame = fields
    msg = TwistStamped()
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
    msg.header.frame_id = frame
    msg.twist.linear.x, msg.twist.angular.z = v, w
    msg.twist.linear.y, msg.twist.linear.z, msg.twist.angular.x, msg.twist.angular.y = ly, lz, ax, ay
    return msg


def publish_command(h: Harness, fields) -> None:
    h.cmd_pub.publish(twist_msg(fields))


def sentinel(h: Harness) -> TwistStamped:
    """A valid command; its answer (frame tag) means the node processed everything published before it."""
    return h.command(0.01, 0.0)


def check_outputs(h: Harness, start: int, v_cap: float = math.inf, w_cap: float = math.inf) -> None:
    """Every output since `start` is finite and within the caps."""
    for r in h.out[start:]:
        t = r.msg.twist
        values = (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z)
        assert all(math.isfinite(x) for x in values), values
        assert abs(t.linear.x) <= v_cap and abs(t.angular.z) <= w_cap, values


def first_zero_after(h: Harness, start: int) -> float | None:
    """Stamp (s) of the first zero output published after index `start`, None if none."""
    for r in h.out[start:]:
        if r.msg.twist.linear.x == 0.0 and r.msg.twist.angular.z == 0.0:
            return seconds(r.msg.header.stamp)
    return None


def drive_until_moving(h: Harness, feed=lambda: None, v: float = 0.05, tries: int = 60) -> None:
    """Command v at 20 Hz of sim time (feeding the sensors with `feed()`) until the output moves."""
    for _ in range(tries):
        h.advance(round(h.t + 0.05, 9), step=0.05)
        feed()
        if h.command(v, 0.0).twist.linear.x > 0.0:
            return
    raise AssertionError('the node never passed a valid command after the fuzzing')


# ---- fuzzed sensor messages ----------------------------------------------------------------------------

FRAMES = ('base_link', 'hazcam_link', 'hazcam_optical_frame', '/base_link', 'map', '', 'rover1/base_link',
          'hazcam_link' * 40)


@st.composite
def clouds(draw, now: float):
    """A PointCloud2 that is valid, degenerate (zeros, denormals, NaN, huge) or malformed (fields, layout,
    endianness, short data, huge point counts, unknown frames), with a fuzzed stamp."""
    import numpy as np
    from sensor_msgs.msg import PointCloud2, PointField

    n = draw(st.integers(0, 300))
    kind = draw(st.sampled_from(['ground', 'zeros', 'denormal', 'nan', 'any', 'huge', 'rock']))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind in ('ground', 'rock'):
        pts = np.c_[rng.uniform(0.6, 3.0, n), rng.uniform(-1.5, 1.5, n), rng.normal(-0.15, 0.005, n)]
        if kind == 'rock' and n:
            pts[: n // 3, 2] += 0.3
    elif kind == 'zeros':
        pts = np.zeros((n, 3))
    elif kind == 'denormal':
        pts = np.full((n, 3), 1e-40)
    elif kind == 'nan':
        pts = np.full((n, 3), np.nan)
    elif kind == 'huge':
        pts = np.full((n, 3), 3e38)
    else:
        pts = np.array([[draw(any_float) for _ in range(3)] for _ in range(min(n, 20))]).reshape(-1, 3)
        n = len(pts)
    big = draw(st.booleans())
    dtype = draw(st.sampled_from([7, 8]))  # FLOAT32, FLOAT64
    size = 4 if dtype == 7 else 8
    with np.errstate(over='ignore', invalid='ignore'):
        data = np.ascontiguousarray(pts, dtype=('>' if big else '<') + ('f4' if size == 4 else 'f8')).tobytes()
    fields = [('x', 0, dtype, 1), ('y', size, dtype, 1), ('z', 2 * size, dtype, 1)]
    mutation = draw(st.sampled_from(['none', 'none', 'drop', 'duplicate', 'datatype', 'offset', 'extra', 'count']))
    if mutation == 'drop':
        fields.pop(draw(st.integers(0, 2)))
    elif mutation == 'duplicate':
        name = draw(st.sampled_from('xyz'))
        fields.append((name, draw(st.integers(0, 2)) * size, dtype, 1))
    elif mutation == 'datatype':
        i = draw(st.integers(0, 2))
        fields[i] = (fields[i][0], fields[i][1], draw(st.integers(0, 255)), 1)
    elif mutation == 'offset':
        i = draw(st.integers(0, 2))
        fields[i] = (fields[i][0], draw(st.sampled_from([3 * size, 1000, 2**32 - 1])), dtype, 1)
    elif mutation == 'extra':
        fields.append(('intensity', 3 * size, 7, 1))
    elif mutation == 'count':
        fields[0] = ('x', 0, dtype, draw(st.sampled_from([0, 3, 2**32 - 1])))
    point_step = 3 * size
    width, height = n, 1
    layout = draw(st.sampled_from(['ok', 'ok', 'step', 'rows', 'huge', 'short', 'zero_step']))
    if layout == 'step':
        point_step = draw(st.sampled_from([1, 4, 2 * size, 64, 2**32 - 1]))
    elif layout == 'rows' and n:
        height, width = n, 1
    elif layout == 'huge':
        width, height = draw(st.sampled_from([(2**31, 1), (2**32 - 1, 2**32 - 1), (1_000_000, 1_000)]))
    elif layout == 'short':
        data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    elif layout == 'zero_step':
        point_step = 0
    msg = PointCloud2()
    msg.header.stamp.sec, msg.header.stamp.nanosec = draw(stamp_near(now))
    msg.header.frame_id = draw(st.sampled_from(FRAMES))
    msg.height, msg.width = height, width
    msg.fields = [PointField(name=f[0], offset=f[1], datatype=f[2], count=f[3]) for f in fields]
    msg.is_bigendian = big
    msg.point_step = point_step
    msg.row_step = draw(st.sampled_from([point_step * width % 2**32, 0, (point_step * width + 7) % 2**32]))
    msg.data = data
    msg.is_dense = False
    return msg


@st.composite
def imus(draw, now: float):
    """An Imu with a fuzzed orientation (unit, non-unit, zero, non-finite), covariance flag and stamp."""
    from fuzz.strategies import quaternion
    from sensor_msgs.msg import Imu

    msg = Imu()
    msg.header.stamp.sec, msg.header.stamp.nanosec = draw(stamp_near(now))
    msg.header.frame_id = draw(st.sampled_from(['imu_link', '', 'map']))
    q = draw(quaternion)
    msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = q
    if draw(st.integers(0, 5)) == 0:
        msg.orientation_covariance[0] = -1.0
    msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (draw(any_float) for _ in range(3))
    msg.linear_acceleration.z = draw(any_float)
    return msg


def tagged_commands(h: Harness, fields_list) -> dict[str, tuple[float, float]]:
    """Publish fuzzed commands, each with a unique frame tag; returns tag -> (v, w) as sent."""
    sent = {}
    for fields in fields_list:
        h._serial += 1
        tag = f'fuzz{h._serial}'
        v, w, others, stamp, _ = fields
        publish_command(h, (v, w, others, stamp, tag))
        sent[tag] = (v, w)
    return sent


def check_never_raises(h: Harness, start: int, sent: dict[str, tuple[float, float]]) -> None:
    """A guard never raises a speed: each answer is finite, |v| and |w| at most the input's, same signs."""
    check_outputs(h, start)
    for r in h.out[start:]:
        tag = r.msg.header.frame_id
        if tag in sent:
            v_in, w_in = sent[tag]
            v, w = r.msg.twist.linear.x, r.msg.twist.angular.z
            assert abs(v) <= abs(v_in) and abs(w) <= abs(w_in), (v_in, w_in, v, w)
            assert v * v_in >= 0.0 and w * w_in >= 0.0, (v_in, w_in, v, w)


def fuzz_guard_once(h: Harness, data, good_input, sensors) -> None:
    """One fuzz case of a guard: advance the clock, now and then a valid sensor input (`good_input()`), fuzzed
    sensor messages (`sensors`: (strategy of now, publisher, max per case) each), fuzzed commands, and the
    never-raises check once the sentinel's answer shows the guard took everything."""
    start = len(h.out)
    h.set_clock(round(h.t + data.draw(st.floats(0.0, 0.3)), 6))
    if data.draw(st.booleans()):
        good_input()
    for strategy, publisher, most in sensors:
        for msg in data.draw(st.lists(strategy(h.t), max_size=most)):
            publisher.publish(msg)
    sent = tagged_commands(h, data.draw(st.lists(command_fields(h.t), min_size=1, max_size=3)))
    sentinel(h)
    check_never_raises(h, start, sent)
