"""Runs a race: several optimizers from the same start on one surface, each path recorded.

Also builds the per-step gradient each racer sees: the exact gradient, a mini-batch gradient on the
regression data, or the exact gradient plus seeded Gaussian noise of scale σ/√batch (mini-batch-like
noise on analytic surfaces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visionlab.core.optimizer.data_surface import BatchGradient
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.mathns import ARRAY, SCALAR
from visionlab.core.optimizer.surfaces import Surface
from visionlab.core.optimizer.update_rules import Grad, make_update_rule

MAX_STEPS = 100_000


@dataclass
class Racer:
    key: str  # optimizer key in OPTIMIZERS
    hp: dict[str, float] = field(default_factory=dict)
    batch_size: int = 0  # 0: full batch (exact gradient); else mini-batch size (data) or noise level (analytic)
    label: str = ""

    def settings(self) -> dict[str, float]:
        return {**OPTIMIZERS[self.key].defaults(), **self.hp}

    def title(self) -> str:
        if self.label:
            return self.label
        name = OPTIMIZERS[self.key].name
        return f"{name} (batch {self.batch_size})" if self.batch_size else name


@dataclass
class Trajectory:
    racer: Racer
    xs: np.ndarray  # positions, index 0 is the start
    ys: np.ndarray
    losses: np.ndarray
    diverged_at: int | None = None
    reason: str = ""

    @property
    def steps_done(self) -> int:
        return len(self.xs) - 1

    def status(self) -> str:
        if self.diverged_at is None:
            return "ok"
        return f"diverged at step {self.diverged_at}" + (f" ({self.reason})" if self.reason else "")


def make_gradient(surface: Surface, batch_size: int, steps: int, seed: int = 0, noise: bool = False,
                  noise_scale: float = 1.0, xp=SCALAR, paths: int | None = None) -> Grad:
    """grad(x, y, t) for step t (1-based). `paths` gives independent noise to each of many paths."""
    data = getattr(surface, "data", None)
    if data is not None and 0 < batch_size < len(data.x):
        return BatchGradient(data, batch_size, steps, seed)
    exact = surface.grad
    if noise and batch_size > 0:
        sigma = noise_scale / math.sqrt(batch_size)
        rng = np.random.default_rng(seed)
        shape = (steps, 2) if paths is None else (steps, 2, paths)
        draws = rng.standard_normal(shape) * sigma
        if paths is None:
            nx, ny = draws[:, 0].tolist(), draws[:, 1].tolist()
        else:
            nx, ny = draws[:, 0], draws[:, 1]

        def noisy(x, y, t):
            gx, gy = exact(x, y, xp)
            return gx + nx[t - 1], gy + ny[t - 1]
        return noisy
    return lambda x, y, t: exact(x, y, xp)


def run_racer(surface: Surface, racer: Racer, start: tuple[float, float], steps: int, *, seed: int = 0,
              noise: bool = False, noise_scale: float = 1.0) -> Trajectory:
    steps = int(min(max(steps, 0), MAX_STEPS))
    grad = make_gradient(surface, racer.batch_size, steps, seed, noise, noise_scale)
    xs, ys = [float(start[0])], [float(start[1])]
    diverged_at, reason = None, ""
    limit = surface.divergence_limit
    rule = make_update_rule(racer.key, grad, xs[0], ys[0], steps, racer.settings(), SCALAR)
    append_x, append_y = xs.append, ys.append
    try:
        for x, y in rule:
            if not (-limit < x < limit and -limit < y < limit):  # also false for NaN
                diverged_at = len(xs)
                reason = "NaN" if x != x or y != y else "ran away"
                break
            append_x(x)
            append_y(y)
    except (OverflowError, ZeroDivisionError, ValueError) as exc:
        diverged_at = len(xs)
        reason = {"OverflowError": "overflow", "ZeroDivisionError": "division by zero"}.get(
            type(exc).__name__, "outside the function's domain")
    px, py = np.asarray(xs), np.asarray(ys)
    return Trajectory(racer, px, py, surface.loss_along(px, py), diverged_at, reason)


def run_race(surface: Surface, racers: list[Racer], start: tuple[float, float], steps: int, *, seed: int = 0,
             noise: bool = False, noise_scale: float = 1.0) -> list[Trajectory]:
    return [run_racer(surface, r, start, steps, seed=seed, noise=noise, noise_scale=noise_scale) for r in racers]


def trace_step(surface: Surface, racer: Racer, start: tuple[float, float], step: int, *, seed: int = 0,
               noise: bool = False, noise_scale: float = 1.0) -> dict | None:
    """The optimizer's internals (gradient, velocity, moments, effective rates...) at `step` (1-based)."""
    if step < 1:
        return None
    grad = make_gradient(surface, racer.batch_size, step, seed, noise, noise_scale)
    info = None
    prev = (float(start[0]), float(start[1]))
    try:
        rule = make_update_rule(racer.key, grad, prev[0], prev[1], step, racer.settings(), SCALAR, trace=True)
        for x, y, info in rule:
            info["before"], info["after"] = prev, (x, y)
            prev = (x, y)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return info


def run_many(surface: Surface, racer: Racer, starts_x: np.ndarray, starts_y: np.ndarray, steps: int, *,
             lr: np.ndarray | None = None, seed: int = 0, noise: bool = False, noise_scale: float = 1.0):
    """Many paths at once (numpy): yields (t, x, y) arrays after each step. `lr` may be an array."""
    hp: dict[str, Any] = racer.settings()  # "lr" may become an array, one rate per path
    if lr is not None:
        hp["lr"] = lr
    grad = make_gradient(surface, racer.batch_size, steps, seed, noise, noise_scale, ARRAY, paths=len(starts_x))
    x0 = np.array(starts_x, dtype=float)
    y0 = np.array(starts_y, dtype=float)
    with np.errstate(all="ignore"):
        for t, (x, y) in enumerate(make_update_rule(racer.key, grad, x0, y0, steps, hp, ARRAY), start=1):
            yield t, x, y
