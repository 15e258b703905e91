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

from visionlab.core.i18n import _
from visionlab.core.optimizer.mathns import ARRAY, SCALAR

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
    # explain(x, y): why f or its gradient is no number there, in words ("" where both are); None: defined everywhere
    explain: Callable[[float, float], str] | None = None

    @property
    def divergence_limit(self) -> float:
        """|θ| beyond this (1000 view widths out) counts as diverged, as do NaN and inf."""
        return 1000.0 * max(abs(b) for b in self.bounds)

    def evaluate(self, resolution: int = 200, bounds: Bounds | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values on a regular grid; Z[i, j] is the value at (xs[j], ys[i]). NaN where f is undefined, ±inf
        where it overflows: the map hatches the one and clips the other to its colour scale."""
        x_min, x_max, y_min, y_max = bounds or self.bounds
        xs = np.linspace(x_min, x_max, resolution)
        ys = np.linspace(y_min, y_max, resolution)
        grid_x, grid_y = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            z = np.asarray(self.value(grid_x, grid_y, ARRAY), dtype=float) * np.ones_like(grid_x)
        return xs, ys, z

    def grid(self, resolution: int = 200, bounds: Bounds | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """evaluate(), with every value that is not a finite number (undefined or overflowing) as NaN."""
        xs, ys, z = self.evaluate(resolution, bounds)
        z[~np.isfinite(z)] = np.nan
        return xs, ys, z

    def undefined_reason(self, x: float, y: float) -> str:
        """Why f or its gradient is not a finite number at (x, y), e.g. "log of a negative number: log(-0.3)";
        "" where both are. The engine says this when a racer steps where f is undefined."""
        if self.explain is not None:
            return self.explain(x, y)
        try:
            numbers = (self.value(x, y, SCALAR), *self.grad(x, y, SCALAR))
        except (ArithmeticError, ValueError) as exc:
            return _("f cannot be computed here ({error})").format(error=exc)
        return "" if all(math.isfinite(n) for n in numbers) else _("f or its gradient is not a finite number here")

    def loss_along(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.value(np.asarray(xs, float), np.asarray(ys, float), ARRAY), float) * np.ones(len(xs))


# --- isolines ----------------------------------------------------------------------------------------------

# Marching squares. A cell's corners are a = (i, j), b = (i, j+1), c = (i+1, j+1), d = (i+1, j); its edges
# 0: a–b, 1: b–c, 2: d–c, 3: a–d. The case number has a bit per corner above the level (a 1, b 2, c 4, d 8);
# the two saddle cases (5, 10) add 16 when the cell's centre is above, which joins the corners above.
_SEGMENTS = {1: ((3, 0),), 2: ((0, 1),), 3: ((3, 1),), 4: ((1, 2),), 5: ((3, 0), (1, 2)), 21: ((0, 1), (2, 3)),
             6: ((0, 2),), 7: ((3, 2),), 8: ((2, 3),), 9: ((0, 2),), 10: ((0, 1), (2, 3)), 26: ((3, 0), (1, 2)),
             11: ((1, 2),), 12: ((3, 1),), 13: ((0, 1),), 14: ((3, 0),)}
_TABLE = np.full((27, 2, 2), -1)
for _case, _pairs in _SEGMENTS.items():
    _TABLE[_case, :len(_pairs)] = _pairs


def isolines(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels,
             f: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> list[np.ndarray]:
    """For each level, the curve z = level on the grid of `evaluate` as straight segments, shape (n, 2, 2): n
    segments of two (x, y) ends on cell edges. A cell with a corner that is no finite number is skipped, so no
    line runs into an undefined region. Given f (vectorised, f(xs, ys) -> z), each end is found by bisecting
    its edge, and an edge whose values jump instead of crossing the level (a pole: 1/x from −∞ to +∞) gives
    no line: f is never equal to the level there."""
    z = np.asarray(z, dtype=float)
    finite = np.isfinite(z)
    cell_finite = finite[:-1, :-1] & finite[:-1, 1:] & finite[1:, 1:] & finite[1:, :-1]
    with np.errstate(invalid="ignore"):
        centre = (z[:-1, :-1] + z[:-1, 1:] + z[1:, 1:] + z[1:, :-1]) / 4
    return [_isoline(xs, ys, z, float(level), cell_finite, centre, f) for level in levels]


def _isoline(xs, ys, z, level, cell_finite, centre, f) -> np.ndarray:
    above = (z > level).view(np.uint8)
    case = above[:-1, :-1] | above[:-1, 1:] << 1 | above[1:, 1:] << 2 | above[1:, :-1] << 3
    case = np.where(((case == 5) | (case == 10)) & (centre > level), case + 16, case) * cell_finite
    i, j = np.nonzero(_TABLE[case, 0, 0] >= 0)
    if not len(i):
        return np.zeros((0, 2, 2))
    corner = [(xs[j], ys[i], z[i, j]), (xs[j + 1], ys[i], z[i, j + 1]), (xs[j + 1], ys[i + 1], z[i + 1, j + 1]),
              (xs[j], ys[i + 1], z[i + 1, j])]
    ends = np.empty((4, len(i), 2))
    real = np.ones((4, len(i)), dtype=bool)
    with np.errstate(all="ignore"):  # edges the level does not cross are computed too, and never used
        for edge, (p, q) in enumerate(((0, 1), (1, 2), (3, 2), (0, 3))):
            ends[edge], real[edge] = _crossing(corner[p], corner[q], level, f)
    pairs = _TABLE[case[i, j]]  # (cells, 2 slots, 2 edges)
    cells = np.arange(len(i))
    segments = [np.stack([ends[pairs[:, slot, 0], cells], ends[pairs[:, slot, 1], cells]], axis=1)[used]
                for slot in (0, 1)
                if (used := (pairs[:, slot, 0] >= 0) & real[pairs[:, slot, 0], cells] & real[pairs[:, slot, 1], cells])
                .any()]
    return np.concatenate(segments) if segments else np.zeros((0, 2, 2))


def _crossing(a, b, level: float, f, steps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Where the edges from corners a to b (arrays x, y, z each) cross `level`, and whether they really do."""
    (ax, ay, az), (bx, by, bz) = a, b
    jump = np.abs(bz - az)
    if f is not None:
        a_above = az > level
        for _halving in range(steps):  # halve each edge, keeping the half whose ends are on both sides of the level
            mx, my = (ax + bx) / 2, (ay + by) / 2
            mz = np.asarray(f(mx, my), dtype=float) * np.ones_like(mx)
            keep_a = (mz > level) != a_above
            ax, ay, az = np.where(keep_a, ax, mx), np.where(keep_a, ay, my), np.where(keep_a, az, mz)
            bx, by, bz = np.where(keep_a, mx, bx), np.where(keep_a, my, by), np.where(keep_a, mz, bz)
    t = (level - az) / (bz - az)
    point = np.stack([ax + t * (bx - ax), ay + t * (by - ay)], axis=1)
    # 2⁸ times shorter, a continuous f differs about 2⁸ times less between the ends; across a pole it does not
    real = np.ones(len(t), dtype=bool) if f is None else np.isfinite(az + bz) & (np.abs(bz - az) <= jump / 8)
    return point, real


# --- the analytic surfaces ------------------------------------------------------------------------------

def make_quadratic(condition: float = 10.0, angle_deg: float = 30.0) -> Surface:
    """An ill-conditioned bowl: curvature 1 along one axis and `condition` along the other, rotated."""
    if not 1.0 <= condition <= 1000.0:
        raise ValueError(_("the condition number must be between 1 and 1000"))
    c, s, k = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg)), float(condition)

    def value(x, y, xp):
        u, v = c * x + s * y, -s * x + c * y
        return 0.5 * (u * u + k * v * v)

    def grad(x, y, xp):
        u, v = c * x + s * y, -s * x + c * y
        return c * u - s * k * v, s * u + c * k * v

    return Surface(
        "quadratic", "Ill-conditioned quadratic", _("½(u² + κ·v²), κ = {k:g}, rotated {angle:g}°").format(
            k=k, angle=angle_deg),
        value, grad, (-3, 3, -3, 3), (-2.5, 2.0),
        f"0.5*(({c!r}*x + {s!r}*y)**2 + {k!r}*(-{s!r}*x + {c!r}*y)**2)", ((0.0, 0.0),),
        # Checked in test_surfaces.py: zig-zag near the limit, none at a small η, divergence beyond it.
        note=_("Condition number κ = largest / smallest curvature = {k:g}: plain gradient descent is stable only "
               "for η < 2/κ = {limit:.3g}. Near that limit it zig-zags across the narrow valley; with a much smaller "
               "η it crawls down without zig-zagging.").format(k=k, limit=2 / k),
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
                   _("A curved, flat-bottomed valley: easy to find, slow to follow to the minimum at (1, 1)."))


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
                   _("Flat plateaus and steep walls; the minimum (3, 0.5) sits in a narrow curved trough."))


def _himmelblau() -> Surface:
    def value(x, y, xp):
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def grad(x, y, xp):
        a, b = x * x + y - 11, x + y * y - 7
        return 4 * x * a + 2 * b, 2 * a + 4 * y * b

    minima = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))
    return Surface("himmelblau", "Himmelblau", "(x² + y − 11)² + (x + y² − 7)²", value, grad, (-5, 5, -5, 5),
                   (-0.5, -0.5), "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", minima, True,
                   _("Four equal minima: where you end depends on where you start (see the basin map)."))


def _saddle() -> Surface:
    return Surface("saddle", "Saddle x² − y²", "x² − y²", lambda x, y, xp: x * x - y * y,
                   lambda x, y, xp: (2 * x, -2 * y), (-2, 2, -2, 2), (-1.8, 1e-3), "x**2 - y**2",
                   note=_("Unbounded below along y. Started almost on the ridge (y ≈ 0), plain GD crawls; "
                          "momentum builds speed and escapes the saddle point."))


def _monkey_saddle() -> Surface:
    return Surface("monkey_saddle", "Monkey saddle", "x³ − 3xy²", lambda x, y, xp: x ** 3 - 3 * x * y * y,
                   lambda x, y, xp: (3 * x * x - 3 * y * y, -6 * x * y), (-2, 2, -2, 2), (1.5, 0.2),
                   "x**3 - 3*x*y**2",
                   note=_("A saddle with three downhill directions; the gradient vanishes to second order at 0."))


def _rastrigin() -> Surface:
    two_pi = 2 * math.pi

    def value(x, y, xp):
        return 20 + x * x - 10 * xp.cos(two_pi * x) + y * y - 10 * xp.cos(two_pi * y)

    def grad(x, y, xp):
        return 2 * x + 10 * two_pi * xp.sin(two_pi * x), 2 * y + 10 * two_pi * xp.sin(two_pi * y)

    return Surface("rastrigin", "Rastrigin", "20 + x² − 10·cos 2πx + y² − 10·cos 2πy", value, grad,
                   (-5.12, 5.12, -5.12, 5.12), (3.2, 2.3),
                   "20 + x**2 - 10*torch.cos(2*math.pi*x) + y**2 - 10*torch.cos(2*math.pi*y)", ((0.0, 0.0),),
                   note=_("A bowl covered in local minima: small steps get stuck in the nearest dimple."))


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
                   note=_("Nearly flat far out, many ripples, one deep funnel at the origin."))


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
                   _("Values span six orders of magnitude (log colours): the global minimum 3 is at (0, −1)."))


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
                   note=_("Six minima, two of them global: a map of which start leads where."))


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
        for _step in range(3000):
            gx, gy = grad(x, y, math)
            x, y = x - 0.01 * gx, y - 0.01 * gy
        return (x, y)

    expr = (f"0.05*(x**2 + y**2) - torch.exp(-{ks!r}*((x - {sx!r})**2 + (y - {sy!r})**2))"
            f" - torch.exp(-{kf!r}*((x - {fx!r})**2 + (y - {fy!r})**2))")
    sharp_min, flat_min = settle(*SHARP_CENTER), settle(*FLAT_CENTER)
    # The note gives the minima where descent settles, not the bumps' centres (±1.2): the quadratic term
    # pulls each one toward the origin, the flat one to about −1.1.
    return Surface("sharp_flat", "Sharp vs flat minima", "0.05·|θ|² − e^(−|θ−s|²/2σs²) − e^(−|θ−f|²/2σf²)",
                   value, grad, (-3, 3, -2, 2), (1.35, 0.12), expr, (sharp_min, flat_min),
                   note=_("Sharp minimum near ({sx:.2f}, 0), flat one near ({fx:.2f}, 0). With gradient noise (small "
                          "batches) paths shake out of the sharp basin and settle in the flat one (Keskar et al. "
                          "2017).").format(sx=sharp_min[0], fx=flat_min[0]))


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
