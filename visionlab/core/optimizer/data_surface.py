"""Linear regression y ≈ w1·x + w2 on a generated data set, drawn over the weights (w1, w2).

This is the one surface where the lecture's three gradient-descent variants differ for a real reason:
batch GD uses all points, mini-batch GD a random subset each step, SGD a single point. Each step's
gradient is computed from the batch's sufficient statistics (Σx², Σx, Σxy, Σy, count), so a step costs
the same for any batch size and works for one path or for thousands at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.optimizer.surfaces import Surface

TRUE_W1, TRUE_W2 = 2.0, -1.0


@dataclass(frozen=True)
class RegressionData:
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def generate(cls, count: int = 200, noise: float = 0.5, seed: int = 0) -> RegressionData:
        rng = np.random.default_rng(seed)
        # x in [0, 2] (not centred) makes w1 and w2 correlated: an elongated, tilted bowl.
        x = rng.uniform(0.0, 2.0, count)
        y = TRUE_W1 * x + TRUE_W2 + rng.normal(0.0, noise, count)
        return cls(x, y)

    def least_squares(self) -> tuple[float, float]:
        design = np.stack([self.x, np.ones_like(self.x)], axis=1)
        (w1, w2), *_rest = np.linalg.lstsq(design, self.y, rcond=None)
        return float(w1), float(w2)


def batch_indices(count: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """Indices of the batch used at each step: shuffled epochs, like a DataLoader with shuffle=True.

    Returns an int array of shape (steps, batch_size). A partial batch at the end of an epoch is dropped
    (drop_last=True) so every step's batch has the same size.
    """
    batch_size = max(1, min(int(batch_size), count))
    per_epoch = count // batch_size
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    while len(rows) < steps:
        order = rng.permutation(count)
        rows.extend(order[i * batch_size:(i + 1) * batch_size] for i in range(per_epoch))
    return np.asarray(rows[:steps], dtype=np.int64).reshape(steps, batch_size)


class BatchGradient:
    """grad(w1, w2, t) of the mean squared error on the batch of step t."""

    def __init__(self, data: RegressionData, batch_size: int, steps: int, seed: int) -> None:
        self.indices = batch_indices(len(data.x), batch_size, steps, seed)
        bx, by = data.x[self.indices], data.y[self.indices]
        self.n = float(self.indices.shape[1])
        # Plain Python floats: the scalar path then runs at full speed.
        self.sxx = (bx * bx).sum(axis=1).tolist()
        self.sx = bx.sum(axis=1).tolist()
        self.sxy = (bx * by).sum(axis=1).tolist()
        self.sy = by.sum(axis=1).tolist()

    def __call__(self, w1, w2, t: int):
        i = t - 1
        scale = 2.0 / self.n
        return (scale * (w1 * self.sxx[i] + w2 * self.sx[i] - self.sxy[i]),
                scale * (w1 * self.sx[i] + w2 * self.n - self.sy[i]))


def make_regression_surface(count: int = 200, noise: float = 0.5, seed: int = 0) -> Surface:
    data = RegressionData.generate(count, noise, seed)
    n = float(count)
    sxx, sx, sxy, sy, syy = (float(v) for v in ((data.x ** 2).sum(), data.x.sum(), (data.x * data.y).sum(),
                                                data.y.sum(), (data.y ** 2).sum()))

    def value(w1, w2, xp):
        # mean((w1·x + w2 − y)²) expanded, so it evaluates on grids without a loop over the data.
        return (w1 * w1 * sxx + 2 * w1 * w2 * sx + w2 * w2 * n - 2 * w1 * sxy - 2 * w2 * sy + syy) / n

    def grad(w1, w2, xp):
        return 2 * (w1 * sxx + w2 * sx - sxy) / n, 2 * (w1 * sx + w2 * n - sy) / n

    surface = Surface(
        "regression", "Linear regression (data)",
        _("L(w1, w2) = mean over {count} points of (w1·x + w2 − y)²").format(count=count),
        value, grad, (-2, 6, -5, 3), (-1.5, 2.5), "((x*X + y - Y)**2).mean()", (data.least_squares(),),
        note=_("A real data set: batch GD uses all points per step, mini-batch GD a random subset, SGD one "
               "point. Smaller batches give noisier steps around the same minimum."),
        params={"count": float(count), "noise": float(noise), "seed": float(seed)},
    )
    surface.data = data  # type: ignore[attr-defined]
    return surface
