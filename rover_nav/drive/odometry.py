"""Wheel odometry: body twist from wheel rates and steering angles, integrated on SE(2).

Measurement model (the inverse of `kinematics`): a wheel at (x, y) in base_link, steered to
delta, measures the projection of its contact velocity (v - w*y, w*x) on its rolling direction:

    s_i = omega_i * r_i = cos(delta_i) * v + (x_i*sin(delta_i) - y_i*cos(delta_i)) * w

Six such rows give an over-determined linear system A (v, w)^T = s, solved by least squares.
A wheel that slips (spins faster than the ground moves) or stalls does not fit the rigid-body
motion of the others: its residual stands out, and it is dropped (leave-one-out: the wheel whose
removal best explains the rest) while at least three wheels remain. The covariance of (v, w)
is sigma^2 (A^T A)^-1 with sigma^2 from the residuals (floored by the encoder noise). The
common-mode slip every wheel shares cannot be seen in the residuals (on regolith the whole rover
slips: the dominant odometry error); it is a separate `slip_cov` term for the twist and, in
`Odometry2D`, a *systematic* scale error whose pose uncertainty grows with the distance driven
and the angle turned (not with their square roots, as independent noise would). One estimate
has only n - 2 = 4 degrees of freedom for sigma^2, so it is inflated to rss / (dof - 2) (the
mean of the resulting normalised error is then right); a `ResidualPool` pools the residuals of
many estimates for a steadier, better calibrated sigma^2.

`Odometry2D` integrates the twist exactly along a circular arc and propagates the pose
covariance; IMU yaw or yaw rate can replace or be fused with the wheel-derived heading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import weakref

import numpy as np

from rover_nav.drive.layout import WheelLayout


@dataclass(frozen=True)
class OdometryConfig:
    """Tuning of the twist estimate (ValueError names a bad field).

    speed_noise: m/s, 1-sigma noise of one wheel's surface speed (encoder quantisation); the
    floor of the residual sigma, so a perfect fit never claims zero uncertainty.
    outlier_floor: m/s, residuals below this are never outliers.
    outlier_ratio: a residual above outlier_ratio * (largest wheel speed) is an outlier.
    max_rejected: at most this many wheels are dropped per estimate.
    slip_ratio_sigma: 1-sigma common-mode slip as a fraction of the speed (unobservable from
    the wheels; added to the twist covariance).
    """

    speed_noise: float = 0.0005
    outlier_floor: float = 0.004
    outlier_ratio: float = 0.2
    max_rejected: int = 2
    slip_ratio_sigma: float = 0.1

    def __post_init__(self) -> None:
        for name in ('speed_noise', 'outlier_floor', 'outlier_ratio', 'slip_ratio_sigma'):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0.0:
                raise ValueError(f'{name} must be finite and >= 0, got {value!r}')
        if self.speed_noise <= 0.0:
            raise ValueError('speed_noise must be > 0 (a zero covariance is never honest)')
        if self.max_rejected < 0:
            raise ValueError(f'max_rejected must be >= 0, got {self.max_rejected}')


@dataclass(frozen=True)
class TwistEstimate:
    """Body twist from the wheels.

    v: m/s forward, w: rad/s counter-clockwise, cov: 2x2 covariance of (v, w) from the wheel
    residuals; slip_cov: 2x2 covariance of the common-mode slip (`total_cov` = both).
    residual: (n,) m/s, measured minus fitted surface speed (NaN for wheels without data).
    used: (n,) bool, wheels in the final fit. slip: (n,) residual / measured speed (0 when the
    wheel is still), positive = the wheel turns faster than the fitted motion (spinning).
    sigma: m/s wheel-speed standard deviation the covariance assumes.
    rss: m^2/s^2 residual sum of squares of the used wheels; dof: used wheels - 2.
    """

    v: float
    w: float
    cov: np.ndarray
    residual: np.ndarray
    used: np.ndarray
    slip: np.ndarray
    sigma: float
    rss: float = 0.0
    dof: int = 0
    slip_cov: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))

    @property
    def total_cov(self) -> np.ndarray:
        total: np.ndarray = self.cov + self.slip_cov
        return total

    @property
    def rejected(self) -> int:
        return int(np.count_nonzero(~self.used & np.isfinite(self.residual)))


#: a measured wheel rate above this multiple of the motors' limit is not a measurement (encoder
#: glitch, corrupt message): the wheel is treated as missing
PLAUSIBLE_RATE_FACTOR = 2.0
#: rad/s, the plausibility bound of a layout without a motor limit
FALLBACK_RATE_LIMIT = 100.0


def plausible_rate_limit(layout: WheelLayout) -> float:
    """rad/s: the largest wheel rate odometry believes (PLAUSIBLE_RATE_FACTOR x the motors' limit)."""
    limit = layout.max_wheel_rate
    return PLAUSIBLE_RATE_FACTOR * limit if math.isfinite(limit) and limit > 0.0 else FALLBACK_RATE_LIMIT


def plausible_twist_limits(layout: WheelLayout) -> tuple[float, float]:
    """(m/s, rad/s): the largest body speed and yaw rate odometry believes, from the plausible wheel rate.

    Wheel rates within their bound can still fit an absurd twist when fuzzed steering angles make
    the design matrix nearly singular; a twist beyond these is no measurement either.
    """
    speed = plausible_rate_limit(layout) * float(np.max(layout.radius))
    reach = float(np.min(np.hypot(layout.x, layout.y)))
    return speed, speed / max(reach, 1e-3)


def drop_implausible(rates: list[float], limit: float) -> tuple[list[float], int]:
    """Rates with every |rate| > limit replaced by NaN (a missing wheel), and how many were.

    One 1e20 rad/s sample integrated for a 0.1 s step puts odom 1e18 m away, and every consumer
    of odom (the obstacle memory first) with it; a wheel cannot turn that fast.
    """
    out = [r if not abs(r) > limit else math.nan for r in rates]
    return out, sum(1 for r in rates if abs(r) > limit)


def _fit(a: np.ndarray, s: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Least squares on the masked rows: ((v, w), residual sum of squares), or None if rank < 2."""
    am, sm = a[mask], s[mask]
    if am.shape[0] < 2:
        return None
    theta, _, _, singular = np.linalg.lstsq(am, sm, rcond=None)
    if singular[-1] <= 1e-9:  # rank < 2 at an absolute tolerance of 1e-9 (one SVD, not two)
        return None
    rss = float(np.sum((sm - am @ theta) ** 2))
    return theta, rss


def estimate_twist(layout: WheelLayout, steer: np.ndarray | list[float], wheel_rate: np.ndarray | list[float],
                   config: OdometryConfig | None = None, sigma2: float | None = None) -> TwistEstimate:
    """Least-squares body twist from wheel rates (rad/s, (n,)) and steering angles (rad, (n,)); arrays or lists.

    Non-finite entries mark a wheel as missing. Fixed wheels' angles are taken as 0 whatever
    is passed. `sigma2` (m^2/s^2), e.g. from a `ResidualPool`, replaces this estimate's own
    residual variance in the covariance. Raises ValueError when the remaining wheels cannot
    determine (v, w) or the shapes are wrong.

    Worked on plain floats (n is 6: numpy's per-call cost was most of the time): the fits solve
    the 2x2 normal equations, and `lstsq` decides only nearly rank-deficient ones (see `_fit_rows`).
    """
    cfg = config or OdometryConfig()
    n = layout.n
    if type(steer) is list and type(wheel_rate) is list and len(steer) == n and len(wheel_rate) == n:
        steer_list = [float(v) for v in steer]  # plain floats already (the node's joint lists): no array round trip
        rate_list = [float(v) for v in wheel_rate]
    else:
        steer = np.asarray(steer, dtype=float)
        rate = np.asarray(wheel_rate, dtype=float)
        if steer.shape != (n,) or rate.shape != (n,):
            raise ValueError(f'steer and wheel_rate must have shape ({n},), got {steer.shape} and {rate.shape}')
        steer_list, rate_list = steer.tolist(), rate.tolist()
    xs, ys, radii, steerable = _layout_lists(layout)
    a_c, a_b, s, valid = [0.0] * n, [0.0] * n, [0.0] * n, [False] * n
    for i, (st, r) in enumerate(zip(steer_list, rate_list, strict=True)):
        if not steerable[i]:
            st = 0.0
        speed = r * radii[i]
        ok = math.isfinite(speed) and math.isfinite(st)
        if not ok:
            st = 0.0
        c = math.cos(st)
        a_c[i], a_b[i] = c, xs[i] * math.sin(st) - ys[i] * c
        s[i], valid[i] = (speed if ok else 0.0), ok
    used = [i for i in range(n) if valid[i]]
    fit = _fit_rows(a_c, a_b, s, used)
    if fit is None:
        raise ValueError(f'wheels {[layout.names[i] for i in used]} cannot determine v and w')
    (v, w), rss = fit
    threshold = max(cfg.outlier_floor, cfg.outlier_ratio * max(abs(s[i]) for i in used))
    for _ in range(cfg.max_rejected):
        if len(used) <= 3:
            break
        if max(abs(s[i] - (a_c[i] * v + a_b[i] * w)) for i in used) <= threshold:
            break
        best: tuple[float, int, tuple[float, float]] | None = None
        for i in used:
            leave_out = _fit_rows(a_c, a_b, s, [k for k in used if k != i])
            if leave_out is not None and (best is None or leave_out[1] < best[0]):
                best = (leave_out[1], i, leave_out[0])
        if best is None:
            break
        k = best[1]
        bv, bw = best[2]
        if abs(s[k] - (a_c[k] * bv + a_b[k] * bw)) <= threshold:
            break
        used.remove(k)
        v, w = bv, bw
        rss = best[0]
    dof = len(used) - 2
    if sigma2 is None or not math.isfinite(sigma2):
        sigma2 = rss / (dof - 2) if dof > 2 else threshold**2
    sigma2 = max(sigma2, cfg.speed_noise**2)
    saa = sum(a_c[i] * a_c[i] for i in used)
    sab = sum(a_c[i] * a_b[i] for i in used)
    sbb = sum(a_b[i] * a_b[i] for i in used)
    det = saa * sbb - sab * sab
    cov = np.array([[sigma2 * sbb / det, -sigma2 * sab / det], [-sigma2 * sab / det, sigma2 * saa / det]])
    slip_cov = np.array([[(cfg.slip_ratio_sigma * v) ** 2, 0.0], [0.0, (cfg.slip_ratio_sigma * w) ** 2]])
    residual, slip = [math.nan] * n, [0.0] * n
    for i in range(n):
        if valid[i]:
            residual[i] = res = s[i] - (a_c[i] * v + a_b[i] * w)
            if abs(s[i]) > cfg.speed_noise:
                slip[i] = res / s[i]
    used_mask = np.zeros(n, dtype=bool)
    used_mask[used] = True
    return TwistEstimate(v, w, cov, np.array(residual), used_mask, np.array(slip), math.sqrt(sigma2), rss, dof,
                         slip_cov)


# smallest eigenvalue of A^T A (m^2) below which `lstsq` decides a fit's rank; well above the
# rounding of the normal equations, far below any real wheel layout's (~0.1 and up)
_NEAR_SINGULAR = 1e-6


def _fit_rows(a_c: list[float], a_b: list[float], s: list[float],
              rows: list[int]) -> tuple[tuple[float, float], float] | None:
    """`_fit` on plain floats: ((v, w), residual sum of squares) of the rows, or None if rank < 2.

    Solves the 2x2 normal equations; a nearly singular system (smallest eigenvalue of A^T A
    under `_NEAR_SINGULAR`) goes to `_fit`, whose SVD decides the rank as before.
    """
    if len(rows) < 2:
        return None
    saa = sab = sbb = sas = sbs = 0.0
    for i in rows:
        c, b, y = a_c[i], a_b[i], s[i]
        saa += c * c
        sab += c * b
        sbb += b * b
        sas += c * y
        sbs += b * y
    half = 0.5 * (saa + sbb)
    lam_min = half - math.sqrt(max(0.25 * (saa - sbb) ** 2 + sab * sab, 0.0))
    if not lam_min > _NEAR_SINGULAR:
        mask = np.zeros(len(s), dtype=bool)
        mask[rows] = True
        fit = _fit(np.column_stack((a_c, a_b)), np.array(s), mask)
        if fit is None:
            return None
        return (float(fit[0][0]), float(fit[0][1])), fit[1]
    det = saa * sbb - sab * sab
    v = (sbb * sas - sab * sbs) / det
    w = (saa * sbs - sab * sas) / det
    rss = 0.0
    for i in rows:
        e = s[i] - (a_c[i] * v + a_b[i] * w)
        rss += e * e
    return (v, w), rss


_LAYOUT_LISTS: weakref.WeakKeyDictionary[WheelLayout, tuple[list[float], list[float], list[float], list[bool]]] = (
    weakref.WeakKeyDictionary())


def _layout_lists(layout: WheelLayout) -> tuple[list[float], list[float], list[float], list[bool]]:
    """The layout's x, y, radius and steerable as Python lists, worked out once per layout."""
    lists = _LAYOUT_LISTS.get(layout)
    if lists is None:
        lists = (layout.x.tolist(), layout.y.tolist(), layout.radius.tolist(), layout.steerable.tolist())
        _LAYOUT_LISTS[layout] = lists
    return lists


class ResidualPool:
    """Exponentially weighted pool of residuals: sigma^2 = sum(rss) / sum(dof) over recent estimates.

    `memory` is the effective number of estimates remembered (e.g. 100 at 10 Hz = 10 s), so a
    change of terrain shows up in the covariance within that time.
    """

    def __init__(self, memory: float = 100.0) -> None:
        if not (math.isfinite(memory) and memory >= 1.0):
            raise ValueError(f'memory must be >= 1, got {memory!r}')
        self._decay = 1.0 - 1.0 / memory
        self._rss = 0.0
        self._dof = 0.0

    def update(self, rss: float, dof: int) -> None:
        if dof > 0 and math.isfinite(rss):
            self._rss = self._decay * self._rss + rss
            self._dof = self._decay * self._dof + dof

    @property
    def sigma2(self) -> float | None:
        """Pooled wheel-speed variance (m^2/s^2), None until enough residual dof (>= 10) were seen."""
        return self._rss / self._dof if self._dof >= 10.0 else None


def wrap_angle(angle: float) -> float:
    """Angle (rad) wrapped into [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def arc_step(v: float, w: float, dt: float) -> tuple[float, float, float]:
    """Displacement (dx, dy, dyaw) in the start pose's frame after moving with (v, w) for dt seconds.

    Exact for a constant twist (a circular arc); a series near w*dt = 0 avoids 0/0.
    """
    th = w * dt
    if abs(th) < 1e-6:
        return v * dt * (1.0 - th * th / 6.0), v * dt * th / 2.0, th
    return v / w * math.sin(th), v / w * (1.0 - math.cos(th)), th


def fuse_rates(w_a: float, var_a: float, w_b: float, var_b: float) -> tuple[float, float]:
    """Inverse-variance weighted mean of two yaw-rate estimates: (w, var)."""
    if var_a <= 0.0 or var_b <= 0.0:
        raise ValueError(f'variances must be > 0, got {var_a} and {var_b}')
    weight = var_b / (var_a + var_b)
    return weight * w_a + (1.0 - weight) * w_b, var_a * var_b / (var_a + var_b)


class Odometry2D:
    """Planar pose (x, y, yaw) of base_link in the odom frame, with its 3x3 covariance.

    `cov` holds the independent (per step) errors. `slip_ratio_sigma` adds slip as a *scale*
    error: v and w scaled by (1 + e_v), (1 + e_w), e ~ N(0, slip_ratio_sigma^2), constant over a
    stretch of `slip_correlation_m` metres (e_v) or `slip_correlation_rad` radians turned (e_w)
    and independent between stretches (slip changes with the ground and the manoeuvre). Within a
    stretch its effect is tracked through the sensitivities s = d(pose)/d(e), so the uncertainty
    grows linearly with distance and turn angle as slip drift does; at the end of a stretch
    sigma^2 s s^T is folded into `cov` (and keeps propagating) and s restarts at 0.
    `covariance` = cov + sigma^2 (s_v s_v^T + s_w s_w^T). The odom frame starts at (0, 0, 0)
    unless `reset` says otherwise; it is continuous and drifts (REP-105).
    """

    def __init__(self, x: float = 0.0, y: float = 0.0, yaw: float = 0.0, slip_ratio_sigma: float = 0.0,
                 slip_correlation_m: float = 1.0, slip_correlation_rad: float = math.pi / 2) -> None:
        for name, value in (('slip_ratio_sigma', slip_ratio_sigma), ('slip_correlation_m', slip_correlation_m),
                            ('slip_correlation_rad', slip_correlation_rad)):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'{name} must be finite and >= 0, got {value!r}')
        self.slip_ratio_sigma = slip_ratio_sigma
        self.slip_correlation_m = slip_correlation_m
        self.slip_correlation_rad = slip_correlation_rad
        self.reset(x, y, yaw)

    def reset(self, x: float = 0.0, y: float = 0.0, yaw: float = 0.0) -> None:
        self.x, self.y, self.yaw = float(x), float(y), wrap_angle(float(yaw))
        self.cov = np.zeros((3, 3))
        self._sens_v = np.zeros(3)
        self._sens_w = np.zeros(3)
        self._stretch_m = 0.0
        self._stretch_rad = 0.0
        self.distance = 0.0  # m travelled (path length), for slip statistics

    @property
    def covariance(self) -> np.ndarray:
        """Total 3x3 covariance of (x, y, yaw): independent errors plus the systematic slip."""
        sv, sw = self._sens_v, self._sens_w
        return self.cov + self.slip_ratio_sigma**2 * (np.outer(sv, sv) + np.outer(sw, sw))

    def covariance_rows(self) -> list[list[float]]:
        """`covariance` as rows of plain floats, the same values to the bit (the sum is elementwise; this
        runs for every odom message, where numpy's per-call cost was most of the time)."""
        s2 = self.slip_ratio_sigma**2
        sv, sw = self._sens_v.tolist(), self._sens_w.tolist()
        return [[c + s2 * (sv[i] * sv[j] + sw[i] * sw[j]) for j, c in enumerate(row)]
                for i, row in enumerate(self.cov.tolist())]

    def step(self, v: float, w: float, twist_cov: np.ndarray, dt: float, w_from_wheels: bool = True) -> None:
        """Advance by a constant twist (v m/s, w rad/s) with independent covariance `twist_cov` (2x2) for dt s.

        w_from_wheels=False: w came from a gyro, so wheel slip does not bias this step's turn.
        """
        if not (math.isfinite(v) and math.isfinite(w)):
            raise ValueError(f'twist must be finite, got v={v!r}, w={w!r}')
        if not (math.isfinite(dt) and dt >= 0.0):
            raise ValueError(f'dt must be finite and >= 0, got {dt!r}')
        dx, dy, dth = arc_step(v, w, dt)
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        wx, wy = c * dx - s * dy, s * dx + c * dy
        # Jacobians: of the new pose w.r.t. the old pose (f) and the twist (g, midpoint heading).
        f = np.array([[1.0, 0.0, -wy], [0.0, 1.0, wx], [0.0, 0.0, 1.0]])
        mid = self.yaw + 0.5 * dth
        g = np.array([[math.cos(mid) * dt, 0.0], [math.sin(mid) * dt, 0.0], [0.0, dt]])
        self.cov = f @ self.cov @ f.T + g @ np.asarray(twist_cov, dtype=float) @ g.T
        self._sens_v = f @ self._sens_v + g[:, 0] * v
        self._sens_w = f @ self._sens_w + (g[:, 1] * w if w_from_wheels else 0.0)
        self.x += wx
        self.y += wy
        self.yaw = wrap_angle(self.yaw + dth)
        self.distance += abs(v) * dt
        self._stretch_m += abs(v) * dt
        self._stretch_rad += abs(w) * dt if w_from_wheels else 0.0
        var = self.slip_ratio_sigma**2
        if self._stretch_m >= self.slip_correlation_m:  # this stretch's e_v becomes an independent past error
            self.cov += var * np.outer(self._sens_v, self._sens_v)
            self._sens_v = np.zeros(3)
            self._stretch_m = 0.0
        if self._stretch_rad >= self.slip_correlation_rad:
            self.cov += var * np.outer(self._sens_w, self._sens_w)
            self._sens_w = np.zeros(3)
            self._stretch_rad = 0.0

    def set_yaw(self, yaw: float, var: float) -> None:
        """Replace the heading by an absolute measurement (IMU), with variance var (rad^2)."""
        if not (math.isfinite(yaw) and math.isfinite(var) and var >= 0.0):
            raise ValueError(f'yaw and var must be finite (var >= 0), got {yaw!r}, {var!r}')
        self.yaw = wrap_angle(yaw)
        self.cov[2, :] = 0.0
        self.cov[:, 2] = 0.0
        self.cov[2, 2] = var
        self._sens_v[2] = 0.0
        self._sens_w[2] = 0.0


class ImuYaw:
    """Turns an absolute IMU heading into the odom heading: odom_yaw = imu_yaw + offset.

    The offset is fixed on the first reading so odom keeps its own origin; the IMU's mount yaw
    on the body cancels out of the difference.
    """

    def __init__(self) -> None:
        self.offset: float | None = None

    def odom_yaw(self, imu_yaw: float, current_odom_yaw: float) -> float:
        if self.offset is None:
            self.offset = wrap_angle(current_odom_yaw - imu_yaw)
        return wrap_angle(imu_yaw + self.offset)


def base_yaw_from_imu(q_world_imu: tuple[float, float, float, float], mount: np.ndarray) -> float:
    """Heading (rad) of base_link in the IMU's world frame from the imu_link orientation (x, y, z, w).

    mount: 3x3 rotation of imu_link in base_link (from the description); R_world_base =
    R_world_imu @ mount^T, and the heading is that of base_link's x axis on the horizontal plane.
    Scalar arithmetic (this runs for every IMU message): only the first column of R_world_base,
    the first two rows of R_world_imu times the first row of the mount, is needed.
    """
    x, y, z, w = (float(v) for v in q_world_imu)
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if not math.isfinite(norm) or norm < 1e-6:
        raise ValueError(f'quaternion must be finite and non-zero, got {[x, y, z, w]}')
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    m0, m1, m2 = np.asarray(mount, dtype=float)[0].tolist()
    r00 = (1 - 2 * (y * y + z * z)) * m0 + 2 * (x * y - z * w) * m1 + 2 * (x * z + y * w) * m2
    r10 = 2 * (x * y + z * w) * m0 + (1 - 2 * (x * x + z * z)) * m1 + 2 * (y * z - x * w) * m2
    return math.atan2(r10, r00)


def _mount_row_dot(mount: np.ndarray, row: int, omega_imu: tuple[float, float, float]) -> float:
    m0, m1, m2 = np.asarray(mount, dtype=float)[row].tolist()
    ox, oy, oz = omega_imu
    return float(m0 * ox + m1 * oy + m2 * oz)


def base_pitch_rate_from_imu(omega_imu: tuple[float, float, float], mount: np.ndarray) -> float:
    """Pitch rate (rad/s) about base_link's y (positive: nose down, REP-103) from the gyro rates in imu_link."""
    return _mount_row_dot(mount, 1, omega_imu)


def base_yaw_rate_from_imu(omega_imu: tuple[float, float, float], mount: np.ndarray) -> float:
    """Yaw rate (rad/s) about base_link's z from the gyro rates in imu_link."""
    return _mount_row_dot(mount, 2, omega_imu)
