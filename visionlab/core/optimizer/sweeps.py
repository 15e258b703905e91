"""Sweeps that run many optimizer paths at once (numpy): the basin map, the learning-rate strip and the
sharp-vs-flat statistics. Each is a finite job: `progress(fraction, message)` and `should_stop()`
callbacks, run off the GUI thread by a JobWorker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.jobs import check_cancel
from visionlab.core.optimizer.engine import Racer, run_many
from visionlab.core.optimizer.mathns import ARRAY
from visionlab.core.optimizer.surfaces import Bounds, Surface

DIVERGED, NOT_CONVERGED, OTHER_MINIMUM = -1, -2, -3
MAX_ATTRACTORS = 12  # coloured one by one; ends that settled elsewhere (Rastrigin has dozens) are "other minima"
# A path that stopped moving has converged only where it is a minimum: near one the surface knows (within 2 % of
# the view's diagonal), or where the gradient has (almost) vanished. Rosenbrock's valley floor holds many ends
# whose steps became tiny while |∇L| ≈ 0.1–0.3 remains: they are "not converged in N steps", not minima.
STATIONARY_GRADIENT = 1e-2


@dataclass
class BasinMap:
    labels: np.ndarray  # (ny, nx): attractor index, OTHER_MINIMUM, DIVERGED or NOT_CONVERGED
    steps_to_converge: np.ndarray  # (ny, nx) float, NaN where it did not converge
    attractors: list[tuple[float, float]]
    bounds: Bounds
    steps: int
    racer: str = ""  # the title of the racer that was run from every start

    def fractions(self) -> dict[str, float]:
        total = self.labels.size
        out = {f"minimum {i + 1}": float((self.labels == i).sum()) / total for i in range(len(self.attractors))}
        out["other minima"] = float((self.labels == OTHER_MINIMUM).sum()) / total
        out["not converged"] = float((self.labels == NOT_CONVERGED).sum()) / total
        out["diverged"] = float((self.labels == DIVERGED).sum()) / total
        return out


def _cluster(points: np.ndarray, radius: float, known: tuple[tuple[float, float], ...],
             limit: int = MAX_ATTRACTORS):
    """Attractors: the known minima that were reached, then the densest other end points."""
    centers: list[tuple[float, float]] = []
    remaining = points
    for kx, ky in known:
        near = np.hypot(remaining[:, 0] - kx, remaining[:, 1] - ky) < radius
        if near.any():
            centers.append((float(kx), float(ky)))
            remaining = remaining[~near]
    while len(remaining) and len(centers) < limit:
        cells = np.round(remaining / radius).astype(np.int64)
        uniq, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        members = remaining[inverse.ravel() == counts.argmax()]
        cx, cy = members.mean(axis=0)
        centers.append((float(cx), float(cy)))
        remaining = remaining[np.hypot(remaining[:, 0] - cx, remaining[:, 1] - cy) >= radius]
    return centers


def basin_map(surface: Surface, racer: Racer, bounds: Bounds, resolution: int = 128, steps: int = 500,
              tol: float = 1e-4, progress=None, should_stop=None) -> BasinMap:
    """Runs `racer` from every point of a resolution² grid; colours each start by where it ended."""
    x_min, x_max, y_min, y_max = bounds
    grid_x, grid_y = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    sx, sy = grid_x.ravel(), grid_y.ravel()
    last_moving = np.zeros(sx.size)
    diverged_at = np.zeros(sx.size, dtype=np.int64)
    px, py = sx, sy
    tol2 = tol * tol
    for t, x, y in run_many(surface, racer, sx, sy, steps):
        moved = (x - px) ** 2 + (y - py) ** 2
        last_moving[moved >= tol2] = t
        bad = ~((np.abs(x) < surface.divergence_limit) & (np.abs(y) < surface.divergence_limit))
        newly = bad & (diverged_at == 0)
        if newly.any():
            diverged_at[newly] = t
        px, py = x, y
        if t % 10 == 0 or t == steps:
            check_cancel(should_stop)
            if progress:
                progress(t / steps, _("step {step} of {steps}").format(step=t, steps=steps))
    final = np.stack([px, py], axis=1)
    diverged = diverged_at > 0
    diag = float(np.hypot(x_max - x_min, y_max - y_min))
    radius = 0.02 * diag
    converged = ~diverged & (last_moving < steps) & _at_a_minimum(surface, final, radius)
    attractors = _cluster(final[converged], radius, surface.minima) if converged.any() else []
    labels = np.full(sx.size, NOT_CONVERGED, dtype=np.int64)
    labels[diverged] = DIVERGED
    if attractors:
        centers = np.array(attractors)
        idx = np.flatnonzero(converged)
        dist = np.hypot(final[idx, 0, None] - centers[None, :, 0], final[idx, 1, None] - centers[None, :, 1])
        nearest = dist.argmin(axis=1)
        ok = dist[np.arange(len(idx)), nearest] < radius
        labels[idx[ok]] = nearest[ok]
    # A start that stopped moving has converged, even to a minimum beyond the coloured ones: never "not converged".
    labels[converged & (labels == NOT_CONVERGED)] = OTHER_MINIMUM
    steps_needed = np.where(converged, last_moving + 1, np.nan)
    shape = (resolution, resolution)
    return BasinMap(labels.reshape(shape), steps_needed.reshape(shape), attractors, bounds, steps, racer.title())


def _at_a_minimum(surface: Surface, points: np.ndarray, radius: float) -> np.ndarray:
    """Per end point: near a minimum the surface lists, or where |∇L| < STATIONARY_GRADIENT."""
    near = np.zeros(len(points), dtype=bool)
    for kx, ky in surface.minima:
        near |= np.hypot(points[:, 0] - kx, points[:, 1] - ky) < radius
    with np.errstate(all="ignore"):
        gx, gy = surface.grad(points[:, 0], points[:, 1], ARRAY)
        gradient = np.hypot(np.asarray(gx, float) * np.ones(len(points)), np.asarray(gy, float) * np.ones(len(points)))
    return near | (gradient < STATIONARY_GRADIENT)


def learning_rate_strip(surface: Surface, racers: list[Racer], start: tuple[float, float], steps: int,
                        lrs: np.ndarray | None = None, progress=None, should_stop=None, *, seed: int = 0,
                        noise: bool = False, noise_scale: float = 1.0):
    """Final loss against learning rate (log-spaced) for each racer; diverged runs give +inf. With `noise`,
    each racer's gradient noise is the race's (σ/√batch), drawn independently for every learning rate."""
    lrs = np.logspace(-5, 1, 60) if lrs is None else np.asarray(lrs, float)
    results = {}
    for index, racer in enumerate(racers):
        n = len(lrs)
        ok = np.ones(n, dtype=bool)
        x = y = None
        for t, x, y in run_many(surface, racer, np.full(n, start[0]), np.full(n, start[1]), steps, lr=lrs, seed=seed,
                                noise=noise, noise_scale=noise_scale):
            ok &= (np.abs(x) < surface.divergence_limit) & (np.abs(y) < surface.divergence_limit)
            if t % 50 == 0:
                check_cancel(should_stop)
        with np.errstate(all="ignore"):
            final = np.asarray(surface.value(x, y, ARRAY), float) * np.ones(n)
        final[~ok | ~np.isfinite(final)] = np.inf
        results[racer.title()] = final
        if progress:
            progress((index + 1) / len(racers), racer.title())
    return lrs, results


def sharp_flat_statistics(surface: Surface, racer: Racer, start: tuple[float, float], steps: int,
                          batch_sizes=(1, 4, 16, 64, 256, 1024), seeds: int = 200, noise_scale: float = 1.0,
                          progress=None, should_stop=None) -> dict[int, dict[str, float]]:
    """For each batch size: the fraction of seeds ending in the sharp minimum, the flat one, or neither."""
    sharp, flat = surface.minima[:2]
    out = {}
    for index, batch in enumerate(batch_sizes):
        noisy = Racer(racer.key, racer.hp, batch_size=int(batch))
        x = y = None
        # x, y are read after the loop: the positions after the last step.
        for t, x, y in run_many(surface, noisy, np.full(seeds, start[0]), np.full(seeds, start[1]), steps,  # noqa: B007
                                seed=1000 + index, noise=True, noise_scale=noise_scale):
            if t % 100 == 0:
                check_cancel(should_stop)
        assert x is not None and y is not None, "run_many yields once per step"
        near_sharp = np.hypot(x - sharp[0], y - sharp[1]) < 0.5
        near_flat = np.hypot(x - flat[0], y - flat[1]) < 1.0
        out[int(batch)] = {"sharp": float(near_sharp.mean()), "flat": float((near_flat & ~near_sharp).mean()),
                           "other": float((~near_sharp & ~near_flat).mean())}
        if progress:
            progress((index + 1) / len(batch_sizes), _("batch {size}").format(size=batch))
    return out


@dataclass
class MinimumInPicture:
    """One minimum in the sharp-vs-flat picture: where it sits on the line, and its losses."""

    position: float  # along the line through both minima
    curvature: float  # d²L/ds² there, from the surface's gradient: large is sharp
    train: float  # the training loss at the minimum
    test: float  # the "test" loss (the training loss shifted by `shift`) at the same θ

    @property
    def rise(self) -> float:
        return self.test - self.train


@dataclass
class SharpFlatPicture:
    """The lecture's picture (Keskar et al. 2017): the training loss along the line through the two minima,
    and the same curve shifted sideways as a stand-in for the test loss. A flat minimum stays low under the
    shift, a sharp one does not."""

    positions: np.ndarray  # s along the line, θ(s) = origin + s·direction
    train: np.ndarray
    test: np.ndarray  # train(s − shift)
    shift: float
    origin: tuple[float, float]
    direction: tuple[float, float]  # unit vector
    sharp: MinimumInPicture
    flat: MinimumInPicture


def sharp_flat_picture(surface: Surface, shift: float = 0.25, samples: int = 401) -> SharpFlatPicture:
    """The picture for a surface with (at least) two minima: the sharper of the first two by curvature
    along the line through them is "sharp"; the line is drawn across the surface's bounds."""
    if len(surface.minima) < 2:
        raise ValueError(_("the sharp-vs-flat picture needs a surface with two minima"))
    a, b = (np.array(m, float) for m in surface.minima[:2])
    direction = (b - a) / np.linalg.norm(b - a)
    x_min, x_max, y_min, y_max = surface.bounds
    # The stretch of the line inside the bounds: where every coordinate stays between its limits.
    limits = []
    for lo, hi, o, d in ((x_min, x_max, a[0], direction[0]), (y_min, y_max, a[1], direction[1])):
        if abs(d) > 1e-12:
            limits.append(sorted(((lo - o) / d, (hi - o) / d)))
    s_lo, s_hi = max(lim[0] for lim in limits), min(lim[1] for lim in limits)
    # The minima themselves are samples too: a sharp minimum is narrower than the spacing of the others.
    positions = np.union1d(np.linspace(s_lo, s_hi, samples), [0.0, float(np.linalg.norm(b - a))])

    def loss(s):
        s = np.asarray(s, float)
        with np.errstate(all="ignore"):
            values = surface.value(a[0] + s * direction[0], a[1] + s * direction[1], ARRAY)
        return np.asarray(values, float) * np.ones(s.shape)

    def curvature(s: float, h: float = 1e-4) -> float:
        def slope(t: float) -> float:
            gx, gy = surface.grad(a[0] + t * direction[0], a[1] + t * direction[1], ARRAY)
            return float(gx * direction[0] + gy * direction[1])
        return (slope(s + h) - slope(s - h)) / (2 * h)

    found = []
    for s in (0.0, float(np.linalg.norm(b - a))):
        train, test = float(loss(s)), float(loss(s - shift))
        found.append(MinimumInPicture(s, curvature(s), train, test))
    sharp, flat = sorted(found, key=lambda m: -m.curvature)
    return SharpFlatPicture(positions, loss(positions), loss(positions - shift), shift, (float(a[0]), float(a[1])),
                            (float(direction[0]), float(direction[1])), sharp, flat)
