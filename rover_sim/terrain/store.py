"""Save and load a Terrain for the embedded simulator: `<stem>.npz` (heights) + `<stem>.json` (metadata).

The metadata says everything needed to map world (x, y) to a height without this package:
cell size, origin, grid shape, extents, height range, gravity, spawn pose, rocks, egress
corridor, and the SHA-256 of the heights. Both files are written atomically and
byte-deterministically (the zip entry carries a fixed timestamp), so the same seed gives the
same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any
import zipfile

import numpy as np

from rover_sim.materials import NAMES

from .atomic import write_bytes, write_text
from .terrain import Rect, Rock, Spawn, Terrain, dequantize, quantize

FORMAT = 'rover_testbed.terrain/1'
# the metadata's description of the optional `materials` array (codes as in rover_sim.materials)
MATERIALS_NOTE = {'array': 'materials', 'dtype': 'uint8', 'codes': {name: code for code, name in enumerate(NAMES)}}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def heights_npz_bytes(heights: np.ndarray, materials: np.ndarray | None = None) -> bytes:
    """An .npz with a fixed zip timestamp (same heights, same bytes).

    Entries: `heights_q` (uint16, ny x nx), `offset` and `step` (float64 m):
    heights = offset + heights_q * step; with `materials`, also `materials` (uint8, ny x nx, the codes
    of `rover_sim.materials`: regolith 0, rock 1, metal 2). Also readable by plain `numpy.load`.
    """
    q, offset, step = quantize(heights)
    entries = [('heights_q', q), ('offset', np.float64(offset)), ('step', np.float64(step))]
    if materials is not None:
        if materials.shape != heights.shape:
            raise ValueError(f'materials shape {materials.shape} is not the heights shape {heights.shape}')
        entries.append(('materials', np.ascontiguousarray(materials, dtype=np.uint8)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w') as zf:
        for name, array in entries:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + '.npy', date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    return out.getvalue()


def heights_sha256(heights: np.ndarray) -> str:
    """SHA-256 of the float64 heights (C order, little endian)."""
    return hashlib.sha256(np.ascontiguousarray(heights, dtype='<f8').tobytes()).hexdigest()


def _r(value: float, digits: int = 6) -> float:
    return round(float(value), digits)


def terrain_metadata(terrain: Terrain, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready metadata of a terrain (units: metres, degrees for headings, radians for yaw)."""
    x_min, x_max, y_min, y_max = terrain.extent
    stored = dequantize(*quantize(terrain.heights))  # what the .npz holds (a no-op for generated terrains)
    h_min, h_max = float(stored.min()), float(stored.max())
    meta: dict[str, Any] = {
        'format': FORMAT,
        'name': terrain.name,
        'seed': terrain.seed,
        'resolution_m': terrain.resolution,
        'shape': list(terrain.shape),
        'origin_xy': [_r(terrain.origin_xy[0]), _r(terrain.origin_xy[1])],
        'size_m': [_r(terrain.size_m[0]), _r(terrain.size_m[1])],
        'extent': {'x_min': _r(x_min), 'x_max': _r(x_max), 'y_min': _r(y_min), 'y_max': _r(y_max)},
        'height_min': _r(h_min),
        'height_max': _r(h_max),
        'gravity': terrain.gravity,
        'soil': terrain.soil,
        'layout': 'heights[i, j] at x = origin_x + j * resolution_m, y = origin_y + i * resolution_m; '
                  'metres, world frame ENU',
        'spawn': {'x': terrain.spawn.x, 'y': terrain.spawn.y, 'z': terrain.spawn.z, 'yaw': terrain.spawn.yaw},
        'rocks': [{'x': _r(r.x, 4), 'y': _r(r.y, 4), 'diameter_m': _r(r.diameter_m, 4), 'height_m': _r(r.height_m, 4),
                   'ground_m': _r(r.ground_m, 4), 'explicit': r.explicit} for r in terrain.rocks],
        'craters': [[_r(c, 4) for c in row] for row in terrain.craters.tolist()],
        'corridors': [{'x': c.x, 'y': c.y, 'heading_deg': c.heading_deg, 'along_lo': c.along_lo,
                       'along_hi': c.along_hi, 'half_width': c.half_width} for c in terrain.corridors],
        'heights_sha256': heights_sha256(stored),
    }
    if extra:
        meta.update(extra)
    return meta


def save_terrain(terrain: Terrain, path: Path | str, extra: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write `<stem>.npz` and `<stem>.json` atomically (path may carry either suffix or none).

    Heights are stored quantised (65536 levels over their range, see `quantize`): a generated
    terrain reloads bit-identical; an edited one (ruts) reloads within half a level. A terrain with a
    material map (`Terrain.materials`) stores it too, as the `materials` array (uint8 codes).
    """
    base = Path(path)
    if base.suffix in ('.npz', '.json'):
        base = base.with_suffix('')
    npz_path = base.with_name(base.name + '.npz')
    json_path = base.with_name(base.name + '.json')
    more: dict[str, Any] = {'heights_file': npz_path.name}
    if terrain.materials is not None:
        more['materials'] = MATERIALS_NOTE
    meta = terrain_metadata(terrain, {**more, **(extra or {})})
    write_bytes(npz_path, heights_npz_bytes(terrain.heights, terrain.materials))
    write_text(json_path, json.dumps(meta, indent=1, sort_keys=True) + '\n')
    return npz_path, json_path


def load_terrain(path: Path | str) -> Terrain:
    """Read a terrain saved by save_terrain (`<stem>.json`, `<stem>.npz` or `<stem>`); checks the hash."""
    base = Path(path)
    if base.suffix in ('.npz', '.json'):
        base = base.with_suffix('')
    json_path = base.with_name(base.name + '.json')
    meta = json.loads(json_path.read_text())
    if meta.get('format') != FORMAT:
        raise ValueError(f'{json_path}: format {meta.get("format")!r} is not {FORMAT!r}')
    npz_path = json_path.with_name(meta.get('heights_file', base.name + '.npz'))
    with np.load(npz_path, allow_pickle=False) as data:
        heights = dequantize(data['heights_q'], float(data['offset']), float(data['step']))
        # older files (and the world store's) have no material map: None, all regolith
        materials = data['materials'].astype(np.uint8) if 'materials' in data.files else None
    if list(heights.shape) != meta['shape']:
        raise ValueError(f'{npz_path}: shape {heights.shape} is not {meta["shape"]}')
    if materials is not None and materials.shape != heights.shape:
        raise ValueError(f'{npz_path}: materials shape {materials.shape} is not {heights.shape}')
    if heights_sha256(heights) != meta['heights_sha256']:
        raise ValueError(f'{npz_path}: heights do not match the SHA-256 in {json_path.name}')
    s = meta['spawn']
    return Terrain(
        name=meta['name'], heights=heights, resolution=float(meta['resolution_m']),
        origin_xy=(float(meta['origin_xy'][0]), float(meta['origin_xy'][1])), gravity=float(meta['gravity']),
        spawn=Spawn(s['x'], s['y'], s['z'], s['yaw']), seed=int(meta['seed']),
        rocks=tuple(Rock(**r) for r in meta['rocks']),
        craters=np.array(meta['craters'], dtype=float).reshape(-1, 3),
        corridors=tuple(Rect(**c) for c in meta['corridors']), soil=str(meta.get('soil', 'change4')),
        materials=materials)
