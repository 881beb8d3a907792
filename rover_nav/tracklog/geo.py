"""Attitude from quaternions and local metres -> selenographic lon/lat.

Frames: `world` is ENU (x east, y north, z up, REP-103/105), so local x/y map to east/north.
Selenographic coordinates are planetocentric longitude (east positive, degrees) and latitude on the
IAU 2015 lunar sphere (mean radius 1737.4 km, IAU_2015:30100). Around a landing site a few km wide
the local tangent-plane (equirectangular) approximation is good to far better than a metre.
"""

from __future__ import annotations

import math

#: Mean lunar radius of the IAU 2015 sphere (m).
MOON_RADIUS_M = 1737400.0
#: Chang'e-4 landing site, Von Karman crater (degrees, east longitude positive, south negative).
CHANGE4_LON_DEG = 177.588
CHANGE4_LAT_DEG = -45.457
#: The lunar geographic CRS the lon/lat coordinates use (the IAU/OGC planetary registry code).
LUNAR_CRS = 'IAU_2015:30100'
LUNAR_CRS_URN = 'urn:ogc:def:crs:IAU:2015:30100'
LUNAR_CRS_NAME = 'Moon (2015) - Sphere / Ocentric'


def _check_quaternion(qx: float, qy: float, qz: float, qw: float) -> float:
    norm = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    if not math.isfinite(norm) or norm < 1e-6:
        raise ValueError(f'quaternion ({qx}, {qy}, {qz}, {qw}) is not a finite non-zero rotation')
    return norm


def yaw_from_quaternion(qx: float, qy: float, qz: float, qw: float) -> float:
    """Heading (rad, CCW about world z from +x/east, in (-pi, pi]) of a body orientation.

    Uses the ZYX (yaw-pitch-roll) decomposition; the quaternion need not be unit length.
    """
    n = _check_quaternion(qx, qy, qz, qw)
    qx, qy, qz, qw = qx / n, qy / n, qz / n, qw / n
    return math.atan2(2.0 * (qw * qz + qx * qy), 1.0 - 2.0 * (qy * qy + qz * qz))


def tilt_deg_from_quaternion(qx: float, qy: float, qz: float, qw: float) -> float:
    """Tilt (deg, 0..180): angle between the body z axis and world up.

    The body z axis in world is R[:, 2]; its world-z component is 1 - 2 (qx^2 + qy^2).
    """
    n = _check_quaternion(qx, qy, qz, qw)
    qx, qy = qx / n, qy / n
    cos_tilt = max(-1.0, min(1.0, 1.0 - 2.0 * (qx * qx + qy * qy)))
    return math.degrees(math.acos(cos_tilt))


def wrap_angle(a: float) -> float:
    """Angle wrapped into (-pi, pi]."""
    wrapped = math.atan2(math.sin(a), math.cos(a))
    return math.pi if wrapped == -math.pi else wrapped


def local_to_selenographic(x_m: float, y_m: float, origin_lon_deg: float = CHANGE4_LON_DEG,
                           origin_lat_deg: float = CHANGE4_LAT_DEG) -> tuple[float, float]:
    """Local ENU metres around an origin -> (lon, lat) degrees on the lunar sphere.

    Tangent-plane approximation: dlat = y / R, dlon = x / (R cos lat0). Longitude is wrapped into
    (-180, 180]. Raises ValueError for non-finite input or an origin at a pole.
    """
    if not all(math.isfinite(v) for v in (x_m, y_m, origin_lon_deg, origin_lat_deg)):
        raise ValueError(f'non-finite coordinate ({x_m}, {y_m}) or origin ({origin_lon_deg}, {origin_lat_deg})')
    if not -89.0 <= origin_lat_deg <= 89.0:
        raise ValueError(f'origin_lat_deg={origin_lat_deg} is too close to a pole for a tangent plane')
    lat = origin_lat_deg + math.degrees(y_m / MOON_RADIUS_M)
    lon = origin_lon_deg + math.degrees(x_m / (MOON_RADIUS_M * math.cos(math.radians(origin_lat_deg))))
    lon = (lon + 180.0) % 360.0 - 180.0
    if lon == -180.0:
        lon = 180.0
    return lon, lat


def selenographic_to_local(lon_deg: float, lat_deg: float, origin_lon_deg: float = CHANGE4_LON_DEG,
                           origin_lat_deg: float = CHANGE4_LAT_DEG) -> tuple[float, float]:
    """Inverse of `local_to_selenographic` (metres east, north of the origin)."""
    dlon = (lon_deg - origin_lon_deg + 180.0) % 360.0 - 180.0
    x = math.radians(dlon) * MOON_RADIUS_M * math.cos(math.radians(origin_lat_deg))
    y = math.radians(lat_deg - origin_lat_deg) * MOON_RADIUS_M
    return x, y
