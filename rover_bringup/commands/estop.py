"""`rover estop [--reset]`: latch the e-stop on every node and wait until each confirms, or clear it.

`rover estop` publishes `true` on `estop` (std_msgs/Bool, reliable + transient local, depth 1)
and waits until every expected node reports `estop: True` in its `/diagnostics` values (each
obeying node publishes that at once when it latches, and once a second after). Expected: the
chain (`speed_limiter`, `slope_guard`, `obstacle_guard`) and `drive_controller`, plus
`lunar_sim` when it is on the graph; `--expect a,b,...` replaces the list. Exit 0 when all
confirmed, 1 naming the nodes that did not within `--timeout`. Every latched node then holds
`true` on `estop` itself, so the stop outlives this command and nodes that restart latch too.
`--hold` keeps this command's own `true` published until Ctrl-C as well.

`rover estop --reset` calls the speed limiter's `estop/reset` service (std_srvs/Trigger, the only
way to clear a latch; `false` on `estop` clears nothing) and waits until the expected nodes
report `estop: False`; exit 1 naming those still latched.
Topic names are relative: `--ros-args -r __ns:=/rover1` addresses one rover of several.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
import sys
import time

DEFAULT_EXPECT = ('speed_limiter', 'slope_guard', 'obstacle_guard', 'drive_controller')
OPTIONAL_EXPECT = ('lunar_sim',)  # expected too when the graph shows them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--reset', action='store_true',
                        help="clear a latched e-stop (calls the speed limiter's estop/reset service)")
    parser.add_argument('--timeout', type=float, default=5.0,
                        help='seconds to wait for every node to confirm, or for the reset service (default 5)')
    parser.add_argument('--hold', action='store_true',
                        help='also keep this command publishing the latched e-stop until Ctrl-C')
    parser.add_argument('--expect', default=None, metavar='NODES',
                        help=f'comma-separated node names that must confirm (default: {",".join(DEFAULT_EXPECT)}, '
                             'plus lunar_sim when running)')


def full_name(namespace: str, name: str) -> str:
    """`/ns/name` of a node name in a namespace ('/' for the root)."""
    return f'{namespace.rstrip("/")}/{name}'


def estop_reports(statuses: Iterable[tuple[str, Mapping[str, str]]]) -> dict[str, bool]:
    """Node name -> latched, from /diagnostics (name, values) pairs that carry an `estop` value."""
    out: dict[str, bool] = {}
    for name, values in statuses:
        value = values.get('estop')
        if value in ('True', 'False'):
            out[name] = value == 'True'
    return out


def pending(expected: Iterable[str], reports: Mapping[str, bool], want: bool) -> list[str]:
    """The expected nodes whose last report is not `want` (or that did not report), in order."""
    return [name for name in expected if reports.get(name) is not want]


def _expected(node, spec: str | None) -> list[str]:
    ns = node.get_namespace()
    if spec is not None:
        names = [n.strip() for n in spec.split(',') if n.strip()]
    else:
        names = list(DEFAULT_EXPECT)
        present = {full_name(n_ns, n) for n, n_ns in node.get_node_names_and_namespaces()}
        names += [n for n in OPTIONAL_EXPECT if full_name(ns, n) in present]
    return [n if n.startswith('/') else full_name(ns, n) for n in names]


class _Reports:
    """Collects the `estop` value of each node's /diagnostics status."""

    def __init__(self, node) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        from rover_nav.runtime import qos

        self.node = node
        self.latest: dict[str, bool] = {}
        self._sub = node.create_subscription(DiagnosticArray, '/diagnostics', self._on, qos.DIAGNOSTICS)

    def _on(self, msg) -> None:
        self.latest.update(estop_reports((s.name, {kv.key: kv.value for kv in s.values}) for s in msg.status))

    def wait(self, expected: list[str], want: bool, timeout_s: float, poke=None) -> list[str]:
        """Spin until every expected node reported `want` (or the timeout); the missing ones.

        `poke()` runs every 0.5 s meanwhile: re-publishing `true` makes latched nodes confirm again
        at once, in case their first confirmation went out before our subscription matched them.
        """
        import rclpy

        deadline = time.monotonic() + timeout_s
        next_poke = time.monotonic() + 0.5
        while True:
            missing = pending(expected, self.latest, want)
            if not missing or time.monotonic() >= deadline:
                return missing
            if poke is not None and time.monotonic() >= next_poke:
                poke()
                next_poke = time.monotonic() + 0.5
            rclpy.spin_once(self.node, timeout_sec=0.05)


def _latch(node, timeout_s: float, hold: bool, expect: str | None) -> int:
    import rclpy
    from std_msgs.msg import Bool

    from rover_nav.runtime import qos

    reports = _Reports(node)
    pub = node.create_publisher(Bool, 'estop', qos.LATCHED)
    pub.publish(Bool(data=True))  # latched: subscribers that match later still get it
    settle = time.monotonic() + 0.3  # let discovery show the graph before the expected list is made
    while time.monotonic() < settle:
        rclpy.spin_once(node, timeout_sec=0.05)
    expected = _expected(node, expect)
    missing = reports.wait(expected, True, timeout_s, poke=lambda: pub.publish(Bool(data=True)))
    confirmed = [n for n in expected if n not in missing]
    if confirmed:
        print(f'rover estop: e-stop latched on {pub.topic_name}, confirmed by {", ".join(confirmed)}; '
              'clear it with: rover estop --reset')
    if missing:
        print(f'rover estop: NOT confirmed within {timeout_s:g} s by {", ".join(missing)}: '
              'those nodes may still drive', file=sys.stderr)
        if pub.get_subscription_count() == 0:
            print(f'rover estop: nobody subscribes to {pub.topic_name}: the e-stop reached no node', file=sys.stderr)
    if hold:
        print('rover estop: holding; Ctrl-C to stop publishing (nodes stay latched until reset)')
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 1 if missing else 0


def _reset(node, timeout_s: float, expect: str | None) -> int:
    import rclpy
    from std_srvs.srv import Trigger

    reports = _Reports(node)
    client = node.create_client(Trigger, 'estop/reset')
    start = time.monotonic()
    if not client.wait_for_service(timeout_sec=timeout_s):
        print(f'rover estop: service {client.srv_name} not available (is speed_limiter running?)', file=sys.stderr)
        return 1
    future = client.call_async(Trigger.Request())
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout_s)
    if not future.done() or future.result() is None:
        print(f'rover estop: no answer from {client.srv_name} in {timeout_s:.0f} s', file=sys.stderr)
        return 1
    result = future.result()
    print(f'rover estop: {result.message}')
    if not result.success:
        return 1
    expected = _expected(node, expect)
    still = reports.wait(expected, False, max(1.0, timeout_s - (time.monotonic() - start)))
    if still:
        print(f'rover estop: still latched (or silent) after the reset: {", ".join(still)}; run '
              '`rover estop --reset` again', file=sys.stderr)
        return 1
    print(f'rover estop: cleared on {", ".join(expected)}')
    return 0


def run(args: argparse.Namespace) -> int:
    import rclpy

    rclpy.init(args=sys.argv)
    node = None
    try:
        node = rclpy.create_node('rover_estop')
        if args.reset:
            return _reset(node, args.timeout, args.expect)
        return _latch(node, args.timeout, args.hold, args.expect)
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
