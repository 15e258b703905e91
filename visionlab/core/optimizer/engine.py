"""Runs a race: several optimizers from the same start on one surface, each path recorded.

Also builds the per-step gradient each racer sees: the exact gradient, a mini-batch gradient on the
regression data, or the exact gradient plus seeded Gaussian noise of scale σ/√batch (mini-batch-like
noise on analytic surfaces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from visionlab.core.i18n import N_, _
from visionlab.core.optimizer.data_surface import BatchGradient
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.mathns import ARRAY, SCALAR
from visionlab.core.optimizer.surfaces import Bounds, Surface
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

    def title(self, english: bool = False) -> str:
        """The racer's name as shown (in the app's language; `english`: the source text, for ASCII-only labels)."""
        if self.label:
            return self.label if english else _(self.label)
        name = OPTIMIZERS[self.key].name
        if not self.batch_size:
            return name
        template = "{name} (batch {size})" if english else _("{name} (batch {size})")
        return template.format(name=name, size=self.batch_size)


# The kinds of RacerStatus. Leaving the view is not a failure: on a surface with no bottom (the saddle) it is
# the point, and a path may come back. Only DIVERGED (NaN, overflow, running away uphill) is one.
# The kinds are also shown (translated with _()) where a status's sentence does not fit.
OK, LEFT_VIEW, ESCAPED, DIVERGED = N_("ok"), N_("left the view"), N_("escaped"), N_("diverged")
# The start itself is where f (or its gradient) is undefined (log(x) at x < 0): no step is taken, and it is not
# a divergence: the student is to click a defined point.
UNDEFINED_START = N_("undefined start")


@dataclass(frozen=True)
class RacerStatus:
    """What the values table and the message line say about one racer at one step."""

    kind: str  # OK, LEFT_VIEW, ESCAPED, DIVERGED or UNDEFINED_START
    text: str  # the words to show, e.g. "left the view at step 79"
    step: int | None = None  # the step it left the view (LEFT_VIEW, ESCAPED) or stopped (DIVERGED)

    @property
    def failed(self) -> bool:
        return self.kind == DIVERGED


@dataclass
class Trajectory:
    racer: Racer
    xs: np.ndarray  # positions, index 0 is the start
    ys: np.ndarray
    losses: np.ndarray
    stopped_at: int | None = None  # the first step not recorded (NaN, overflow, |θ| past the limit); None: all ran
    reason: str = ""  # why it stopped: "NaN", "ran away", "overflow", ...
    bounds: Bounds | None = None  # the surface's view; None counts every point as inside
    escaped: bool = False  # it stopped running downhill, below every loss in the view: no bottom, not a failure
    undefined_start: str = ""  # why f is undefined at the start (no step taken), "" where it is defined

    @property
    def steps_done(self) -> int:
        return len(self.xs) - 1

    @property
    def diverged_at(self) -> int | None:
        """The step the path failed, or None (an escape down a bottomless surface is not a failure)."""
        return None if self.escaped or self.undefined_start else self.stopped_at

    @cached_property
    def in_view(self) -> np.ndarray:
        """One bool per recorded position: inside the surface's bounds (the default view of the map)."""
        if self.bounds is None:
            return np.ones(len(self.xs), dtype=bool)
        x_min, x_max, y_min, y_max = self.bounds
        return (self.xs >= x_min) & (self.xs <= x_max) & (self.ys >= y_min) & (self.ys <= y_max)

    @property
    def left_view_at(self) -> int | None:
        """The first step outside the view (the loss plot can stop there), or None."""
        outside = np.flatnonzero(~self.in_view)
        return int(outside[0]) if len(outside) else None

    def outcome(self, step: int | None = None) -> RacerStatus:
        """The racer's status at `step` (default: the end of its path)."""
        if self.undefined_start:
            return RacerStatus(UNDEFINED_START, _("start where f is undefined"), 0)
        stopped = self.stopped_at is not None and (step is None or step >= self.stopped_at)
        if stopped and self.escaped:
            left = self.left_view_at if self.left_view_at is not None else self.stopped_at
            # the same words as LEFT_VIEW, and why this path is no longer followed
            return RacerStatus(ESCAPED, _("left the view at step {step}, downhill (no bottom): not followed "
                                          "further").format(step=left), left)
        if stopped:
            text = (_("diverged at step {step} ({reason})").format(step=self.stopped_at, reason=_(self.reason))
                    if self.reason else _("diverged at step {step}").format(step=self.stopped_at))
            return RacerStatus(DIVERGED, text, self.stopped_at)
        k = self.steps_done if step is None else max(0, min(int(step), self.steps_done))
        if self.in_view[k]:
            return RacerStatus(OK, _("ok"))
        inside = np.flatnonzero(self.in_view[:k])
        left = int(inside[-1]) + 1 if len(inside) else 0  # the start of the excursion it is on now
        return RacerStatus(LEFT_VIEW, _("left the view at step {step}").format(step=left), left)

    def status(self, step: int | None = None) -> str:
        return self.outcome(step).text


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
    undefined = surface.undefined_reason(float(start[0]), float(start[1]))
    if undefined:  # no step from where f is undefined: not a divergence, a start to move
        xs0, ys0 = np.array([float(start[0])]), np.array([float(start[1])])
        return Trajectory(racer, xs0, ys0, surface.loss_along(xs0, ys0), None, "", surface.bounds,
                          undefined_start=undefined)
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
                reason = "NaN" if x != x or y != y else N_("ran away")  # kept in English, shown with _()
                break
            append_x(x)
            append_y(y)
    except (OverflowError, ZeroDivisionError, ValueError) as exc:
        diverged_at = len(xs)
        reason = {"OverflowError": N_("overflow"), "ZeroDivisionError": N_("division by zero")}.get(
            type(exc).__name__, N_("outside the function's domain"))
    px, py = np.asarray(xs), np.asarray(ys)
    losses = surface.loss_along(px, py)
    escaped = reason == "ran away" and _below_the_view(surface, float(losses[-1]))
    return Trajectory(racer, px, py, losses, diverged_at, reason, surface.bounds, escaped)


def _below_the_view(surface: Surface, loss: float) -> bool:
    """True if `loss` is below everything in the view: a path that ran away to there went downhill on a
    surface with no bottom (x² − y²), not uphill as too large a step does."""
    values = surface.grid(64)[2]
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and math.isfinite(loss) and loss < float(finite.min())


def run_race(surface: Surface, racers: list[Racer], start: tuple[float, float], steps: int, *, seed: int = 0,
             noise: bool = False, noise_scale: float = 1.0) -> list[Trajectory]:
    return [run_racer(surface, r, start, steps, seed=seed, noise=noise, noise_scale=noise_scale) for r in racers]


def trace_step(surface: Surface, racer: Racer, start: tuple[float, float], step: int, *, seed: int = 0,
               noise: bool = False, noise_scale: float = 1.0) -> dict | None:
    """The optimizer's internals at `step` (1-based), for internals.describe.

    The update rule's trace (torch's state under torch's names, the step's intermediates), plus "before" and
    "after" (the parameter around this step) and "source": where g came from, decided as make_gradient
    decides it ("exact"; "noisy" with σ/√batch; "mini-batch" of the data). A noisy or mini-batch g comes
    with "exact_grad", the noise-free full-data gradient at the same point, so the text can show both.
    "sensitivity": how far the path up to `step` moves under a 1e-12 disturbance (see _sensitivity); more
    than CHAOS_THRESHOLD means chaotic. It costs two more runs of the path (≈2.6 ms for 1000 steps).
    """
    if step < 1:
        return None
    grad = make_gradient(surface, racer.batch_size, step, seed, noise, noise_scale)
    before = after = (float(start[0]), float(start[1]))
    info = None
    path = [after]
    try:
        for x, y, traced in make_update_rule(racer.key, grad, before[0], before[1], step, racer.settings(),
                                             SCALAR, trace=True):
            before, after, info = after, (x, y), traced  # only the last step's trace is not None
            path.append(after)
        if info is None:
            return None
        info["before"], info["after"] = before, after
        info["sensitivity"] = _sensitivity(path, racer, surface, step, seed, noise, noise_scale)
        data = getattr(surface, "data", None)
        if data is not None and 0 < racer.batch_size < len(data.x):
            info["source"] = {"kind": "mini-batch", "batch": racer.batch_size, "count": len(data.x)}
        elif noise and racer.batch_size > 0:
            info["source"] = {"kind": "noisy", "batch": racer.batch_size, "sigma": noise_scale,
                              "scale": noise_scale / math.sqrt(racer.batch_size)}
        else:
            info["source"] = {"kind": "exact"}
        if info["source"]["kind"] != "exact":
            info["exact_grad"] = surface.grad(before[0], before[1], SCALAR)
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return info


# A path is chaotic when a disturbance of PERTURBATION moves it by more than CHAOS_THRESHOLD: then last-bit
# rounding differences (torch's FMA kernels, autograd's gradient against our analytic one) can part it from
# torch.optim's. Two disturbances: the start moved (each coordinate), and jitter, every gradient taken at
# θ ± PERTURBATION (seeded random signs per step and axis), the way rounding differs at every step. The
# jitter matters because a path that first converges forgets a moved start bit for bit, and may amplify
# rounding only later (RMSprop at a minimum, where √G shrinks until the minimum is unstable). (Moving the
# whole surface instead would be a moved start in disguise: the rules do not see a translation.)
PERTURBATION, CHAOS_THRESHOLD, JITTER_SEED = 1e-12, 1e-6, 12345


def jitter_signs(steps: int) -> np.ndarray:
    """(steps, 2) of ±1: the jitter's direction at each step, the same for the engine and torch."""
    return np.random.default_rng(JITTER_SEED).choice((-1.0, 1.0), size=(steps, 2))


def _sensitivity(path: list, racer: Racer, surface: Surface, steps: int, seed: int, noise: bool,
                 noise_scale: float) -> float:
    """How far the path up to `steps` moves under the disturbances above (inf if a disturbed one fails)."""
    base = make_gradient(surface, racer.batch_size, steps, seed, noise, noise_scale)
    shifts = (jitter_signs(steps) * PERTURBATION).tolist()

    def jittered(x, y, t):
        dx, dy = shifts[t - 1]
        return base(x + dx, y + dy, t)

    x0, y0 = path[0]
    reference = np.asarray(path, dtype=float)
    largest = PERTURBATION
    for sx, sy, grad in ((x0 + PERTURBATION, y0 + PERTURBATION, base), (x0, y0, jittered)):
        disturbed = [(sx, sy)]
        try:  # collected, then compared at once: a per-step comparison costs as much as the step itself
            disturbed.extend(make_update_rule(racer.key, grad, sx, sy, steps, racer.settings(), SCALAR))
        except (OverflowError, ZeroDivisionError, ValueError):
            return math.inf
        with np.errstate(all="ignore"):
            gap = float(np.abs(np.asarray(disturbed, dtype=float) - reference).max())
        if not math.isfinite(gap):  # NaN or inf: the disturbed path failed
            return math.inf
        largest = max(largest, gap)
    return largest


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
