"""What the keyboard teleop shows about the rover: speed, tilt, last guard event, e-stop.

Pure: the node hands in plain numbers with their receive time (seconds, steady clock), and
`render_lines` returns the text of the screen, so the layout is tested without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import math

from rover_nav.teleop.keyboard import KeyboardCommand

#: Event kinds that mean a guard or the chain overrode the operator.
GUARD_KINDS = frozenset({'obstacle_stop', 'slope_slow', 'slope_stop', 'command_timeout', 'estop', 'estop_reset',
                         'missed_step'})

HELP = ('keys  w/Up forward  s/Down back  a/Left turn left  d/Right turn right',
        '      +/- speed step  space stop  q quit')


def tilt_deg(x: float, y: float, z: float, w: float) -> float:
    """Tilt (deg) = angle between the body z axis and world up, from an orientation quaternion.

    The body z axis in the world is R e_z, whose z component is 1 - 2(x^2 + y^2) for a unit
    quaternion; the quaternion is normalised first. Raises ValueError for a non-finite or zero one.
    """
    values = (x, y, z, w)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f'quaternion must be finite, got {values}')
    norm2 = x * x + y * y + z * z + w * w
    if norm2 < 1e-12:
        raise ValueError('quaternion has zero length')
    cos_tilt = 1.0 - 2.0 * (x * x + y * y) / norm2
    return math.degrees(math.acos(max(-1.0, min(1.0, cos_tilt))))


@dataclass(frozen=True)
class Event:
    """One `/events` entry: sim time t (s), kind, detail, source node."""

    t: float
    kind: str
    detail: str
    source: str


def parse_event(text: str) -> Event | None:
    """The JSON object `{t, kind, detail, source}` of an `/events` message, or None if malformed."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get('kind'), str):
        return None
    t = data.get('t', 0.0)
    t = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) else 0.0
    return Event(t, data['kind'], str(data.get('detail', '')), str(data.get('source', '')))


@dataclass
class RoverStatus:
    """The latest rover state with its receive time (steady clock, s); None = never received."""

    speed: tuple[float, float, str, float] | None = None      # (v m/s, w rad/s, source topic, rx time)
    tilt: tuple[float, float] | None = None                  # (deg, rx time)
    guard: tuple[Event, float] | None = None                 # (event, rx time)
    estop: tuple[bool, float] | None = None                  # (latched, rx time)
    events_seen: int = 0
    recent: list[str] = field(default_factory=list)
    # behind the Earth-Moon link (rover teleop --link); None without a link, and the screen is as before
    link: tuple[str, float] | None = None                    # (link status message, rx time)
    telemetry_age: float | None = None                       # sim s between the last odom's stamp and its arrival
    plan: tuple[Event, float] | None = None                  # (last plan/link event, rx time)

    def on_link_status(self, message: str, now: float) -> None:
        """The link's own /diagnostics status (`link: NAME`), published on the ground side."""
        self.link = (message, now)

    def on_telemetry_stamp(self, age_s: float) -> None:
        if math.isfinite(age_s):
            self.telemetry_age = age_s

    def on_odometry(self, topic: str, v: float, w: float, now: float) -> None:
        """Body-frame forward speed and yaw rate. Ground truth wins while it is fresh (< 1 s)."""
        if not (math.isfinite(v) and math.isfinite(w)):
            return
        if (topic != 'ground_truth' and self.speed is not None and self.speed[2] == 'ground_truth'
                and now - self.speed[3] < 1.0):
            return
        self.speed = (v, w, topic, now)

    def on_imu(self, qx: float, qy: float, qz: float, qw: float, now: float) -> None:
        try:
            self.tilt = (tilt_deg(qx, qy, qz, qw), now)
        except ValueError:
            return

    def on_event(self, text: str, now: float) -> None:
        event = parse_event(text)
        if event is None:
            return
        self.events_seen += 1
        if event.kind in GUARD_KINDS:
            self.guard = (event, now)
        elif event.kind.startswith(('plan_', 'link_', 'uplink_')):
            self.plan = (event, now)

    def on_estop(self, latched: bool, now: float) -> None:
        self.estop = (bool(latched), now)

    def standing(self, now: float, stale_s: float = 1.0, tol: float = 1e-3) -> bool | None:
        """Whether the rover stands (|v| < tol m/s and |w| < tol rad/s); None without fresh speed data."""
        if self.speed is None or now - self.speed[3] > stale_s:
            return None
        return abs(self.speed[0]) < tol and abs(self.speed[1]) < tol


def _age(rx: float, now: float) -> str:
    return f'{max(0.0, now - rx):.1f} s ago'


def render_lines(cmd: KeyboardCommand, fraction: float, config_max: tuple[float, float],
                 status: RoverStatus, now: float, stale_s: float = 2.0, domain: str | None = None) -> list[str]:
    """The screen, one string per line (no colours, fits 80 columns).

    Args:
        cmd: the command being published.
        fraction: current speed fraction of the max speeds.
        config_max: (max_linear_speed m/s, max_angular_speed rad/s).
        status: latest rover state.
        now: steady-clock time (s) to judge ages; values older than `stale_s` are marked stale.
        domain: the ROS_DOMAIN_ID this teleop talks in, shown so `rover estop` can be aimed at it
            from another terminal (the full-screen display hides what was printed before it).
    """
    max_v, max_w = config_max
    held = f'holding {cmd.held!r}' if cmd.held else 'idle (no key held)'
    lines = [
        'rover keyboard teleop  -> teleop/cmd_vel'
        + (f'   ROS domain {domain} (e-stop: ROS_DOMAIN_ID={domain} rover estop)' if domain else ''),
        f'command   v {cmd.linear:+.4f} m/s   w {cmd.angular:+.4f} rad/s   {held}',
        f'speed     {fraction * 100:.0f} %  (max {fraction * max_v:.4f} m/s, {fraction * max_w:.4f} rad/s)',
    ]
    if status.speed is None:
        lines.append('rover     speed: no odom / ground_truth yet')
    else:
        v, w, topic, rx = status.speed
        flag = '  STALE' if now - rx > stale_s else ''
        lines.append(f'rover     v {v:+.4f} m/s   w {w:+.4f} rad/s  ({topic}){flag}')
    if status.tilt is None:
        lines.append('tilt      no imu yet')
    else:
        deg, rx = status.tilt
        flag = '  STALE' if now - rx > stale_s else ''
        lines.append(f'tilt      {deg:5.1f} deg{flag}')
    if status.guard is None:
        lines.append('guard     none reported')
    else:
        event, rx = status.guard
        lines.append(f'guard     {event.kind}: {event.detail[:40]} ({event.source}, {_age(rx, now)})')
    if status.estop is None:  # nodes latch only on estop=true (kept for late joiners): none seen = clear
        lines.append('e-stop    clear (never latched)')
    else:
        lines.append('e-stop    LATCHED - clear with `rover estop --reset`' if status.estop[0] else 'e-stop    clear')
    if status.link is not None:
        message, rx = status.link
        age = 'no telemetry yet' if status.telemetry_age is None else f'telemetry {status.telemetry_age:.1f} s old'
        lines.append(f'link      {message[:40]}  {age}{"  STALE" if now - rx > stale_s else ""}')
        if status.plan is None:
            lines.append('plan      none (stick driving under delay is unsafe: send plans)')
        else:
            event, rx = status.plan
            lines.append(f'plan      {event.kind}: {event.detail[:44]} ({_age(rx, now)})')
    lines.extend(HELP)
    return lines
