"""`rover describe`: print the rover's key geometry, write its URDF / MJCF, render a picture.

Everything printed is read from the expanded xacro of the chosen profile (the same numbers the
nodes, the simulator and Gazebo use). Exit codes: 0 done, 1 a requested output failed (for
example no offscreen OpenGL for --png), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
import sys

PROFILES = ('yutu2', 'hobby')
DESIGN_SLOPE_DEG = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--profile', choices=PROFILES, default='yutu2',
                        help='description profile: yutu2 (lunar rover, default) or hobby (Open-Source-Rover class)')
    parser.add_argument('--urdf-out', metavar='FILE', help='write the expanded URDF here')
    parser.add_argument('--mjcf-out', metavar='FILE', help='write the generated MuJoCo model (MJCF) here')
    parser.add_argument('--png', metavar='FILE', help='render the MuJoCo model offscreen to this PNG (OSMesa/EGL)')
    parser.add_argument('--size', metavar='WxH', default='800x600', help='picture size in pixels (default 800x600)')
    parser.add_argument('--collision', action='store_true', help='render the collision shapes instead of visuals')
    parser.add_argument('--json', action='store_true', help='print the geometry as JSON instead of text')


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'must look like 800x600, got {text!r}') from None
    return w, h


def geometry_summary(profile: str) -> dict:
    """The key numbers of a profile as plain JSON-able data (m, kg, deg)."""
    from rover_description.description import urdf_model
    from rover_description.geometry import load_geometry
    from rover_description.stability import static_stability

    g = load_geometry(profile)
    model = urdf_model(profile)
    poses = model.link_transforms()
    top = max(s.extent_along(poses[link.name] @ s.origin, [0.0, 0.0, 1.0])[1]
              for link in model.links.values() for s in link.collisions)
    stab = static_stability(g)
    front = [w for w in g.wheels if w.name in ('fl', 'fr')]
    rear = [w for w in g.wheels if w.name in ('rl', 'rr')]
    cam = g.hazcam
    cam_h = cam.pose.xyz[2] + g.wheel_radius
    low = cam.pose.rpy[1] + cam.v_fov / 2  # rad below horizontal of the lowest ray
    high = cam.pose.rpy[1] - cam.v_fov / 2
    near = cam.pose.xyz[0] + cam_h / math.tan(low) if low > 0 else math.inf
    far = cam.pose.xyz[0] + (cam_h / math.tan(high) if high > 0 else cam.max_range * math.cos(high))
    r3 = 3
    return {
        'profile': profile,
        'mass_kg': round(g.mass, r3),
        'length_m': round(g.footprint[1] - g.footprint[0], r3),
        'width_m': round(g.footprint[3] - g.footprint[2], r3),
        'height_m': round(top + g.wheel_radius, r3),
        'wheelbase_m': round(front[0].x - rear[0].x, r3),
        'track_m': {w.name: round(2 * abs(w.y), r3) for w in g.wheels if w.name.endswith('l')},
        'wheel_radius_m': g.wheel_radius,
        'wheel_width_m': g.wheels[0].width,
        'belly_clearance_m': round(g.belly_clearance, r3),
        'com_m': [round(v, r3) for v in g.com],
        'wheels': [{'name': w.name, 'x': round(w.x, r3), 'y': round(w.y, r3), 'steer_deg':
                    [round(math.degrees(w.steer_min), 1), round(math.degrees(w.steer_max), 1)] if w.steerable else None}
                   for w in g.wheels],
        'max_steer_rate_rad_s': g.max_steer_rate,
        'max_wheel_rate_rad_s': g.max_wheel_rate,
        'imu': {'xyz': list(g.imu.xyz), 'rpy': [round(v, 4) for v in g.imu.rpy]},
        'hazcam': {'xyz': list(cam.pose.xyz), 'pitch_deg': round(math.degrees(cam.pose.rpy[1]), 1),
                   'fov_deg': [round(math.degrees(cam.h_fov), 1), round(math.degrees(cam.v_fov), 1)],
                   'samples': [cam.width, cam.height], 'range_m': [cam.min_range, cam.max_range],
                   'rate_hz': cam.rate_hz,
                   'ground_view_starts_ahead_of_front_m': round(near - g.front_x, r3),
                   'view_reaches_ahead_of_front_m': round(far - g.front_x, r3)},
        'static_tip_angle_deg': round(math.degrees(stab.min_tip_angle), 1),
        'critical_downhill_heading_deg': round(math.degrees(stab.critical_heading), 1),
        'stability_margin_at_20deg_deg': round(math.degrees(stab.margin(math.radians(DESIGN_SLOPE_DEG))), 1),
    }


def _print_text(s: dict) -> None:
    print(f"rover profile {s['profile']}: {s['mass_kg']} kg, {s['length_m']} x {s['width_m']} x {s['height_m']} m "
          '(length x width x height, wheels and mast included)')
    tracks = ', '.join(f'{k[0]} {v}' for k, v in s['track_m'].items())
    print(f"  wheelbase {s['wheelbase_m']} m, track {tracks} m (front/middle/rear)")
    print(f"  wheels r {s['wheel_radius_m']} m, width {s['wheel_width_m']} m, "
          f"max {s['max_wheel_rate_rad_s']} rad/s; steering max {s['max_steer_rate_rad_s']} rad/s")
    print(f"  belly clearance {s['belly_clearance_m']} m; centre of mass {s['com_m']} m in base_link")
    print('  wheel   x (m)    y (m)   steer limits (deg)')
    for w in s['wheels']:
        steer = f"{w['steer_deg'][0]:+.1f} .. {w['steer_deg'][1]:+.1f}" if w['steer_deg'] else 'fixed'
        print(f"  {w['name']:<5} {w['x']:+7.3f}  {w['y']:+7.3f}   {steer}")
    h = s['hazcam']
    print(f"  imu_link at {s['imu']['xyz']}; hazcam_link at {h['xyz']} pitched {h['pitch_deg']} deg down, "
          f"fov {h['fov_deg'][0]} x {h['fov_deg'][1]} deg, {h['samples'][0]} x {h['samples'][1]} rays, "
          f"{h['range_m'][0]}..{h['range_m'][1]} m at {h['rate_hz']} Hz")
    print(f"  hazcam sees the ground from {h['ground_view_starts_ahead_of_front_m']} m to "
          f"{h['view_reaches_ahead_of_front_m']} m ahead of the front-most point")
    print(f"  static tip-over angle {s['static_tip_angle_deg']} deg (downhill heading "
          f"{s['critical_downhill_heading_deg']} deg); margin on a {DESIGN_SLOPE_DEG:.0f} deg slope "
          f"{s['stability_margin_at_20deg_deg']} deg")


def run(args: argparse.Namespace) -> int:
    from rover_description.render import check_picture_size, offscreen_problem

    try:  # every argument is checked before anything is printed or written
        width, height = _size(args.size)
        check_picture_size(width, height)
    except ValueError as exc:
        print(f'rover describe: --size: {exc}', file=sys.stderr)
        return 2
    if args.png:
        problem = offscreen_problem()  # before anything imports mujoco (a missing libOSMesa kills the import)
        if problem:
            print(f'rover describe: {problem}', file=sys.stderr)
            return 1
    from rover_description.description import urdf_xml

    summary = geometry_summary(args.profile)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_text(summary)
    status = 0
    if args.urdf_out:
        path = Path(args.urdf_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(urdf_xml(args.profile))
        print(f'wrote URDF {path}', file=sys.stderr if args.json else sys.stdout)
    if args.mjcf_out:
        from rover_description.mujoco_model import rover_mjcf

        path = Path(args.mjcf_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rover_mjcf(args.profile))
        print(f'wrote MJCF {path}', file=sys.stderr if args.json else sys.stdout)
    if args.png:
        from rover_description.render import render_rover, write_png

        try:
            image = render_rover(args.profile, width=width, height=height, show_collision=args.collision)
        except (RuntimeError, ValueError) as exc:
            print(f'rover describe: no picture: {exc}', file=sys.stderr)
            status = 1
        else:
            path = write_png(image, args.png)
            print(f'wrote picture {path}', file=sys.stderr if args.json else sys.stdout)
    return status
