"""An independent steady-state Wong-Reece model of one rigid grousered wheel, for checking the simulator.

Written apart from `rover_sim.terramechanics` (nothing is imported from it; different quadrature,
different unknown, different root finder), from the textbook formulation:

- Bekker pressure-sinkage under the rim: ``p(z) = (k_c / b + k_phi) z^n``; on the rim at angle
  theta from the vertical below the axle, ``z = r (cos theta - cos theta_f)``.
- Wong-Reece stress distribution: the normal stress peaks at ``theta_m = (c1 + c2 s) theta_f``;
  behind the peak the front law is mirrored, ``theta_eq = theta_f - (theta - theta_r)/(theta_m -
  theta_r) (theta_f - theta_m)`` with the exit angle theta_r = 0.
- Janosi-Hanamoto shear, ``tau = (c + sigma tan phi)(1 - exp(-j / K))``, with the shear
  displacement of a slipping wheel ``j = r_s [(theta_f - theta) - (1 - s)(sin theta_f - sin theta)]``.
- One grouser mechanism: the soil between the grousers moves with the wheel, so the shear surface
  is the cylinder through the grouser tips, ``r_s = r + h`` (no passive-plate term on top).
- Balance of one wheel: ``W = b r  int (sigma cos + tau sin)``, drawbar pull
  ``DP = b r_s int tau cos - b r int sigma sin``.

A rover on a slope alpha with N equally loaded wheels at the same slip is in steady state when
``DP(s; W_wheel = m g cos(alpha) / N) = m g sin(alpha) / N``.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

_N = 400  # midpoint-rule panels over the contact arc


@dataclass(frozen=True)
class RefSoil:
    k_c: float  # N/m^(n+1)
    k_phi: float  # N/m^(n+2)
    n: float
    c: float  # Pa
    phi_deg: float
    K: float  # m


@dataclass(frozen=True)
class RefWheel:
    r: float  # rim radius, m
    b: float  # width, m
    h: float  # grouser height, m
    c1: float = 0.43
    c2: float = 0.32


def _stresses(theta_f: float, s: float, soil: RefSoil, wheel: RefWheel):
    """Midpoint samples (theta, sigma, tau, d_theta) over the contact arc 0..theta_f."""
    k = (soil.k_c / wheel.b + soil.k_phi) * wheel.r ** soil.n
    theta_m = max((wheel.c1 + wheel.c2 * s) * theta_f, 1e-12)
    tan_phi = math.tan(math.radians(soil.phi_deg))
    r_s = wheel.r + wheel.h
    d = theta_f / _N
    out = []
    for i in range(_N):
        th = (i + 0.5) * d
        eq = th if th >= theta_m else theta_f - th / theta_m * (theta_f - theta_m)
        dz = math.cos(eq) - math.cos(theta_f)
        sigma = k * dz ** soil.n if dz > 0.0 else 0.0
        j = r_s * ((theta_f - th) - (1.0 - s) * (math.sin(theta_f) - math.sin(th)))
        tau = (soil.c + sigma * tan_phi) * (1.0 - math.exp(-max(j, 0.0) / soil.K))
        out.append((th, sigma, tau))
    return out, d


def wheel_state(theta_f: float, s: float, soil: RefSoil, wheel: RefWheel) -> tuple[float, float]:
    """(vertical load carried, drawbar pull) in N at entry angle theta_f and slip s in [0, 1]."""
    samples, d = _stresses(theta_f, s, soil, wheel)
    r_s = wheel.r + wheel.h
    load = thrust = resist = 0.0
    for th, sigma, tau in samples:
        c, sn = math.cos(th), math.sin(th)
        load += sigma * c + tau * sn
        thrust += tau * c
        resist += sigma * sn
    return wheel.b * wheel.r * load * d, wheel.b * (r_s * thrust - wheel.r * resist) * d


def sinkage(load: float, s: float, soil: RefSoil, wheel: RefWheel) -> tuple[float, float]:
    """(sinkage m, drawbar pull N) of a wheel carrying `load` N at slip s: bisection on the sinkage z."""
    lo, hi = 0.0, wheel.r * 0.999
    for _ in range(60):
        z = 0.5 * (lo + hi)
        w, _ = wheel_state(math.acos(1.0 - z / wheel.r), s, soil, wheel)
        if w > load:
            hi = z
        else:
            lo = z
    z = 0.5 * (lo + hi)
    return z, wheel_state(math.acos(1.0 - z / wheel.r), s, soil, wheel)[1]


def drawbar_pull(load: float, s: float, soil: RefSoil, wheel: RefWheel) -> float:
    return sinkage(load, s, soil, wheel)[1]


def static_sinkage(load: float, soil: RefSoil, wheel: RefWheel) -> float:
    """Sinkage of a wheel standing still (no slip, no shear displacement): Bekker alone."""
    return sinkage(load, 0.0, soil, wheel)[0]


def steady_slip(slope_deg: float, mass: float, gravity: float, soil: RefSoil, wheel: RefWheel,
                wheels: int = 6) -> float:
    """The slip at which equally loaded wheels hold the rover's weight component on the slope; 1.0 if none can."""
    a = math.radians(slope_deg)
    load = mass * gravity * math.cos(a) / wheels
    need = mass * gravity * math.sin(a) / wheels
    if drawbar_pull(load, 1.0, soil, wheel) < need:
        return 1.0
    lo, hi = 0.0, 1.0
    if drawbar_pull(load, lo, soil, wheel) >= need:
        return 0.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if drawbar_pull(load, mid, soil, wheel) >= need:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def max_slope(mass: float, gravity: float, soil: RefSoil, wheel: RefWheel, slip: float = 1.0,
              wheels: int = 6) -> float:
    """The steepest slope (deg) the rover holds at the given slip (bisection over the slope)."""
    lo, hi = 0.0, 60.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        a = math.radians(mid)
        load = mass * gravity * math.cos(a) / wheels
        if drawbar_pull(load, slip, soil, wheel) >= mass * gravity * math.sin(a) / wheels:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def slope_at_slip(target: float, mass: float, gravity: float, soil: RefSoil, wheel: RefWheel) -> float:
    """The slope (deg) whose steady slip is `target` (e.g. 0.5)."""
    return max_slope(mass, gravity, soil, wheel, slip=target)
