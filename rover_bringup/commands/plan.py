"""`rover plan SEGMENT...`: send one drive plan from the ground station and wait for the rover's answer.

Segments: `2.5m@0.05` (drive 2.5 m straight at 0.05 m/s; negative backs up) and `90deg@5` (turn
90 degrees left in place at 5 deg/s; negative turns right). The plan goes out once on
`drive_plan` (docs/link.md) with `--seq` (default: the wall clock in seconds, so each plan is newer
than the last), and the command waits for its `plan_accepted` or `plan_refused` on `events`,
which behind the Earth-Moon link comes a round trip later (~3.5 s under `earth`). Run it in the
ground station's domain, e.g. `ROS_DOMAIN_ID=N rover plan 2m@0.05` with the N `rover teleop
--link` prints. Exit 0 when accepted, 1 when refused or unanswered, 2 for a bad segment.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

EXIT_CONFIG = 2
_SEGMENT = re.compile(r'^(?P<amount>[+-]?\d+(\.\d*)?|[+-]?\.\d+)(?P<unit>m|deg)@(?P<speed>\d+(\.\d*)?|\.\d+)$')


def parse_segments(texts: list[str]) -> list[dict[str, float]]:
    """`2m@0.05` / `-90deg@5` -> plan segments; ValueError names the bad one."""
    out = []
    for text in texts:
        match = _SEGMENT.match(text.strip())
        if match is None:
            raise ValueError(f'bad segment {text!r}: write DISTANCEm@SPEED (m/s) or ANGLEdeg@SPEED (deg/s)')
        key = 'distance_m' if match['unit'] == 'm' else 'angle_deg'
        out.append({key: float(match['amount']), 'speed': float(match['speed'])})
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('segments', nargs='+', metavar='SEGMENT', help='2.5m@0.05 (straight) or 90deg@5 (turn)')
    parser.add_argument('--seq', type=int, default=None, help='sequence number (default: wall clock seconds)')
    parser.add_argument('--timeout', type=float, default=15.0,
                        help='seconds to wait for a subscriber and for the answer (default 15)')


def run(args: argparse.Namespace) -> int:
    import rclpy
    from std_msgs.msg import String

    from rover_nav.link.plan import plan_message
    from rover_nav.runtime import qos

    try:
        segments = parse_segments(args.segments)
    except ValueError as exc:
        print(f'rover plan: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    seq = args.seq if args.seq is not None else int(time.time())
    rclpy.init(args=sys.argv)
    node = None
    try:
        node = rclpy.create_node('rover_plan')
        answers: list[dict] = []

        def on_event(msg: String) -> None:
            try:
                entry = json.loads(msg.data)
            except json.JSONDecodeError:
                return
            if entry.get('kind', '').startswith('plan_') and f'plan {seq} ' in entry.get('detail', '') + ' ':
                answers.append(entry)

        node.create_subscription(String, 'events', on_event, qos.EVENTS)
        pub = node.create_publisher(String, 'drive_plan', qos.EVENTS)
        deadline = time.monotonic() + args.timeout
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        if pub.get_subscription_count() == 0:
            print(f"rover plan: nobody subscribes to {pub.topic_name}: is ROS_DOMAIN_ID the ground station's?",
                  file=sys.stderr)
            return 1
        pub.publish(String(data=plan_message(seq, segments)))
        print(f"rover plan: plan {seq} sent ({len(segments)} segment(s)); waiting for the rover's answer", flush=True)
        while not any(a['kind'] in ('plan_accepted', 'plan_refused') for a in answers) \
                and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        for entry in answers:
            print(f"rover plan: {entry['kind']}: {entry.get('detail', '')}")
        return 0 if any(a['kind'] == 'plan_accepted' for a in answers) else 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
