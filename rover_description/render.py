"""Offscreen pictures of the MuJoCo twin (for `rover describe --png`, `rover sim --snapshot`, the README).

Needs an OpenGL backend without a window: MUJOCO_GL=osmesa (libosmesa6) or egl (libegl1). When
MUJOCO_GL is unset and there is no display, osmesa is chosen if libOSMesa loads, else egl.

`import mujoco` with MUJOCO_GL naming a backend whose library is missing dies inside PyOpenGL
(`'NoneType' object has no attribute 'glGetError'`) before any of our checks could run, so the
library is probed first (`offscreen_problem`), and `guard_gl_environment` keeps commands that
never render from importing a broken backend at all.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

# MUJOCO_GL backend -> (library name for ctypes.util.find_library, Debian/Ubuntu package)
GL_LIBRARIES: dict[str, tuple[str, str]] = {'osmesa': ('OSMesa', 'libosmesa6'), 'egl': ('EGL', 'libegl1')}
_DISABLED = 'disable'
_broken_backend: str | None = None  # the user's MUJOCO_GL that guard_gl_environment found unusable


class OffscreenUnavailableError(RuntimeError):
    """No offscreen OpenGL: the message says in one line what to install."""


def library_loads(name: str) -> bool:
    """Whether the shared library `name` (e.g. 'OSMesa') is found and actually loads.

    find_library alone is not enough: the ld cache may list a file that is gone or broken.
    A failed dlopen only raises OSError, so trying it in this process is safe.
    """
    path = ctypes.util.find_library(name)
    if not path:
        return False
    try:
        ctypes.CDLL(path)
    except OSError:
        return False
    return True


def _headless() -> bool:
    return not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def choose_gl_backend() -> str:
    """Set MUJOCO_GL when unset and headless (osmesa if it loads, else egl); return the backend in use."""
    if 'MUJOCO_GL' not in os.environ and _headless():
        use_egl = not library_loads(GL_LIBRARIES['osmesa'][0]) and library_loads(GL_LIBRARIES['egl'][0])
        os.environ['MUJOCO_GL'] = 'egl' if use_egl else 'osmesa'
    return os.environ.get('MUJOCO_GL', 'glfw').lower().strip()


def offscreen_problem() -> str | None:
    """None when offscreen rendering can start, else one line saying what to install (call before mujoco)."""
    backend = _broken_backend or choose_gl_backend()
    if backend == _DISABLED:
        return 'offscreen rendering unavailable: MUJOCO_GL=disable; unset it or set MUJOCO_GL=osmesa or egl'
    if backend not in GL_LIBRARIES:
        return None  # glfw/glx with a display: mujoco reports its own errors, caught at the renderer
    library, package = GL_LIBRARIES[backend]
    if library_loads(library):
        return None
    other = 'egl' if backend == 'osmesa' else 'osmesa'
    alternative = f', or set MUJOCO_GL={other}' if library_loads(GL_LIBRARIES[other][0]) else ''
    return (f'offscreen rendering unavailable: MUJOCO_GL={backend} needs lib{library} '
            f'(sudo apt-get install {package}){alternative}')


def require_offscreen() -> str:
    """The backend to render with; raises OffscreenUnavailableError (one line: what to install) when there is none."""
    problem = offscreen_problem()
    if problem:
        raise OffscreenUnavailableError(problem)
    return os.environ.get('MUJOCO_GL', 'glfw')


def guard_gl_environment() -> None:
    """If MUJOCO_GL names a backend whose library does not load, disable GL for this process and its children.

    Commands that never render (rover run, rover sim without --snapshot) then import mujoco
    safely; the rendering ones still report the original backend's problem via offscreen_problem().
    """
    global _broken_backend
    backend = os.environ.get('MUJOCO_GL', '').lower().strip()
    if backend in GL_LIBRARIES and not library_loads(GL_LIBRARIES[backend][0]):
        _broken_backend = backend
        os.environ['MUJOCO_GL'] = _DISABLED


def check_picture_size(width: int, height: int) -> None:
    """ValueError unless both sides are 16..4096 px (checked with the other arguments, before any work)."""
    if width < 16 or height < 16 or width > 4096 or height > 4096:
        raise ValueError(f'picture size must be 16..4096 px, got {width} x {height}')


def render_rover(profile: str = 'yutu2', *, width: int = 800, height: int = 600, camera: str = 'chase',
                 show_collision: bool = False):
    """Render the rover standing on a flat plane; returns an H x W x 3 uint8 RGB array.

    Raises OffscreenUnavailableError (what to install) when the backend's library is missing, and
    RuntimeError (with the backend's message) when no offscreen OpenGL context can be made.
    """
    check_picture_size(width, height)
    require_offscreen()
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
