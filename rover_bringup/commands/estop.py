"""`rover estop [--reset]`: latch the e-stop on every node, or clear it.

`rover estop` publishes `true` on `estop` (std_msgs/Bool, reliable + transient local, depth 1)
and waits until every node that subscribes has acknowledged it: the chain, the drive
controller, the simulator and the hardware driver each latch their own stop. Exit code 0 when
at least one subscriber acknowledged, 1 when nobody was listening (the stop reached no one).
`--hold` keeps publishing (latched) until Ctrl-C, so nodes started later stop too.

`rover estop --reset` calls the speed limiter's `estop/reset` service (std_srvs/Trigger); the
limiter clears its latch and publishes `false` on `estop`, which clears the other nodes.
Topic names are relative: `--ros-args -r __ns:=/rover1` addresses one rover of several.
"""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--reset', action='store_true',
                        help="clear a latched e-stop (calls the speed limiter's estop/reset service)")
    parser.add_argument('--timeout', type=float, default=5.0,
                        help='seconds to wait for subscribers or for the reset service (default 5)')
    parser.add_argument('--hold', action='store_true',
                        help='keep the latched e-stop published until Ctrl-C (late-starting nodes stop too)')


def _latch(node, timeout_s: float, hold: bool) -> int:
    from rclpy.duration import Duration
    from std_msgs.msg import Bool

    from rover_nav.runtime import qos

    pub = node.create_publisher(Bool, 'estop', qos.LATCHED)
    pub.publish(Bool(data=True))  # latched: subscribers that match later still get it
    deadline = time.monotonic() + timeout_s
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    count = pub.get_subscription_count()
    if count == 0:
        print(f'rover estop: nobody subscribes to {pub.topic_name} (waited {timeout_s:.0f} s): the e-stop '
              'reached no node', file=sys.stderr)
        return 1
    acked = pub.wait_for_all_acked(Duration(seconds=max(0.1, deadline - time.monotonic())))
    print(f'rover estop: e-stop latched on {pub.topic_name} ({count} subscriber(s)'
          f'{"" if acked else ", not all acknowledged yet"}); clear it with: rover estop --reset')
    if hold:
        print('rover estop: holding; Ctrl-C to stop publishing (nodes stay latched until reset)')
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def _reset(node, timeout_s: float) -> int:
    import rclpy
    from std_srvs.srv import Trigger

    client = node.create_client(Trigger, 'estop/reset')
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
    return 0 if result.success else 1


def run(args: argparse.Namespace) -> int:
    import rclpy

    rclpy.init(args=sys.argv)
    node = None
    try:
        node = rclpy.create_node('rover_estop')
        if args.reset:
            return _reset(node, args.timeout)
        return _latch(node, args.timeout, args.hold)
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
