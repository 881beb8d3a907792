"""Pictures of a terrain: shaded relief and slope map side by side (matplotlib, headless Agg canvas).

Used by `rover world show` and for the README picture. The relief is lit from the world's sun
azimuth and elevation-exaggerated a little so small rocks show; the slope map marks 12 degrees
(the egress ramp limit) and 20 degrees (the rover's rated climb) with contours. The egress corridor,
explicit rocks and the spawn pose (arrow) are drawn on both panels.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from .atomic import write_bytes
from .gazebo import SunSpec
from .terrain import Terrain

SLOPE_MAX_DEG = 35.0


def _rect_corners(rect) -> np.ndarray:
    h = math.radians(rect.heading_deg)
    c, s = math.cos(h), math.sin(h)
    pts = [(rect.along_lo, -rect.half_width), (rect.along_hi, -rect.half_width),
           (rect.along_hi, rect.half_width), (rect.along_lo, rect.half_width), (rect.along_lo, -rect.half_width)]
    return np.array([(rect.x + a * c - b * s, rect.y + a * s + b * c) for a, b in pts])


def _overlays(ax, terrain: Terrain) -> None:
    for rect in terrain.corridors:
        corners = _rect_corners(rect)
        ax.plot(corners[:, 0], corners[:, 1], color='#00e5ff', lw=0.9, ls='--')
    for rock in terrain.rocks:
        if rock.explicit:
            ax.add_patch(_circle((rock.x, rock.y), rock.diameter_m / 2 + 0.15))
    s = terrain.spawn
    ax.annotate('', xy=(s.x + 1.5 * math.cos(s.yaw), s.y + 1.5 * math.sin(s.yaw)), xytext=(s.x, s.y),
                arrowprops={'arrowstyle': '->', 'color': '#ff3b30', 'lw': 1.8})
    ax.plot([s.x], [s.y], 'o', color='#ff3b30', ms=4)


def _circle(xy, radius):
    from matplotlib.patches import Circle
    return Circle(xy, radius, fill=False, color='#ffcc00', lw=1.0)


def render_png_bytes(terrain: Terrain, title: str | None = None, sun: SunSpec | None = None,
                     dpi: int = 90) -> bytes:
    """PNG bytes of the shaded relief (left) and slope map (right) of `terrain`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LightSource
    from matplotlib.figure import Figure

    sun = sun or SunSpec()
    heights = terrain.heights
    slope = terrain.slope_map()
    x_min, x_max, y_min, y_max = terrain.extent
    extent = (x_min - terrain.resolution / 2, x_max + terrain.resolution / 2,
              y_min - terrain.resolution / 2, y_max + terrain.resolution / 2)
    light = LightSource(azdeg=(90.0 - sun.azimuth_deg) % 360.0, altdeg=max(sun.elevation_deg, 20.0))
    import matplotlib as mpl
    cmap = mpl.colormaps['gray']
    # LightSource wants row 0 at the top (image convention); our row 0 is the south edge
    shaded = light.shade(heights[::-1], cmap=cmap, blend_mode='overlay', vert_exag=3.0,
                         dx=terrain.resolution, dy=terrain.resolution)

    fig = Figure(figsize=(13.0, 6.0), dpi=dpi)
    FigureCanvasAgg(fig)
    ax_relief, ax_slope = fig.subplots(1, 2)
    ax_relief.imshow(shaded, extent=extent, origin='upper', interpolation='bilinear')
    h_min, h_max = terrain.height_range
    norm = mpl.colors.Normalize(vmin=h_min, vmax=h_max if h_max > h_min else h_min + 1e-3)
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax_relief, shrink=0.8, label='height (m)')
    ax_relief.set_title('shaded relief')

    im = ax_slope.imshow(slope, extent=extent, origin='lower', cmap='magma', vmin=0.0, vmax=SLOPE_MAX_DEG,
                         interpolation='nearest')
    x = terrain.grid.x
    y = terrain.grid.y
    ax_slope.contour(x, y, slope, levels=[12.0, 20.0], colors=['#7CFC00', '#00bfff'], linewidths=0.5)
    fig.colorbar(im, ax=ax_slope, shrink=0.8, label='slope (deg); contours 12 (green), 20 (blue)')
    ax_slope.set_title('slope')
    for ax in (ax_relief, ax_slope):
        _overlays(ax, terrain)
        ax.set_xlabel('x (m, east)')
        ax.set_ylabel('y (m, north)')
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect('equal')
    explicit = sum(r.explicit for r in terrain.rocks)
    fig.suptitle(title or (f'{terrain.name}: {terrain.size_m[0]:g} x {terrain.size_m[1]:g} m at '
                           f'{terrain.resolution:g} m, seed {terrain.seed}, {len(terrain.craters)} craters, '
                           f'{len(terrain.rocks) - explicit} procedural + {explicit} explicit rocks; '
                           + ('dashed: egress corridor, ' if terrain.corridors else '') + 'arrow: spawn'),
                 fontsize=10)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format='png', metadata={'Software': None})
    return out.getvalue()


def render_png(terrain: Terrain, path: Path | str, title: str | None = None) -> Path:
    """Write the relief + slope picture of `terrain` to path (atomically); returns the path."""
    write_bytes(path, render_png_bytes(terrain, title))
    return Path(path)
