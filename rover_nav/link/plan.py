"""Drive plans for delayed operation: parse, assemble, execute; pure Python (no rclpy).

Under a 1.75 s one-way delay the operator cannot close the loop by hand, so the ground sends
bounded plans on `/drive_plan` (std_msgs/String, JSON; format in docs/link.md):

    {"seq": 4, "part": 0, "parts": 1,
     "segments": [{"distance_m": 2.0, "speed": 0.05}, {"angle_deg": -30, "speed": 3.0}]}

`distance_m` drives straight (negative: backwards) at `speed` m/s; `angle_deg` turns in place
(positive: left, counter-clockwise) at `speed` deg/s. A plan may be split into `parts`
messages (0 .. parts-1). The rover runs a plan only when every part of it arrived, in order,
and its `seq` is newer than every plan seen before; anything else is refused with a reason.

`Sequencer` is the rover's onboard command source under the link: once per control tick it
says what goes into the safety chain: the running plan's segment, else the operator's last
uplinked command while it is fresh (`command_timeout`), else zero. It stops a plan at its end,
on a guard trip, on an e-stop, and when nothing came up the link for `link_timeout`; after a
stop it drives again only on a fresh plan or a fresh command.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import math
from typing import Any

#: Event kinds this module emits (published on /events by the executor node).
ACCEPTED, REFUSED, DONE, ABORTED = 'plan_accepted', 'plan_refused', 'plan_done', 'plan_aborted'
LINK_LOST, LINK_RESTORED = 'link_lost', 'link_restored'
#: The operator's uplinked command went stale while it moved the rover (a gap, a loss, a blackout).
UPLINK_STALE = 'uplink_stale'
#: Guard events that stop a plan (ROVER_SPEC section 3 event kinds).
GUARD_TRIPS = ('obstacle_stop', 'slope_stop')

Event = tuple[str, str]


class PlanError(ValueError):
    """A plan message that cannot be run; the text says why (it goes into the refusal event)."""


@dataclass(frozen=True)
class Segment:
    """Drive `distance_m` straight, or turn `angle_deg` in place, at `speed` (m/s or deg/s)."""

    kind: str  # 'drive' | 'turn'
    amount: float  # metres or degrees, signed
    speed: float  # m/s or deg/s, positive

    def command(self) -> tuple[float, float]:
        """(v m/s, w rad/s) while this segment runs."""
        sign = 1.0 if self.amount >= 0.0 else -1.0
        if self.kind == 'drive':
            return sign * self.speed, 0.0
        return 0.0, sign * math.radians(self.speed)

    def expected_s(self) -> float:
        return abs(self.amount) / self.speed


@dataclass(frozen=True)
class Limits:
    """Bounds a plan must respect to be accepted."""

    max_speed: float = 0.0559  # m/s
    max_turn_rate_deg: float = math.degrees(0.1)  # deg/s
    max_distance_m: float = 50.0  # per segment
    max_angle_deg: float = 360.0  # per segment
    max_segments: int = 100  # per plan


@dataclass(frozen=True)
class PlanPart:
    seq: int
    part: int
    parts: int
    segments: tuple[Segment, ...]


def _finite(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PlanError(f'{where} must be a finite number, got {value!r}')
    return float(value)


def _int(where: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise PlanError(f'{where} must be an integer in [{lo}, {hi}], got {value!r}')
    return value


def parse_segment(item: Any, where: str, limits: Limits) -> Segment:
    if not isinstance(item, dict):
        raise PlanError(f'{where} must be an object with distance_m or angle_deg, and speed')
    extra = set(item) - {'distance_m', 'angle_deg', 'speed'}
    if extra:
        raise PlanError(f'{where}: unknown key(s) {sorted(extra)}')
    if ('distance_m' in item) == ('angle_deg' in item):
        raise PlanError(f'{where} needs exactly one of distance_m, angle_deg')
    if 'speed' not in item:
        raise PlanError(f'{where}.speed is required')
    speed = _finite(f'{where}.speed', item['speed'])
    if 'distance_m' in item:
        amount = _finite(f'{where}.distance_m', item['distance_m'])
        if abs(amount) > limits.max_distance_m:
            raise PlanError(f'{where}.distance_m = {amount} exceeds {limits.max_distance_m} m')
        if not 0.0 < speed <= limits.max_speed + 1e-9:
            raise PlanError(f'{where}.speed = {speed} m/s must be in (0, {limits.max_speed}]')
        return Segment('drive', amount, speed)
    amount = _finite(f'{where}.angle_deg', item['angle_deg'])
    if abs(amount) > limits.max_angle_deg:
        raise PlanError(f'{where}.angle_deg = {amount} exceeds {limits.max_angle_deg} deg')
    if not 0.0 < speed <= limits.max_turn_rate_deg + 1e-9:
        raise PlanError(f'{where}.speed = {speed} deg/s must be in (0, {limits.max_turn_rate_deg:.3f}]')
    return Segment('turn', amount, speed)


def parse_part(text: str, limits: Limits) -> PlanPart:
    """One `/drive_plan` message; PlanError says what is wrong (a truncated message is not JSON)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise PlanError(f'not a whole JSON plan ({exc})') from exc
    if not isinstance(data, dict):
        raise PlanError('a plan is a JSON object {seq, segments}')
    extra = set(data) - {'seq', 'part', 'parts', 'segments'}
    if extra:
        raise PlanError(f'unknown key(s) {sorted(extra)}')
    seq = _int('seq', data.get('seq'), 0, 2**53)
    parts = _int('parts', data.get('parts', 1), 1, 1000)
    part = _int('part', data.get('part', 0), 0, parts - 1)
    raw = data.get('segments')
    if not isinstance(raw, list) or not raw:
        raise PlanError('segments must be a non-empty list')
    segments = tuple(parse_segment(item, f'segments[{i}]', limits) for i, item in enumerate(raw))
    return PlanPart(seq, part, parts, segments)


def plan_message(seq: int, segments: list[dict[str, float]], part: int = 0, parts: int = 1) -> str:
    """The JSON text of one plan message (what a ground tool or scenario sends)."""
    body: dict[str, Any] = {'seq': seq, 'segments': segments}
    if parts != 1:
        body.update(part=part, parts=parts)
    return json.dumps(body, separators=(',', ':'))


@dataclass(frozen=True)
class Plan:
    seq: int
    segments: tuple[Segment, ...]


class PlanAssembler:
    """Collects plan parts; hands out whole plans, refuses incomplete or out-of-order ones."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.newest_seq = -1
        self._seq: int | None = None
        self._parts: list[PlanPart] = []

    def offer(self, text: str) -> tuple[Plan | None, list[Event]]:
        """A received message -> (a whole plan to run or None, refusal events)."""
        events: list[Event] = []
        try:
            part = parse_part(text, self.limits)
        except PlanError as exc:
            seq = _seq_of(text)
            events += self._drop_pending(f'plan {seq} ' if seq is not None else 'plan ', str(exc))
            return None, events
        if part.seq == self._seq:
            expected = len(self._parts)
            if part.part != expected or part.parts != self._parts[0].parts:
                events += self._drop_pending(f'plan {part.seq} ', f'incomplete: part {expected} missing '
                                                                  f'(got part {part.part} of {part.parts})')
                return None, events
            self._parts.append(part)
        elif part.seq <= self.newest_seq:
            events.append((REFUSED, f'plan {part.seq} refused: out of order (plan {self.newest_seq} came first)'))
            return None, events
        else:
            if self._seq is not None:
                events += self._drop_pending(f'plan {self._seq} ', f'incomplete: plan {part.seq} came before '
                                                                   f'its part {len(self._parts)}')
            self.newest_seq = part.seq
            if part.part != 0:
                events.append((REFUSED, f'plan {part.seq} refused: incomplete: part 0 missing '
                                        f'(got part {part.part} of {part.parts})'))
                return None, events
            self._seq, self._parts = part.seq, [part]
        if len(self._parts) < self._parts[0].parts:
            return None, events
        segments = tuple(s for p in self._parts for s in p.segments)
        seq = self._seq
        self._seq, self._parts = None, []
        if len(segments) > self.limits.max_segments:
            events.append((REFUSED, f'plan {seq} refused: {len(segments)} segments, more than '
                                    f'{self.limits.max_segments}'))
            return None, events
        return Plan(seq, segments), events

    def _drop_pending(self, label: str, why: str) -> list[Event]:
        self._seq, self._parts = None, []
        return [(REFUSED, f'{label}refused: {why}')]


def _seq_of(text: str) -> int | None:
    try:
        seq = json.loads(text).get('seq')
    except (json.JSONDecodeError, TypeError, AttributeError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


@dataclass(frozen=True)
class Pose2D:
    x: float
    y: float
    yaw: float


class Sequencer:
    """The rover-side command source under the link (see the module docstring)."""

    def __init__(self, limits: Limits, link_timeout: float = 5.0, command_timeout: float = 0.5,
                 stall_factor: float = 3.0, stall_margin_s: float = 30.0) -> None:
        self.assembler = PlanAssembler(limits)
        self.link_timeout = link_timeout
        self.command_timeout = command_timeout
        self.stall_factor = stall_factor
        self.stall_margin_s = stall_margin_s
        self.plan: Plan | None = None
        self.index = 0
        self.estopped = False
        self.link_up = True
        self.last_uplink: float | None = None
        self.started: float | None = None
        self._teleop: tuple[float, float, float] | None = None  # (v, w, received at)
        self._pose: Pose2D | None = None
        self._seg_start: Pose2D | None = None
        self._seg_t0 = 0.0
        self._turned = 0.0
        self._last_yaw: float | None = None

    # ---- inputs ------------------------------------------------------------------------------
    def uplink_heard(self, now: float) -> list[Event]:
        """Anything delivered by the uplink (heartbeat, command, plan): the link is alive."""
        self.last_uplink = now
        if not self.link_up:
            self.link_up = True
            return [(LINK_RESTORED, 'uplink heard again; waiting for a fresh plan or command')]
        return []

    def teleop(self, v: float, w: float, now: float) -> list[Event]:
        events = self.uplink_heard(now)
        if self.estopped:
            return events
        self._teleop = (v, w, now)
        if self.plan is not None and (abs(v) > 1e-9 or abs(w) > 1e-9):
            events += self.abort('operator command took over')
        return events

    def plan_text(self, text: str, now: float) -> list[Event]:
        events = self.uplink_heard(now)
        plan, refusals = self.assembler.offer(text)
        events += refusals
        if plan is None:
            return events
        if self.estopped:
            return [*events, (REFUSED, f'plan {plan.seq} refused: e-stop latched')]
        if self.plan is not None:
            events += self.abort(f'superseded by plan {plan.seq}')
        self.plan, self.index = plan, 0
        self._teleop = None  # a plan replaces whatever the operator held
        self._start_segment(now)
        total = sum(s.expected_s() for s in plan.segments)
        events.append((ACCEPTED, f'plan {plan.seq} accepted: {len(plan.segments)} segment(s), ~{total:.0f} s'))
        return events

    def pose(self, x: float, y: float, yaw: float) -> None:
        """Odometry pose (odom frame); turns are measured by accumulating its yaw changes."""
        if self._last_yaw is not None:
            self._turned += _wrap(yaw - self._last_yaw)
        self._last_yaw = yaw
        self._pose = Pose2D(x, y, yaw)

    def guard_event(self, kind: str, detail: str) -> list[Event]:
        if kind in GUARD_TRIPS and self.plan is not None:
            return self.abort(f'guard tripped: {kind} ({detail})')
        return []

    def estop(self, latched: bool) -> list[Event]:
        events: list[Event] = []
        if latched and not self.estopped:
            self.estopped = True
            self._teleop = None
            if self.plan is not None:
                events += self.abort('e-stop')
        elif not latched:
            self.estopped = False
        return events

    def abort(self, why: str) -> list[Event]:
        if self.plan is None:
            return []
        seq, index, total = self.plan.seq, self.index, len(self.plan.segments)
        self.plan = None
        return [(ABORTED, f'plan {seq} stopped in segment {index + 1}/{total}: {why}')]

    # ---- output ------------------------------------------------------------------------------
    def tick(self, now: float) -> tuple[float, float, list[Event]]:
        """The command for this control tick: (v m/s, w rad/s, events)."""
        events: list[Event] = []
        if self.started is None:
            self.started = now
        heard = self.last_uplink if self.last_uplink is not None else self.started
        if self.link_up and now - heard > self.link_timeout:
            self.link_up = False
            self._teleop = None
            events.append((LINK_LOST, f'no uplink for {now - heard:.1f} s (link_timeout {self.link_timeout} s): '
                                      'stopped'))
            events += self.abort('link lost')
        if self.estopped or not self.link_up:
            return 0.0, 0.0, events
        if self.plan is not None:
            v, w, more = self._plan_command(now)
            return v, w, events + more
        if self._teleop is not None:
            v, w, received = self._teleop
            if now - received <= self.command_timeout + 1e-9:
                return v, w, events
            self._teleop = None
            if v or w:
                events.append((UPLINK_STALE, f'no operator command for {now - received:.1f} s '
                                             f'(command_timeout {self.command_timeout} s): stopped'))
        return 0.0, 0.0, events

    def _start_segment(self, now: float) -> None:
        self._seg_start = self._pose
        self._seg_t0 = now
        self._turned = 0.0

    def _progress(self, seg: Segment) -> float:
        if seg.kind == 'turn':
            return abs(math.degrees(self._turned))
        if self._pose is None or self._seg_start is None:
            self._seg_start = self._pose
            return 0.0
        return math.hypot(self._pose.x - self._seg_start.x, self._pose.y - self._seg_start.y)

    def _plan_command(self, now: float) -> tuple[float, float, list[Event]]:
        assert self.plan is not None
        while True:
            seg = self.plan.segments[self.index]
            if self._progress(seg) + 1e-6 < abs(seg.amount):
                break
            self.index += 1
            if self.index >= len(self.plan.segments):
                seq = self.plan.seq
                self.plan = None
                return 0.0, 0.0, [(DONE, f'plan {seq} done')]
            self._start_segment(now)
        limit = seg.expected_s() * self.stall_factor + self.stall_margin_s
        if now - self._seg_t0 > limit:
            return 0.0, 0.0, self.abort(f'segment made too little progress in {limit:.0f} s (stuck?)')
        v, w = seg.command()
        return v, w, []

    @property
    def state(self) -> str:
        if self.estopped:
            return 'estop'
        if not self.link_up:
            return 'link_lost'
        if self.plan is not None:
            return f'plan {self.plan.seq} segment {self.index + 1}/{len(self.plan.segments)}'
        return 'teleop' if self._teleop is not None else 'idle'
