"""Wheel-regolith interaction: Bekker pressure-sinkage, Janosi-Hanamoto shear and a grouser term.

Pure numpy, no MuJoCo and no rclpy. The model is the Wong-Reece rigid-wheel model:

- normal stress on the rim, front region theta_m <= theta <= theta_1 (theta from the vertical below
  the axle, positive towards the front):
  ``sigma(theta) = (k_c/b + k_phi) r^n (cos(theta) - cos(theta_1))^n``; the rear region mirrors it
  about the stress peak ``theta_m = (c1 + c2 s) theta_1``; the exit angle is 0.
- shear displacement ``j(theta) = r_s [(theta_1 - theta) - (1 - s)(sin(theta_1) - sin(theta))]``
  and Janosi-Hanamoto shear ``tau = (c + sigma tan(phi)) (1 - exp(-j/K))``.
- vertical balance ``W = r b integral(sigma cos + tau sin)`` fixes the entry angle theta_1 (and the
  sinkage ``z = r (1 - cos(theta_1))``) for a load W.
- gross thrust ``H = r_s b integral(tau cos) + F_g`` and compaction resistance
  ``R_c = r b integral(sigma sin)``; drawbar pull ``DP = H - R_c``.

Grousers (height h, count N), one mechanism: the soil between the grousers is carried by the wheel,
so the shear surface lies at the grouser tips, ``r_s = r + h`` (a longer shear path on a larger
radius); the rim (radius r) carries the normal stress. No passive (Rankine) plate resistance is
added on top: the literature models a grousered wheel with one or the other (tip shear: Jia, Smith
and Peng 2012, Robotica 30, 491-503; the two conventions: Higa, Nagaoka and Yoshida 2019,
J. Terramechanics), and both together counted the grousers twice. Radius, width, grouser height
and count come from the rover description (`WheelSoilParams.from_wheel`). With the spec's `lss`
soil a 1 cm grousered wheel tops out near 16 degrees (ROVER_SPEC section 1); the soils are data
(`rover_sim.soils`).

Slip convention: ``s = (r omega - v) / max(|r omega|, |v|)`` in [-1, 1]; positive when driving
(the rim moves faster than the hub over ground). Skid (s < 0) is modelled as mirrored driving
slip: thrust changes sign, compaction resistance does not. Forces are along the wheel's heading
in its plane; lateral forces are left to the contact solver (a limitation, see the README).

Evaluating the integrals needs a root search per wheel, so `TractionTable` tabulates the model
once over load and slip and answers for six wheels with a vectorised bilinear look-up.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
import math

import numpy as np

# NumPy 2 renamed trapz to trapezoid; Ubuntu 24.04 (tier 1) ships NumPy 1.26, which has only trapz.
_trapezoid = getattr(np, 'trapezoid', None) or np.trapz

LUNAR_GRAVITY = 1.62


@dataclass(frozen=True)
class Soil:
    """Bekker/Wong soil parameters (SI units; ROVER_SPEC section 1 gives the defaults).

    k_c: cohesive modulus N/m^(n+1); k_phi: frictional modulus N/m^(n+2); n: sinkage exponent;
    cohesion: Pa; friction_deg: internal friction angle; shear_k: Janosi shear modulus K (m);
    density: bulk density kg/m^3 (only the grouser passive term uses it).
    """

    k_c: float = 1400.0
    k_phi: float = 820.0e3
    n: float = 1.0
    cohesion: float = 170.0
    friction_deg: float = 35.0
    shear_k: float = 0.0178
    density: float = 1600.0

    def __post_init__(self) -> None:
        for name in ('k_phi', 'n', 'shear_k', 'density'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f'Soil.{name} must be finite and > 0, got {value!r}')
        for name in ('k_c', 'cohesion'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'Soil.{name} must be finite and >= 0, got {value!r}')
        if not 0.0 < self.friction_deg < 60.0:
            raise ValueError(f'Soil.friction_deg must be in (0, 60), got {self.friction_deg!r}')


@dataclass(frozen=True)
class WheelSoilParams:
    """The wheel as the soil sees it: rim radius and width (m), grouser height (m) and count.

    c1, c2: Wong-Reece coefficients of the stress-peak angle ``theta_m = (c1 + c2 s) theta_1``.
    """

    radius: float
    width: float
    grouser_height: float = 0.0
    grouser_count: int = 0
    c1: float = 0.43
    c2: float = 0.32

    @classmethod
    def from_wheel(cls, wheel) -> WheelSoilParams:
        """The soil's view of a `rover_description.geometry.Wheel`: rim radius, width and grousers."""
        return cls(radius=wheel.radius, width=wheel.width, grouser_height=wheel.grouser_height,
                   grouser_count=wheel.grouser_count)

    def __post_init__(self) -> None:
        for name in ('radius', 'width'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f'WheelSoilParams.{name} must be finite and > 0, got {value!r}')
        if not (math.isfinite(self.grouser_height) and 0.0 <= self.grouser_height < self.radius):
            raise ValueError(f'WheelSoilParams.grouser_height must be in [0, radius), got {self.grouser_height!r}')
        if self.grouser_count < 0:
            raise ValueError(f'WheelSoilParams.grouser_count must be >= 0, got {self.grouser_count!r}')


@dataclass(frozen=True)
class WheelForces:
    """Per-wheel results, each an array shaped like the inputs.

    sinkage: m below the undisturbed surface; thrust: gross thrust H (N, sign of the slip);
    resistance: compaction resistance R_c (N, >= 0, opposes rolling); drawbar_pull: H - R_c
    for driving slip (N); entry_angle: theta_1 (rad).
    """

    sinkage: np.ndarray
    thrust: np.ndarray
    resistance: np.ndarray
    drawbar_pull: np.ndarray
    entry_angle: np.ndarray


_N_THETA = 48
_BISECTIONS = 32  # entry angle to ~1e-9 rad


def _integrals(theta1: np.ndarray, s: np.ndarray, soil: Soil, wheel: WheelSoilParams,
               gravity: float) -> tuple[np.ndarray, ...]:
    """Vertical load, gross thrust and resistance for entry angles theta1 and slips s (>= 0)."""
    u = np.linspace(0.0, 1.0, _N_THETA)
    th1 = theta1[..., None]
    th = u * th1
    thm = np.clip((wheel.c1 + wheel.c2 * s[..., None]) * th1, 1e-9, None)
    k = (soil.k_c / wheel.width + soil.k_phi) * wheel.radius ** soil.n
    front = th >= thm
    equiv = np.where(front, th, th1 - th * (th1 - thm) / thm)
    sigma = k * np.clip(np.cos(equiv) - np.cos(th1), 0.0, None) ** soil.n
    r_s = wheel.radius + wheel.grouser_height
    j = r_s * ((th1 - th) - (1.0 - s[..., None]) * (np.sin(th1) - np.sin(th)))
    mobilised = 1.0 - np.exp(-np.clip(j, 0.0, None) / soil.shear_k)
    tan_phi = math.tan(math.radians(soil.friction_deg))
    tau = (soil.cohesion + sigma * tan_phi) * mobilised
    rb = wheel.radius * wheel.width
    load = rb * _trapezoid(sigma * np.cos(th) + tau * np.sin(th), th, axis=-1)
    shear_thrust = r_s * wheel.width * _trapezoid(tau * np.cos(th), th, axis=-1)
    resistance = rb * _trapezoid(sigma * np.sin(th), th, axis=-1)
    sinkage = wheel.radius * (1.0 - np.cos(theta1))
    return load, shear_thrust, resistance, sinkage


def wong_reece(load: np.ndarray, slip: np.ndarray, soil: Soil, wheel: WheelSoilParams,
               gravity: float = LUNAR_GRAVITY) -> WheelForces:
    """Solve the rigid-wheel model for loads (N, >= 0) and slips in [-1, 1] (broadcast together).

    Raises ValueError for non-finite inputs, negative loads or slips outside [-1, 1].
    """
    load = np.asarray(load, dtype=float)
    slip = np.asarray(slip, dtype=float)
    if not (np.all(np.isfinite(load)) and np.all(np.isfinite(slip))):
        raise ValueError('wong_reece: load and slip must be finite')
    if np.any(load < 0.0):
        raise ValueError('wong_reece: load must be >= 0 N')
    if np.any(np.abs(slip) > 1.0):
        raise ValueError('wong_reece: slip must be in [-1, 1]')
    if not (math.isfinite(gravity) and gravity > 0.0):
        raise ValueError(f'wong_reece: gravity must be > 0, got {gravity!r}')
    load, slip = np.broadcast_arrays(load, slip)
    s = np.abs(slip)
    lo = np.full(load.shape, 1e-6)
    hi = np.full(load.shape, math.pi / 2.0)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        w_mid = _integrals(mid, s, soil, wheel, gravity)[0]
        above = w_mid > load
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    theta1 = np.where(load > 0.0, 0.5 * (lo + hi), 0.0)
    _, thrust, resistance, sinkage = _integrals(theta1, s, soil, wheel, gravity)
    zero = load <= 0.0
    thrust = np.where(zero, 0.0, thrust)
    resistance = np.where(zero, 0.0, resistance)
    sinkage = np.where(zero, 0.0, sinkage)
    signed = np.sign(slip) * thrust
    return WheelForces(sinkage=sinkage, thrust=signed, resistance=resistance,
                       drawbar_pull=thrust - resistance, entry_angle=theta1)


_TABLES: dict[tuple, TractionTable] = {}


class TractionTable:
    """`wong_reece` tabulated over load and |slip| for fast vectorised look-ups.

    Loads 0..max_load (N) on a quadratic grid (dense at small loads, where the curves bend) and
    |slip| 0..1 on a quadratic grid (dense near 0, where thrust rises fastest).
    """

    def __init__(self, soil: Soil, wheel: WheelSoilParams, max_load: float,
                 gravity: float = LUNAR_GRAVITY, n_load: int = 40, n_slip: int = 41) -> None:
        if not (math.isfinite(max_load) and max_load > 0.0):
            raise ValueError(f'TractionTable: max_load must be > 0 N, got {max_load!r}')
        if n_load < 2 or n_slip < 2:
            raise ValueError('TractionTable: need at least 2 grid points per axis')
        self.soil = soil
        self.wheel = wheel
        self.gravity = gravity
        self.max_load = float(max_load)
        self.loads = max_load * np.linspace(0.0, 1.0, n_load) ** 2
        self.slips = np.linspace(0.0, 1.0, n_slip) ** 2
        grid_w, grid_s = np.meshgrid(self.loads, self.slips, indexing='ij')
        forces = wong_reece(grid_w, grid_s, soil, wheel, gravity)
        self._sinkage = forces.sinkage
        self._thrust = forces.thrust
        self._resistance = forces.resistance
        # plain-float copies for `couple_wheels` (a handful of wheels: Python floats beat numpy calls)
        self._load_list = self.loads.tolist()
        self._slip_list = self.slips.tolist()
        self._cells = [[(a, b, c) for a, b, c in zip(sk, th, rs, strict=True)] for sk, th, rs in
                       zip(self._sinkage.tolist(), self._thrust.tolist(), self._resistance.tolist(), strict=True)]

    @classmethod
    def cached(cls, soil: Soil, wheel: WheelSoilParams, max_load: float,
               gravity: float = LUNAR_GRAVITY) -> TractionTable:
        """A shared table for these parameters (building one takes a few tenths of a second)."""
        key = (soil, wheel, float(max_load), float(gravity))
        table = _TABLES.get(key)
        if table is None:
            table = _TABLES[key] = cls(soil, wheel, max_load, gravity)
        return table

    def _weights(self, grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.clip(x, grid[0], grid[-1])
        i = np.clip(np.searchsorted(grid, x, side='right') - 1, 0, len(grid) - 2)
        f = (x - grid[i]) / (grid[i + 1] - grid[i])
        return i, f

    def _lerp2(self, table: np.ndarray, iw: np.ndarray, fw: np.ndarray, js: np.ndarray, fs: np.ndarray) -> np.ndarray:
        a = table[iw, js] * (1.0 - fs) + table[iw, js + 1] * fs
        b = table[iw + 1, js] * (1.0 - fs) + table[iw + 1, js + 1] * fs
        return a * (1.0 - fw) + b * fw

    def raw(self, load: np.ndarray, abs_slip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sinkage, |thrust|, resistance) for loads and |slips| already clipped; no checks (hot path)."""
        iw, fw = self._weights(self.loads, load)
        js, fs = self._weights(self.slips, abs_slip)
        return (self._lerp2(self._sinkage, iw, fw, js, fs), self._lerp2(self._thrust, iw, fw, js, fs),
                self._lerp2(self._resistance, iw, fw, js, fs))

    def couple_wheels(self, load: list[float], omega_hub: list[float], omega_tread: list[float],
                      rigid: list[bool] | None = None, stop_omega: float = 0.01, min_slip: float = 0.01,
                      max_damping: float = 200.0,
                      min_damping: float = 1e-3) -> tuple[list[float], list[float], list[float], list[float]]:
        """`couple` for a few wheels as plain floats: (slip_damping, rolling_damping, sinkage, slip) lists.

        The same arithmetic as `couple` (same look-ups, same clipping, bit-identical results),
        without numpy's per-call overhead, which dominates for six wheels. Wheels flagged in `rigid`
        get only their slip (their damping, rolling damping and sinkage are 0.0: the caller
        replaces them). Raises ValueError for non-finite inputs.
        """
        # clamps as conditional expressions: min(max(x, lo), hi) for finite floats, without two calls
        r = self.wheel.radius
        loads, slips, cells = self._load_list, self._slip_list, self._cells
        load_lo, load_hi, nl = loads[0], loads[-1], len(loads) - 2
        slip_lo, slip_hi, ns = slips[0], slips[-1], len(slips) - 2
        max_load = self.max_load
        n = len(load)
        if len(omega_hub) != n or len(omega_tread) != n or (rigid is not None and len(rigid) != n):
            raise ValueError('couple_wheels: load, rates and rigid must have the same length')
        damping, rolling, sinkage, slip = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
        isfinite = math.isfinite
        for k in range(n):
            w, oh, ot = load[k], omega_hub[k], omega_tread[k]
            if not (isfinite(w) and isfinite(oh) and isfinite(ot)):
                raise ValueError('couple_wheels: load and wheel rates must be finite')
            ah, at = abs(oh), abs(ot)
            scale = ah if ah > at else at
            if scale > 1e-9:
                s = (oh - ot) / scale
                s = -1.0 if s < -1.0 else (1.0 if s > 1.0 else s)
            else:
                s = 0.0
            slip[k] = s
            if rigid is not None and rigid[k]:
                continue
            a = abs(s)
            s_eff = a if a > min_slip else min_slip
            # bilinear look-ups as `_weights` / `_lerp2` do them: the load once, the slip at s_eff and at a
            w = 0.0 if w < 0.0 else (max_load if w > max_load else w)
            w = load_lo if w < load_lo else (load_hi if w > load_hi else w)
            i = bisect_right(loads, w) - 1
            i = 0 if i < 0 else (nl if i > nl else i)
            fw = (w - loads[i]) / (loads[i + 1] - loads[i])
            gw = 1.0 - fw
            row0, row1 = cells[i], cells[i + 1]
            x = slip_lo if a < slip_lo else (slip_hi if a > slip_hi else a)
            j = bisect_right(slips, x) - 1
            j = 0 if j < 0 else (ns if j > ns else j)
            fs = (x - slips[j]) / (slips[j + 1] - slips[j])
            gs = 1.0 - fs
            c00, c01, c10, c11 = row0[j], row0[j + 1], row1[j], row1[j + 1]
            sinkage[k] = (c00[0] * gs + c01[0] * fs) * gw + (c10[0] * gs + c11[0] * fs) * fw
            resist = (c00[2] * gs + c01[2] * fs) * gw + (c10[2] * gs + c11[2] * fs) * fw
            if s_eff != a:  # below min_slip: the secant is taken at min_slip
                x = slip_lo if s_eff < slip_lo else (slip_hi if s_eff > slip_hi else s_eff)
                j = bisect_right(slips, x) - 1
                j = 0 if j < 0 else (ns if j > ns else j)
                fs = (x - slips[j]) / (slips[j + 1] - slips[j])
                gs = 1.0 - fs
                c00, c01, c10, c11 = row0[j], row0[j + 1], row1[j], row1[j + 1]
            thrust = (c00[1] * gs + c01[1] * fs) * gw + (c10[1] * gs + c11[1] * fs) * fw
            omega_ref = scale if scale > stop_omega else stop_omega
            d = r * thrust / (s_eff * omega_ref)
            damping[k] = min_damping if d < min_damping else (max_damping if d > max_damping else d)
            d = r * resist / (at if at > stop_omega else stop_omega)
            rolling[k] = 0.0 if d < 0.0 else (max_damping if d > max_damping else d)
        return damping, rolling, sinkage, slip

    def lookup(self, load: np.ndarray, slip: np.ndarray) -> WheelForces:
        """Forces for loads (N; clipped to [0, max_load]) and slips (clipped to [-1, 1])."""
        load = np.asarray(load, dtype=float)
        slip = np.asarray(slip, dtype=float)
        if not (np.all(np.isfinite(load)) and np.all(np.isfinite(slip))):
            raise ValueError('TractionTable.lookup: load and slip must be finite')
        slip = np.clip(slip, -1.0, 1.0)
        load, slip = np.broadcast_arrays(load, slip)
        sinkage, thrust, resistance = self.raw(load, np.abs(slip))
        return WheelForces(sinkage=sinkage, thrust=np.sign(slip) * thrust, resistance=resistance,
                           drawbar_pull=thrust - resistance, entry_angle=np.arccos(
                               np.clip(1.0 - sinkage / self.wheel.radius, -1.0, 1.0)))

    def steady_slip(self, load: float, pull: float) -> float:
        """The driving slip at which one wheel under `load` (N) delivers drawbar pull `pull` (N).

        Returns 1.0 when even full slip cannot deliver it (the wheel digs in without progress).
        """
        slips = np.linspace(0.0, 1.0, 2001)
        dp = self.lookup(np.full_like(slips, load), slips).drawbar_pull
        ok = np.nonzero(dp >= pull)[0]
        return float(slips[ok[0]]) if len(ok) else 1.0


def slip_ratio(omega_hub: np.ndarray, omega_tread: np.ndarray) -> np.ndarray:
    """Slip ``(omega_hub - omega_tread) / max(|omega_hub|, |omega_tread|)`` in [-1, 1]; 0 when both ~0.

    omega_hub: the motor side of the wheel (rad/s), omega_tread: the rolling rate over ground
    (ground speed / radius). Both about the wheel axle, same sign convention.
    """
    omega_hub = np.asarray(omega_hub, dtype=float)
    omega_tread = np.asarray(omega_tread, dtype=float)
    scale = np.maximum(np.abs(omega_hub), np.abs(omega_tread))
    with np.errstate(invalid='ignore', divide='ignore'):
        s = np.where(scale > 1e-9, (omega_hub - omega_tread) / np.where(scale > 1e-9, scale, 1.0), 0.0)
    return np.clip(s, -1.0, 1.0)


@dataclass(frozen=True)
class SlipCoupling:
    """What the physics engine needs per wheel for the next interval (arrays shaped (n_wheels,)).

    slip_damping: N m s/rad of the hinge between the motor hub and the tread, chosen so the
    torque it passes at the current slip, ``damping * (omega_hub - omega_tread)``, equals
    ``r * H(s)``: the secant of the thrust-slip curve. It is capped, so a torque spike between two
    updates stays within the motors' reach; a parked wheel is held by a lock, not by this damper.
    rolling_damping: N m s/rad against the tread's rolling, ``r * R_c / max(|omega_tread|, omega_0)``:
    the secant of a dry friction ``r * R_c``. Both are dampers because the engine integrates
    damping implicitly (stable for any value, no chatter at low speed, unlike a soft friction
    constraint that under-delivers at a few mm/s).
    sinkage: m; slip: the slip ratio used.
    """

    slip_damping: np.ndarray
    rolling_damping: np.ndarray
    sinkage: np.ndarray
    slip: np.ndarray


def couple(table: TractionTable, load: np.ndarray, omega_hub: np.ndarray, omega_tread: np.ndarray,
           stop_omega: float = 0.01, min_slip: float = 0.01, max_damping: float = 200.0,
           min_damping: float = 1e-3) -> SlipCoupling:
    """Turn loads (N) and the hub/tread rates (rad/s) of every wheel into coupling coefficients.

    The slip damping is the secant ``r H(s) / (s omega_ref)`` with ``omega_ref = max(|omega_hub|,
    |omega_tread|, stop_omega)`` and ``s >= min_slip`` (the tangent at zero slip when nothing slips
    yet), capped at `max_damping`. Re-evaluated with the slip it produced, it converges to the steady slip of the curve
    (the fixed-point map ``s -> s L / (r H(s))`` has slope ``1 - s H'/H`` in [0, 1) for a concave H).
    """
    load = np.clip(np.asarray(load, dtype=float).ravel(), 0.0, table.max_load)
    omega_hub = np.asarray(omega_hub, dtype=float).ravel()
    omega_tread = np.asarray(omega_tread, dtype=float).ravel()
    if not (np.all(np.isfinite(load)) and np.all(np.isfinite(omega_hub)) and np.all(np.isfinite(omega_tread))):
        raise ValueError('couple: load and wheel rates must be finite')
    r = table.wheel.radius
    slip = slip_ratio(omega_hub, omega_tread)
    abs_slip = np.abs(slip)
    s_eff = np.maximum(abs_slip, min_slip)
    # one look-up for both slips needed: the secant point and the actual slip
    sinkage2, thrust2, resistance2 = table.raw(np.concatenate([load, load]), np.concatenate([s_eff, abs_slip]))
    n = load.shape[0]
    omega_ref = np.maximum(np.maximum(np.abs(omega_hub), np.abs(omega_tread)), stop_omega)
    damping = np.clip(r * thrust2[:n] / (s_eff * omega_ref), min_damping, max_damping)
    rolling = np.clip(r * resistance2[n:] / np.maximum(np.abs(omega_tread), stop_omega), 0.0, max_damping)
    return SlipCoupling(slip_damping=damping, rolling_damping=rolling, sinkage=sinkage2[n:], slip=slip)
