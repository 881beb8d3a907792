"""Sensor models of the simulator: the IMU and the forward hazard depth sensor. Pure numpy.

Frames: the world is ENU (x east, y north, z up); rotation matrices map body vectors to world
vectors (``v_world = R @ v_body``). Quaternions are returned as (x, y, z, w), the ROS order.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from rover_sim.terrain.grid import Grid


def quat_from_matrix(rot: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a 3x3 rotation matrix, w >= 0 (Shepperd's method)."""
    m = np.asarray(rot, dtype=float)
    if m.shape != (3, 3) or not np.all(np.isfinite(m)):
        raise ValueError(f'quat_from_matrix: need a finite 3x3 matrix, got shape {m.shape}')
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0.0:
        k = 2.0 * math.sqrt(1.0 + trace)
        q = np.array([(m[2, 1] - m[1, 2]) / k, (m[0, 2] - m[2, 0]) / k, (m[1, 0] - m[0, 1]) / k, 0.25 * k])
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        k = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = np.array([0.25 * k, (m[0, 1] + m[1, 0]) / k, (m[0, 2] + m[2, 0]) / k, (m[2, 1] - m[1, 2]) / k])
    elif m[1, 1] > m[2, 2]:
        k = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = np.array([(m[0, 1] + m[1, 0]) / k, 0.25 * k, (m[1, 2] + m[2, 1]) / k, (m[0, 2] - m[2, 0]) / k])
    else:
        k = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = np.array([(m[0, 2] + m[2, 0]) / k, (m[1, 2] + m[2, 1]) / k, 0.25 * k, (m[1, 0] - m[0, 1]) / k])
    if q[3] < 0.0:
        q = -q
    return q / np.linalg.norm(q)


def roll_pitch_yaw(rot: np.ndarray) -> tuple[float, float, float]:
    """Fixed-axis roll, pitch, yaw (rad) of a body->world rotation (REP-103: nose-down pitch > 0)."""
    m = np.asarray(rot, dtype=float)
    pitch = math.asin(max(-1.0, min(1.0, -m[2, 0])))
    return math.atan2(m[2, 1], m[2, 2]), pitch, math.atan2(m[1, 0], m[0, 0])


def tilt_deg(rot: np.ndarray) -> float:
    """Angle between the body z axis and world up (deg)."""
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.asarray(rot)[2, 2])))))


@dataclass(frozen=True)
class ImuSample:
    """One IMU reading: orientation (x, y, z, w) of the IMU frame in ENU, angular velocity (rad/s)
    and specific force (m/s^2, includes the gravity reaction: +g on z at rest) in the IMU frame."""

    stamp: float
    orientation: np.ndarray
    angular_velocity: np.ndarray
    linear_acceleration: np.ndarray


class ImuModel:
    """An IMU that differentiates the true velocity of its frame between samples and adds noise.

    Accelerometer = R^T (dv/dt + (0, 0, g)): the finite difference over the sample period is what a
    real accelerometer's anti-alias filter averages too, and it costs nothing per physics step.
    Noise: white Gaussian with the given standard deviations (orientation noise in rad, applied as
    a small random rotation).
    """

    def __init__(self, gravity: float, accel_noise: float, gyro_noise: float, orientation_noise: float,
                 rng: np.random.Generator) -> None:
        for name, value in (('gravity', gravity), ('accel_noise', accel_noise), ('gyro_noise', gyro_noise),
                            ('orientation_noise', orientation_noise)):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'ImuModel: {name} must be finite and >= 0, got {value!r}')
        self.gravity = gravity
        self.accel_noise = accel_noise
        self.gyro_noise = gyro_noise
        self.orientation_noise = orientation_noise
        self.rng = rng
        self._last: tuple[float, np.ndarray] | None = None

    def sample(self, stamp: float, rot: np.ndarray, omega_body: np.ndarray, velocity_world: np.ndarray) -> ImuSample:
        """Reading at `stamp` (s) for body->world rotation `rot`, body-frame rates and world velocity (m/s)."""
        return self.sample_floats(stamp, np.asarray(rot, dtype=float).ravel().tolist(),
                                  np.asarray(omega_body, dtype=float).tolist(),
                                  np.asarray(velocity_world, dtype=float).tolist())

    def sample_floats(self, stamp: float, rot: list[float], omega_body: list[float],
                      velocity_world: list[float]) -> ImuSample:
        """`sample` with the rotation as 9 row-major floats and the vectors as 3 floats each (the hot path:
        a 50 Hz IMU costs a few Python float operations, not a dozen numpy calls on 3-vectors)."""
        vx, vy, vz = velocity_world
        ax = ay = az = 0.0
        if self._last is not None:
            t_prev, (px, py, pz) = self._last
            if stamp > t_prev:
                dt = stamp - t_prev
                ax, ay, az = (vx - px) / dt, (vy - py) / dt, (vz - pz) / dt
        self._last = (stamp, (vx, vy, vz))
        az += self.gravity
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = rot
        # R^T (a + g e_z)
        specific = [r00 * ax + r10 * ay + r20 * az, r01 * ax + r11 * ay + r21 * az, r02 * ax + r12 * ay + r22 * az]
        gyro = list(omega_body)
        # rng.normal(0, s, 3) is s times the next three standard normals: one draw serves both noises
        if self.accel_noise > 0.0 and self.gyro_noise > 0.0:
            z = self.rng.standard_normal(6).tolist()
            specific = [a + self.accel_noise * n for a, n in zip(specific, z[:3], strict=True)]
            gyro = [g + self.gyro_noise * n for g, n in zip(gyro, z[3:], strict=True)]
        elif self.accel_noise > 0.0:
            specific = [a + self.accel_noise * n for a, n in zip(specific, self.rng.standard_normal(3).tolist(),
                                                                  strict=True)]
        elif self.gyro_noise > 0.0:
            gyro = [g + self.gyro_noise * n for g, n in zip(gyro, self.rng.standard_normal(3).tolist(), strict=True)]
        if self.orientation_noise > 0.0:
            noisy = np.array(rot).reshape(3, 3) @ _small_rotation(self.rng.normal(0.0, self.orientation_noise, 3))
            quat = quat_from_matrix(noisy)
        else:
            quat = np.array(_quat_of(*rot))
        return ImuSample(stamp, quat, np.array(gyro), np.array(specific))


def _quat_of(m00: float, m01: float, m02: float, m10: float, m11: float, m12: float, m20: float, m21: float,
             m22: float) -> tuple[float, float, float, float]:
    """`quat_from_matrix` on nine floats (no checks): (x, y, z, w), w >= 0, unit length."""
    trace = m00 + m11 + m22
    if trace > 0.0:
        k = 2.0 * math.sqrt(1.0 + trace)
        q = ((m21 - m12) / k, (m02 - m20) / k, (m10 - m01) / k, 0.25 * k)
    elif m00 > m11 and m00 > m22:
        k = 2.0 * math.sqrt(1.0 + m00 - m11 - m22)
        q = (0.25 * k, (m01 + m10) / k, (m02 + m20) / k, (m21 - m12) / k)
    elif m11 > m22:
        k = 2.0 * math.sqrt(1.0 + m11 - m00 - m22)
        q = ((m01 + m10) / k, 0.25 * k, (m12 + m21) / k, (m02 - m20) / k)
    else:
        k = 2.0 * math.sqrt(1.0 + m22 - m00 - m11)
        q = ((m02 + m20) / k, (m12 + m21) / k, 0.25 * k, (m10 - m01) / k)
    x, y, z, w = q
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if w < 0.0:
        n = -n
    return x / n, y / n, z / n, w / n


def _small_rotation(v: np.ndarray) -> np.ndarray:
    """Rotation matrix of the rotation vector v (Rodrigues)."""
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * kx + (1.0 - math.cos(angle)) * kx @ kx


def ray_directions(h_fov: float, v_fov: float, width: int, height: int) -> np.ndarray:
    """Unit ray directions of a scanning depth sensor (a lidar fan) in its link frame (x fwd, y left, z up).

    Shape (height, width, 3): angles uniform over the fields of view (rad) like Gazebo's gpu_lidar,
    row 0 the lowest elevation, column 0 the right-most azimuth (-h_fov/2), as its organised cloud.
    """
    if not (0.0 < h_fov < 2.0 * math.pi and 0.0 < v_fov < math.pi):
        raise ValueError(f'ray_directions: fields of view out of range, got {h_fov!r}, {v_fov!r}')
    if width < 1 or height < 1:
        raise ValueError(f'ray_directions: need width, height >= 1, got {width}, {height}')
    az = np.linspace(-h_fov / 2, h_fov / 2, width) if width > 1 else np.zeros(1)
    el = np.linspace(-v_fov / 2, v_fov / 2, height) if height > 1 else np.zeros(1)
    azg, elg = np.meshgrid(az, el)
    return np.stack([np.cos(elg) * np.cos(azg), np.cos(elg) * np.sin(azg), np.sin(elg)], axis=-1)


def bilinear_flat(heights: np.ndarray, grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear heights at world points (clamped to the map edge), ~2x faster than fancy 2-D indexing."""
    nx, ny = grid.nx, grid.ny
    fx = np.clip((x - grid.origin_x) * (1.0 / grid.resolution), 0.0, nx - 1.000001)
    fy = np.clip((y - grid.origin_y) * (1.0 / grid.resolution), 0.0, ny - 1.000001)
    j = fx.astype(np.intp)
    i = fy.astype(np.intp)
    u = fx - j
    v = fy - i
    flat = heights.reshape(-1)
    k = i * nx + j
    h00 = flat.take(k)
    h01 = flat.take(k + 1)
    h10 = flat.take(k + nx)
    h11 = flat.take(k + nx + 1)
    return h00 + (h01 - h00) * u + ((h10 - h00) + (h11 - h10 - h01 + h00) * u) * v


class HeightfieldScanner:
    """Cast a depth sensor's rays against a height grid (occlusion included: the first crossing wins).

    Each ray is sampled at `samples` points over the part of its range where it can meet the
    ground; the first sample below the ground brackets the hit, refined by linear interpolation of
    the height above ground. Cost is at most rays x samples bilinear look-ups (no physics-engine ray
    casts). A feature shorter along the ray than the sample spacing (range / samples on shallow
    rays, much less on steep ones) can be missed.
    """

    def __init__(self, directions: np.ndarray, min_range: float, max_range: float, samples: int,
                 range_noise: float, rng: np.random.Generator) -> None:
        directions = np.asarray(directions, dtype=float)
        if directions.ndim != 3 or directions.shape[-1] != 3:
            raise ValueError(f'HeightfieldScanner: directions must be (h, w, 3), got {directions.shape}')
        if not (0.0 <= min_range < max_range and math.isfinite(max_range)):
            raise ValueError(f'HeightfieldScanner: need 0 <= min_range < max_range, got {min_range}, {max_range}')
        if samples < 2:
            raise ValueError(f'HeightfieldScanner: samples must be >= 2, got {samples!r}')
        if not (range_noise >= 0.0 and math.isfinite(range_noise)):
            raise ValueError(f'HeightfieldScanner: range_noise must be >= 0, got {range_noise!r}')
        self.shape = directions.shape[:2]
        self.directions = directions.reshape(-1, 3)
        self.min_range = float(min_range)
        self.max_range = float(max_range)
        self._u = np.linspace(0.0, 1.0, int(samples))
        self.range_noise = float(range_noise)
        self.rng = rng

    def scan(self, grid: Grid, heights: np.ndarray, position: np.ndarray, rot: np.ndarray) -> np.ndarray:
        """Points (h, w, 3) in the sensor link frame; NaN where a ray sees nothing within range.

        position: sensor origin in the world (m); rot: sensor link -> world rotation. Rays are
        sampled only where they can meet the ground: a ray falling towards the lowest ground
        within range is cut where it passes below it, and rays that stay above the highest ground
        are no-returns without sampling, so steep rays get fine steps for free. The ground is
        looked up only at the samples at or below the highest ground within range (and a few
        before them): a sample above it cannot be below the ground, so the points are those of
        looking up every sample.
        """
        position = np.asarray(position, dtype=float)
        dirs = self.directions @ np.asarray(rot, dtype=float).T  # (rays, 3) world
        rows, cols, _, _ = grid.window(position[0], position[1], self.max_range)
        local = heights[rows, cols]
        ny, nx = local.shape
        if nx < 2 or ny < 2:
            return np.full((*self.shape, 3), np.nan)
        z_lo, z_hi = float(local.min()), float(local.max())
        dz = dirs[:, 2]
        t0 = self.min_range
        n, m = dz.shape[0], self._u.shape[0]
        with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
            t_floor = np.where(dz < -1e-9, (z_lo - 0.01 - position[2]) / dz, np.inf)
            span = np.clip(t_floor, t0, self.max_range) - t0
            # samples t_k = t0 + span u_k, u_k = k / (m - 1). Those above the highest ground (plus
            # a margin for the bilinear interpolation's rounding) cannot be below the ground: on a
            # falling ray they come first, on a rising one last. k_top: where the ray passes that
            # height, in samples; 2 samples more are kept on either side for the rounding of k_top
            # and to have the sample before the first one below the ground
            k_top = ((z_hi + 1e-6 - position[2]) / dz - t0) / span * (m - 1)
            k_top = np.where(np.isfinite(k_top), np.clip(k_top, -4.0, m + 4.0), np.nan)
        lo = np.where(dz < 0.0, np.floor(k_top) - 2.0, 0.0)
        hi = np.where(dz > 0.0, np.ceil(k_top) + 3.0, float(m))
        # unknown crossing (level ray, zero span): every sample
        unknown = np.isnan(k_top)
        lo[unknown] = 0.0
        hi[unknown] = float(m)
        first_k = np.clip(lo, 0, m).astype(np.intp)
        count = np.clip(hi, 0, m).astype(np.intp) - first_k
        # a ray above the highest ground at its start that rises can never meet it
        start_z = position[2] + dz * t0
        count[(dz >= 0.0) & (start_z > z_hi)] = 0
        np.maximum(count, 0, out=count)
        total = int(count.sum())
        if total == 0:
            return self._finish(np.zeros(n, dtype=bool), np.zeros(n))
        # the kept samples of all rays in one flat array: ray index and sample index
        ray = np.repeat(np.arange(n), count)
        ends = np.cumsum(count)
        k = np.arange(total) - np.repeat(ends - count - first_k, count)
        ts = span.take(ray)
        ts *= self._u.take(k)
        ts += t0
        above = dz.take(ray)
        above *= ts
        above += position[2]  # the ray's z, minus the ground below
        # sample positions in cells of the window (x, y) relative to its corner: every sample lies
        # within max_range of the sensor, so inside `local` (the grid within max_range, clipped to
        # the map); heights bilinear as `bilinear_flat`, clamped to the window
        inv = 1.0 / grid.resolution
        fx = (dirs[:, 0] * inv).take(ray)
        fx *= ts
        fx += (position[0] - grid.origin_x) * inv - cols.start
        fy = (dirs[:, 1] * inv).take(ray)
        fy *= ts
        fy += (position[1] - grid.origin_y) * inv - rows.start
        np.clip(fx, 0.0, nx - 1.000001, out=fx)
        np.clip(fy, 0.0, ny - 1.000001, out=fy)
        j = fx.astype(np.intp)
        i = fy.astype(np.intp)
        fx -= j  # u
        fy -= i  # v
        i *= nx
        i += j
        flat = np.ascontiguousarray(local).reshape(-1)
        h00 = flat.take(i)
        i += 1
        h01 = flat.take(i)
        i += nx
        hgt = flat.take(i)  # h11
        i -= 1
        h10 = flat.take(i)
        # h = h00 + (h01 - h00) u + ((h10 - h00) + (h11 - h10 - h01 + h00) u) v, in place
        hgt -= h10
        hgt -= h01
        hgt += h00
        hgt *= fx
        h10 -= h00
        hgt += h10
        hgt *= fy
        h01 -= h00
        h01 *= fx
        hgt += h01
        hgt += h00
        above -= hgt
        # the first sample below the ground on each ray brackets the hit with the one before it
        # (kept too, and next to it in the flat array)
        at = np.flatnonzero(above <= 0.0)
        hit_ray = ray.take(at)
        first_of_ray = np.empty(at.shape, dtype=bool)
        first_of_ray[:1] = True
        np.not_equal(hit_ray[1:], hit_ray[:-1], out=first_of_ray[1:])
        at = at[first_of_ray]
        hit_ray = hit_ray[first_of_ray]
        later = k.take(at) > 0
        prev = np.where(later, at - 1, at)
        a0, a1 = above.take(prev), above.take(at)
        denom = np.where(a0 - a1 > 1e-12, a0 - a1, 1.0)
        frac = np.where(later, np.clip(a0 / denom, 0.0, 1.0), 0.0)
        t_prev = ts.take(prev)
        t_hit = np.zeros(n)
        t_hit[hit_ray] = t_prev + frac * (ts.take(at) - t_prev)
        hit = np.zeros(n, dtype=bool)
        hit[hit_ray] = True
        return self._finish(hit, t_hit)

    def _finish(self, hit: np.ndarray, t_hit: np.ndarray) -> np.ndarray:
        """The points of the rays' ranges (m) where they hit, range noise added (drawn for every ray)."""
        if self.range_noise > 0.0:
            t_hit = t_hit + self.rng.normal(0.0, self.range_noise, t_hit.shape)
        valid = hit & (t_hit >= self.min_range) & (t_hit <= self.max_range)
        points = self.directions * np.where(valid, t_hit, np.nan)[:, None]
        return points.reshape(*self.shape, 3)
