"""The loss surfaces of the Optimizer Lab, each with its exact analytic gradient.

Every formula is written once against a math namespace (see mathns.py) and serves three purposes: fast
scalar paths, numpy grids of thousands of starts, and torch tensors so tests can compare our gradients
with autograd. `python_expr` is the same function as text for the "copy as Python" snippet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visionlab.core.optimizer.mathns import ARRAY

Bounds = tuple[float, float, float, float]  # x_min, x_max, y_min, y_max


@dataclass
class Surface:
    key: str
    name: str
    formula: str  # shown to the student
    value: Callable[..., Any]  # value(x, y, xp)
    grad: Callable[..., tuple[Any, Any]]  # grad(x, y, xp) -> (d/dx, d/dy)
    bounds: Bounds
    start: tuple[float, float]
    python_expr: str  # the same function in Python/torch syntax, for exported snippets
    minima: tuple[tuple[float, float], ...] = ()
    log_scale: bool = False
    note: str = ""
    params: dict[str, float] = field(default_factory=dict)

    @property
    def divergence_limit(self) -> float:
        """|θ| beyond this (1000 view widths out) counts as diverged, as do NaN and inf."""
        return 1000.0 * max(abs(b) for b in self.bounds)

    def grid(self, resolution: int = 200, bounds: Bounds | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values on a regular grid; Z[i, j] is the value at (xs[j], ys[i]). Non-finite values become NaN."""
        x_min, x_max, y_min, y_max = bounds or self.bounds
        xs = np.linspace(x_min, x_max, resolution)
        ys = np.linspace(y_min, y_max, resolution)
        grid_x, grid_y = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            z = np.asarray(self.value(grid_x, grid_y, ARRAY), dtype=float) * np.ones_like(grid_x)
        z[~np.isfinite(z)] = np.nan
        return xs, ys, z

    def loss_along(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.value(np.asarray(xs, float), np.asarray(ys, float), ARRAY), float) * np.ones(len(xs))


# --- the analytic surfaces ------------------------------------------------------------------------------

def make_quadratic(condition: float = 10.0, angle_deg: float = 30.0) -> Surface:
    """An ill-conditioned bowl: curvature 1 along one axis and `condition` along the other, rotated."""
    if not 1.0 <= condition <= 1000.0:
        raise ValueError("the condition number must be between 1 and 1000")
    c, s, k = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg)), float(condition)

    def value(x, y, xp):
        u, v = c * x + s * y, -s * x + c * y
        return 0.5 * (u * u + k * v * v)

    def grad(x, y, xp):
        u, v = c * x + s * y, -s * x + c * y
        return c * u - s * k * v, s * u + c * k * v

    return Surface(
        "quadratic", "Ill-conditioned quadratic", f"½(u² + κ·v²), κ = {k:g}, rotated {angle_deg:g}°",
        value, grad, (-3, 3, -3, 3), (-2.5, 2.0),
        f"0.5*(({c!r}*x + {s!r}*y)**2 + {k!r}*(-{s!r}*x + {c!r}*y)**2)", ((0.0, 0.0),),
        note="Condition number κ = largest / smallest curvature. Plain GD zig-zags across the narrow valley; "
             "momentum and adaptive methods cut through it.",
        params={"condition": k, "angle_deg": float(angle_deg)},
    )


def _rosenbrock() -> Surface:
    def value(x, y, xp):
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    def grad(x, y, xp):
        inner = y - x * x
        return -2 * (1 - x) - 400 * x * inner, 200 * inner

    return Surface("rosenbrock", "Rosenbrock", "(1 − x)² + 100·(y − x²)²", value, grad, (-2, 2, -1, 3),
                   (-1.5, 2.0), "(1 - x)**2 + 100*(y - x**2)**2", ((1.0, 1.0),), True,
                   "A curved, flat-bottomed valley: easy to find, slow to follow to the minimum at (1, 1).")


def _beale() -> Surface:
    def value(x, y, xp):
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y ** 3) ** 2

    def grad(x, y, xp):
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y ** 3
        gx = 2 * t1 * (y - 1) + 2 * t2 * (y * y - 1) + 2 * t3 * (y ** 3 - 1)
        gy = 2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y * y
        return gx, gy

    return Surface("beale", "Beale", "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", value, grad,
                   (-4.5, 4.5, -4.5, 4.5), (1.0, 1.4),
                   "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2", ((3.0, 0.5),), True,
                   "Flat plateaus and steep walls; the minimum (3, 0.5) sits in a narrow curved trough.")


def _himmelblau() -> Surface:
    def value(x, y, xp):
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def grad(x, y, xp):
        a, b = x * x + y - 11, x + y * y - 7
        return 4 * x * a + 2 * b, 2 * a + 4 * y * b

    minima = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))
    return Surface("himmelblau", "Himmelblau", "(x² + y − 11)² + (x + y² − 7)²", value, grad, (-5, 5, -5, 5),
                   (-0.5, -0.5), "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", minima, True,
                   "Four equal minima: where you end depends on where you start (see the basin map).")


def _saddle() -> Surface:
    return Surface("saddle", "Saddle x² − y²", "x² − y²", lambda x, y, xp: x * x - y * y,
                   lambda x, y, xp: (2 * x, -2 * y), (-2, 2, -2, 2), (-1.8, 1e-3), "x**2 - y**2",
                   note="Unbounded below along y. Started almost on the ridge (y ≈ 0), plain GD crawls; "
                        "momentum builds speed and escapes the saddle point.")


def _monkey_saddle() -> Surface:
    return Surface("monkey_saddle", "Monkey saddle", "x³ − 3xy²", lambda x, y, xp: x ** 3 - 3 * x * y * y,
                   lambda x, y, xp: (3 * x * x - 3 * y * y, -6 * x * y), (-2, 2, -2, 2), (1.5, 0.2),
                   "x**3 - 3*x*y**2",
                   note="A saddle with three downhill directions; the gradient vanishes to second order at 0.")


def _rastrigin() -> Surface:
    two_pi = 2 * math.pi

    def value(x, y, xp):
        return 20 + x * x - 10 * xp.cos(two_pi * x) + y * y - 10 * xp.cos(two_pi * y)

    def grad(x, y, xp):
        return 2 * x + 10 * two_pi * xp.sin(two_pi * x), 2 * y + 10 * two_pi * xp.sin(two_pi * y)

    return Surface("rastrigin", "Rastrigin", "20 + x² − 10·cos 2πx + y² − 10·cos 2πy", value, grad,
                   (-5.12, 5.12, -5.12, 5.12), (3.2, 2.3),
                   "20 + x**2 - 10*torch.cos(2*math.pi*x) + y**2 - 10*torch.cos(2*math.pi*y)", ((0.0, 0.0),),
                   note="A bowl covered in local minima: small steps get stuck in the nearest dimple.")


def _ackley() -> Surface:
    two_pi = 2 * math.pi
    # The tiny 1e-12 keeps the gradient finite at the origin (|θ| has no derivative there).

    def value(x, y, xp):
        r = xp.sqrt(0.5 * (x * x + y * y) + 1e-12)
        return -20 * xp.exp(-0.2 * r) - xp.exp(0.5 * (xp.cos(two_pi * x) + xp.cos(two_pi * y))) + math.e + 20

    def grad(x, y, xp):
        r = xp.sqrt(0.5 * (x * x + y * y) + 1e-12)
        radial = 2 * xp.exp(-0.2 * r) / r
        ripple = math.pi * xp.exp(0.5 * (xp.cos(two_pi * x) + xp.cos(two_pi * y)))
        return radial * x + ripple * xp.sin(two_pi * x), radial * y + ripple * xp.sin(two_pi * y)

    return Surface("ackley", "Ackley", "−20·e^(−0.2·√(½(x²+y²))) − e^(½(cos 2πx + cos 2πy)) + e + 20", value, grad,
                   (-4, 4, -4, 4), (2.6, -1.9),
                   "-20*torch.exp(-0.2*torch.sqrt(0.5*(x**2 + y**2) + 1e-12)) - torch.exp(0.5*(torch.cos(2*math.pi*x)"
                   " + torch.cos(2*math.pi*y))) + math.e + 20", ((0.0, 0.0),),
                   note="Nearly flat far out, many ripples, one deep funnel at the origin.")


def _goldstein_price() -> Surface:
    def parts(x, y):
        a, b = x + y + 1, 2 * x - 3 * y
        p = 19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y
        q = 18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y
        return a, b, p, q

    def value(x, y, xp):
        a, b, p, q = parts(x, y)
        return (1 + a * a * p) * (30 + b * b * q)

    def grad(x, y, xp):
        a, b, p, q = parts(x, y)
        big_a, big_b = 1 + a * a * p, 30 + b * b * q
        dp = -14 + 6 * x + 6 * y  # dp/dx equals dp/dy
        da = 2 * a * p + a * a * dp
        dbx = 4 * b * q + b * b * (-32 + 24 * x - 36 * y)
        dby = -6 * b * q + b * b * (48 - 36 * x + 54 * y)
        return da * big_b + big_a * dbx, da * big_b + big_a * dby

    return Surface("goldstein_price", "Goldstein–Price", "[1 + (x+y+1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]·"
                   "[30 + (2x−3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]", value, grad, (-2, 2, -3, 1),
                   (-1.2, 0.6),
                   "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))*(30 + (2*x - 3*y)**2*"
                   "(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))",
                   ((0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)), True,
                   "Values span six orders of magnitude (log colours): the global minimum 3 is at (0, −1).")


def _six_hump_camel() -> Surface:
    def value(x, y, xp):
        return (4 - 2.1 * x * x + x ** 4 / 3) * x * x + x * y + (-4 + 4 * y * y) * y * y

    def grad(x, y, xp):
        return 8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3

    minima = ((0.0898, -0.7126), (-0.0898, 0.7126), (-1.7036, 0.7961), (1.7036, -0.7961),
              (-1.6071, -0.5687), (1.6071, 0.5687))
    return Surface("six_hump_camel", "Six-hump camel", "(4 − 2.1x² + x⁴/3)·x² + xy + (−4 + 4y²)·y²", value, grad,
                   (-2.2, 2.2, -1.2, 1.2), (-1.9, -0.2),
                   "(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2", minima,
                   note="Six minima, two of them global: a map of which start leads where.")


SHARP_CENTER, SHARP_WIDTH = (1.2, 0.0), 0.18
FLAT_CENTER, FLAT_WIDTH = (-1.2, 0.0), 0.9


def _sharp_flat() -> Surface:
    """Two minima of almost equal depth: a narrow one (sharp) and a wide one (flat)."""
    (sx, sy), (fx, fy) = SHARP_CENTER, FLAT_CENTER
    ks, kf = 1 / (2 * SHARP_WIDTH ** 2), 1 / (2 * FLAT_WIDTH ** 2)

    def value(x, y, xp):
        sharp = xp.exp(-ks * ((x - sx) ** 2 + (y - sy) ** 2))
        flat = xp.exp(-kf * ((x - fx) ** 2 + (y - fy) ** 2))
        return 0.05 * (x * x + y * y) - sharp - flat

    def grad(x, y, xp):
        sharp = xp.exp(-ks * ((x - sx) ** 2 + (y - sy) ** 2))
        flat = xp.exp(-kf * ((x - fx) ** 2 + (y - fy) ** 2))
        gx = 0.1 * x + 2 * ks * (x - sx) * sharp + 2 * kf * (x - fx) * flat
        gy = 0.1 * y + 2 * ks * (y - sy) * sharp + 2 * kf * (y - fy) * flat
        return gx, gy

    def settle(x, y):
        # The quadratic term and the other bump shift each minimum slightly off its bump's centre.
        for _ in range(3000):
            gx, gy = grad(x, y, math)
            x, y = x - 0.01 * gx, y - 0.01 * gy
        return (x, y)

    expr = (f"0.05*(x**2 + y**2) - torch.exp(-{ks!r}*((x - {sx!r})**2 + (y - {sy!r})**2))"
            f" - torch.exp(-{kf!r}*((x - {fx!r})**2 + (y - {fy!r})**2))")
    return Surface("sharp_flat", "Sharp vs flat minima", "0.05·|θ|² − e^(−|θ−s|²/2σs²) − e^(−|θ−f|²/2σf²)",
                   value, grad, (-3, 3, -2, 2), (1.35, 0.12), expr, (settle(*SHARP_CENTER), settle(*FLAT_CENTER)),
                   note="Sharp minimum at (1.2, 0), flat one at (−1.2, 0). With gradient noise (small batches) "
                        "paths shake out of the sharp basin and settle in the flat one (Keskar et al. 2017).")


ANALYTIC_FACTORIES: dict[str, Callable[[], Surface]] = {
    "quadratic": make_quadratic,
    "rosenbrock": _rosenbrock,
    "beale": _beale,
    "himmelblau": _himmelblau,
    "saddle": _saddle,
    "monkey_saddle": _monkey_saddle,
    "rastrigin": _rastrigin,
    "ackley": _ackley,
    "goldstein_price": _goldstein_price,
    "six_hump_camel": _six_hump_camel,
    "sharp_flat": _sharp_flat,
}
