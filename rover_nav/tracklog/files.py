"""track.csv, track.geojson and JSON files: formats and crash-safe writing.

Crash safety: CSV lines are appended with one `os.write` each, so a killed process leaves whole
lines; if a write fails part-way (disk full, file size limit) the file is truncated back to the
last whole line. JSON files (summary, GeoJSON) are replaced atomically (write a temporary file
in the same folder, then rename), so a reader sees the previous or the new version, never half.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any

from rover_nav.tracklog.geo import (
    CHANGE4_LAT_DEG,
    CHANGE4_LON_DEG,
    LUNAR_CRS,
    LUNAR_CRS_NAME,
    LUNAR_CRS_URN,
    MOON_RADIUS_M,
    local_to_selenographic,
)
from rover_nav.tracklog.recorder import EventRecord, TrackPoint

CSV_COLUMNS = ('t', 'x', 'y', 'z', 'yaw', 'speed', 'tilt_deg', 'odom_x', 'odom_y', 'odom_yaw', 'slip',
               'distance_m', 'stamp', 'source')
CSV_HEADER = ','.join(CSV_COLUMNS) + '\n'


def _num(value: float | None, digits: int) -> str:
    if value is None or not math.isfinite(value):
        return ''
    return f'{value:.{digits}f}'


def csv_line(p: TrackPoint) -> str:
    """One track.csv line (newline-terminated); empty fields are unknown values."""
    fields = (_num(p.t, 3), _num(p.x, 4), _num(p.y, 4), _num(p.z, 4), _num(p.yaw, 5), _num(p.speed, 5),
              _num(p.tilt_deg, 3), _num(p.odom_x, 4), _num(p.odom_y, 4), _num(p.odom_yaw, 5), _num(p.slip, 4),
              _num(p.distance_m, 4), _num(p.stamp, 9), p.source)
    return ','.join(fields) + '\n'


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a track.csv as dicts (floats, None for empty); a torn last line is ignored."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding='utf-8') as f:
        header = f.readline().rstrip('\n').split(',')
        for line in f:
            if not line.endswith('\n'):
                break
            values = line.rstrip('\n').split(',')
            if len(values) != len(header):
                continue
            row: dict[str, Any] = {}
            for key, value in zip(header, values, strict=False):
                if key == 'source':
                    row[key] = value
                else:
                    row[key] = float(value) if value else None
            rows.append(row)
    return rows


class CsvSink:
    """Append-only CSV with whole-line writes; raises OSError on failure (file left consistent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._size = 0

    def open(self) -> None:
        """Open (or reopen after an error) in append mode; writes the header to a new file."""
        self.close()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._fd = fd
        self._size = os.fstat(fd).st_size
        if self._size == 0:
            self.write(CSV_HEADER)

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def write(self, line: str) -> None:
        if self._fd is None:
            raise OSError(f'{self.path} is not open')
        data = line.encode('utf-8')
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(28, f'short write ({written} of {len(data)} bytes)', str(self.path))
        except OSError:
            self._truncate_back()
            raise
        self._size += len(data)

    def _truncate_back(self) -> None:
        try:
            if self._fd is not None:
                os.ftruncate(self._fd, self._size)
        except OSError:
            pass

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON via a temporary file + rename (readers never see a half-written file)."""
    tmp = path.with_name(f'.{path.name}.tmp')
    data = json.dumps(obj, indent=1, allow_nan=False).encode('utf-8') + b'\n'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _coords(points: Sequence[tuple[float, ...]], lunar: bool, origin: tuple[float, float]) -> list[list[float]]:
    out = []
    for x, y, z in points:
        if lunar:
            lon, lat = local_to_selenographic(x, y, *origin)
            out.append([round(lon, 9), round(lat, 9), round(z, 4)])
        else:
            out.append([round(x, 4), round(y, 4), round(z, 4)])
    return out


def track_geojson(points: Iterable[TrackPoint], events: Iterable[EventRecord], world: str = '',
                  origin_lon_deg: float = CHANGE4_LON_DEG, origin_lat_deg: float = CHANGE4_LAT_DEG,
                  frame: str = 'world') -> dict[str, Any]:
    """A FeatureCollection: the track in selenographic lon/lat and in local metres, plus events.

    The lon/lat features use the lunar sphere IAU_2015:30100, named in the legacy `crs` member
    (RFC 7946 readers assume WGS84 Earth coordinates and will misplace it). Local features carry
    `"coordinates": "local_metres"` and are x east, y north, z up in metres from the world origin.
    Odometry (aligned to the world frame) is a separate pair of lines.
    """
    origin = (origin_lon_deg, origin_lat_deg)
    pts = list(points)
    gt = [(p.x, p.y, p.z) for p in pts]
    odom = [(p.odom_x, p.odom_y, p.z) for p in pts if p.odom_x is not None and p.odom_y is not None]
    source = pts[0].source if pts else ''
    features: list[dict[str, Any]] = []

    def line(name: str, coords: Sequence[tuple[float, ...]], lunar: bool, **props: Any) -> None:
        if len(coords) < 2:
            geometry: dict[str, Any] = {'type': 'Point', 'coordinates': _coords(coords, lunar, origin)[0]} \
                if coords else {'type': 'LineString', 'coordinates': []}
        else:
            geometry = {'type': 'LineString', 'coordinates': _coords(coords, lunar, origin)}
        features.append({'type': 'Feature', 'id': name, 'geometry': geometry,
                         'properties': {'name': name, 'coordinates': 'selenographic_deg' if lunar else 'local_metres',
                                        'frame': LUNAR_CRS if lunar else frame, **props}})

    line('track', gt, True, source=source, points=len(gt))
    line('track_local', gt, False, source=source, points=len(gt))
    if odom:
        line('odometry', odom, True, source='odom', points=len(odom))
        line('odometry_local', odom, False, source='odom', points=len(odom))
    for i, event in enumerate(events):
        if event.x is None or event.y is None:
            continue
        lon, lat = local_to_selenographic(event.x, event.y, *origin)
        features.append({'type': 'Feature', 'id': f'event_{i}',
                         'geometry': {'type': 'Point', 'coordinates': [round(lon, 9), round(lat, 9)]},
                         'properties': {'name': event.kind, 'coordinates': 'selenographic_deg', 'frame': LUNAR_CRS,
                                        't': round(event.t, 3), 'kind': event.kind, 'detail': event.detail,
                                        'source': event.source, 'x': round(event.x, 4), 'y': round(event.y, 4)}})
    return {
        'type': 'FeatureCollection',
        'name': f'rover track{" in " + world if world else ""}',
        'crs': {'type': 'name', 'properties': {'name': LUNAR_CRS_URN}},
        'lunar_crs': {'code': LUNAR_CRS, 'name': LUNAR_CRS_NAME, 'body': 'Moon', 'radius_m': MOON_RADIUS_M,
                      'longitude': 'east positive, degrees', 'latitude': 'planetocentric, degrees',
                      'warning': 'lunar coordinates: web maps and RFC 7946 readers assume Earth (WGS84)'},
        'origin': {'lon_deg': origin_lon_deg, 'lat_deg': origin_lat_deg, 'site': "Chang'e-4 landing site"
                   if (origin_lon_deg, origin_lat_deg) == (CHANGE4_LON_DEG, CHANGE4_LAT_DEG) else 'custom',
                   'local_frame': f'{frame}: x east, y north, z up (m)'},
        'world': world,
        'features': features,
    }
