"""`rover doctor`: check that this machine can run the stack, and say what is missing.

Checks the embedded ROS 2 runtime for real (rclpy loads with an RMW, and a TwistStamped crosses
DDS between two independent contexts), the simulator and logging libraries, and the tier-1
validators used by the tests. Exit code 0 when everything required works, 1 otherwise.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import importlib
import os
import shutil
import time


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--timeout', type=float, default=10.0,
                        help='seconds to wait for the DDS loopback message (default 10)')


def _module_version(module_name: str) -> Check:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError or a broken native library
        return Check(module_name, False, f'import failed: {exc}')
    return Check(module_name, True, str(getattr(module, '__version__', 'installed')))


def _dds_loopback(timeout_s: float) -> Check:
    """Publish one TwistStamped from one context and receive it in another, over DDS."""
    from geometry_msgs.msg import TwistStamped
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    contexts = [rclpy.Context(), rclpy.Context()]
    for ctx in contexts:
        rclpy.init(context=ctx)
    talker = rclpy.create_node('rover_doctor_talker', context=contexts[0])
    listener = rclpy.create_node('rover_doctor_listener', context=contexts[1])
    received: list[float] = []
    try:
        pub = talker.create_publisher(TwistStamped, 'rover_doctor/cmd_vel', 10)
        listener.create_subscription(TwistStamped, 'rover_doctor/cmd_vel',
                                     lambda m: received.append(m.twist.linear.x), 10)
        executors = []
        for node, ctx in ((talker, contexts[0]), (listener, contexts[1])):
            ex = SingleThreadedExecutor(context=ctx)
            ex.add_node(node)
            executors.append(ex)
        start = time.monotonic()
        msg = TwistStamped()
        msg.twist.linear.x = 0.0559
        while not received and time.monotonic() - start < timeout_s:
            pub.publish(msg)
            for ex in executors:
                ex.spin_once(timeout_sec=0.05)
        elapsed = time.monotonic() - start
        if received:
            return Check('DDS loopback', True, f'TwistStamped received after {elapsed:.2f} s')
        return Check('DDS loopback', False, f'nothing received in {timeout_s:.0f} s '
                     '(firewall, ROS_DOMAIN_ID clash or a broken RMW?)')
    finally:
        talker.destroy_node()
        listener.destroy_node()
        for ctx in contexts:
            rclpy.try_shutdown(context=ctx)


def _offscreen_gl() -> Check:
    """Optional: offscreen pictures (rover describe --png, rover sim --snapshot) need libOSMesa or libEGL."""
    from rover_description.render import offscreen_problem

    problem = offscreen_problem()
    backend = os.environ.get('MUJOCO_GL', 'glfw (display)')
    return Check('offscreen GL', problem is None,
                 f'MUJOCO_GL={backend}: pictures work' if problem is None else problem.split(': ', 1)[-1], False)


def collect(timeout_s: float) -> list[Check]:
    checks = [_module_version(m) for m in ('rclpy', 'numpy', 'yaml', 'mujoco', 'mcap', 'xacro')]
    if checks[0].ok:
        from rclpy.utilities import get_rmw_implementation_identifier
        checks.append(Check('RMW', True, get_rmw_implementation_identifier()))
        checks.append(_dds_loopback(timeout_s))
    checks.append(Check('ROS_DOMAIN_ID', True, os.environ.get('ROS_DOMAIN_ID', '0 (default)'), False))
    checks.append(Check('discovery range', True,
                        os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', 'SUBNET (default)'), False))
    checks.append(_offscreen_gl())
    for tool, package in (('check_urdf', 'liburdfdom-tools'), ('ign', 'ignition-tools + libsdformat-dev')):
        path = shutil.which(tool)
        checks.append(Check(tool, path is not None, path or f'not found (apt-get install {package})', False))
    return checks


def run(args: argparse.Namespace) -> int:
    checks = collect(args.timeout)
    width = max(len(c.name) for c in checks)
    for c in checks:
        mark = 'ok  ' if c.ok else ('FAIL' if c.required else 'warn')
        print(f'{mark}  {c.name:<{width}}  {c.detail}')
    failed = [c.name for c in checks if c.required and not c.ok]
    print('\nrover doctor: ' + ('all required checks passed' if not failed else f'failed: {", ".join(failed)}'))
    return 0 if not failed else 1
