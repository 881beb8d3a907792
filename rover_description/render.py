"""Offscreen pictures of the MuJoCo twin (for `rover describe --png` and the README).

Needs an OpenGL backend without a window: MUJOCO_GL=osmesa (libosmesa6) or egl. When MUJOCO_GL
is unset and there is no display, osmesa is chosen before mujoco is imported.
"""

from __future__ import annotations

import os
from pathlib import Path


def choose_gl_backend() -> str:
    """Set MUJOCO_GL to osmesa when unset and headless; return the backend in use."""
    if 'MUJOCO_GL' not in os.environ and not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        os.environ['MUJOCO_GL'] = 'osmesa'
    return os.environ.get('MUJOCO_GL', 'glfw')


def render_rover(profile: str = 'yutu2', *, width: int = 800, height: int = 600, camera: str = 'chase',
                 show_collision: bool = False):
    """Render the rover standing on a flat plane; returns an H x W x 3 uint8 RGB array.

    Raises RuntimeError (with the backend's message) when no offscreen OpenGL context can be made.
    """
    if width < 16 or height < 16 or width > 4096 or height > 4096:
        raise ValueError(f'picture size must be 16..4096 px, got {width} x {height}')
    choose_gl_backend()
    import mujoco

    from rover_description.mujoco_model import COLLISION_GROUP, VISUAL_GROUP, add_ground_plane, build_rover_spec

    spec = build_rover_spec(profile)
    spec.visual.global_.offwidth = max(width, 640)
    spec.visual.global_.offheight = max(height, 480)
    add_ground_plane(spec)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    try:
        renderer = mujoco.Renderer(model, height, width)
    except Exception as exc:  # no GL context: report which backend failed
        raise RuntimeError(f'offscreen rendering unavailable (MUJOCO_GL={os.environ.get("MUJOCO_GL")}): {exc}') from exc
    try:
        option = mujoco.MjvOption()
        option.geomgroup[:] = 0
        option.geomgroup[0] = 1  # the ground
        option.geomgroup[COLLISION_GROUP if show_collision else VISUAL_GROUP] = 1
        option.sitegroup[:] = 0
        renderer.update_scene(data, camera=camera, scene_option=option)
        return renderer.render().copy()
    finally:
        renderer.close()


def write_png(image, path: str | Path) -> Path:
    """Save an RGB array as PNG (matplotlib's writer, no GUI backend)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.image

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(out, image)
    return out
