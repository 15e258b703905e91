"""Does the engine's path equal torch.optim's, and where it does not, is the path chaotic?

The update rules follow torch's operation order (update_rules.py), but torch's vectorised CPU kernels fuse
a·b + c into one rounding (FMA) and autograd's gradient can differ from our analytic one in the last bit.
On most paths those 1e-16 differences stay 1e-16. On a chaotic path (an oscillation across a narrow valley
that can flip either way) any last-bit difference grows until the two paths part. So each path is
measured twice: engine against torch.optim, and torch.optim against itself disturbed by 1e-12: the start
moved (each coordinate), or jitter (every gradient taken at θ ± 1e-12, seeded signs), the way rounding
differs at every step. A path that first converges forgets a moved start bit for bit and may amplify
rounding only later (RMSprop at a minimum, where √G shrinks until the minimum turns unstable).
A path is chaotic when a disturbance moves torch's own path by more than CHAOS_THRESHOLD (1e-6): there no
implementation can promise to follow torch's, not even torch on another CPU.

The paths differ only by rounding: fed the engine's analytic gradient, torch.optim.step() follows the
engine's path to the last bit or so (the bench reports max_abs_diff_fed_same_gradient).

"Every path" is every racer of every preset over its own step count, and all ten optimizers at their
defaults on every built-in surface (the custom one excluded) from the surface's start over 1000 steps.
torch is imported lazily (through torch_reference); the GUI never calls this (the bench and tests do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from visionlab.core.optimizer.catalog import SURFACE_KEYS, get_surface
from visionlab.core.optimizer.engine import CHAOS_THRESHOLD, PERTURBATION, Racer, run_racer
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.presets import PRESETS
from visionlab.core.optimizer.surfaces import Surface
from visionlab.core.optimizer.torch_reference import torch_path

DEFAULT_STEPS = 1000  # the ten optimizers at defaults on each surface


@dataclass(frozen=True)
class PathCase:
    """One path to compare: a racer on a surface from a start, as the lab runs it."""

    name: str  # "preset/racer" or "surface/optimizer"
    surface: Surface
    racer: Racer
    start: tuple[float, float]
    steps: int
    run_options: dict = field(default_factory=dict)  # seed, noise, noise_scale


@dataclass(frozen=True)
class PathComparison:
    name: str
    steps: int  # steps compared (the engine's recorded steps: a diverged path stops where it stopped)
    max_abs_diff: float  # engine against torch.optim, over every compared step (inf if one is not finite)
    torch_sensitivity: float  # torch against torch from the moved start, same steps
    # None: torch.optim cannot run it (Adam without bias correction is the lab's own teaching switch)
    skipped: str = ""

    @property
    def chaotic(self) -> bool:
        return self.torch_sensitivity > CHAOS_THRESHOLD


def preset_paths() -> list[PathCase]:
    cases = []
    for preset in PRESETS:
        config = LabConfig.from_preset(preset)
        surface = config.make_surface()
        options = {"seed": config.seed, "noise": config.noise, "noise_scale": config.noise_scale}
        for racer in config.racers:
            cases.append(PathCase(f"{preset.key}/{racer.title()}", surface, racer, config.start, config.steps,
                                  options))
    return cases


def default_paths(steps: int = DEFAULT_STEPS) -> list[PathCase]:
    cases = []
    for key in SURFACE_KEYS:
        if key == "custom":
            continue
        surface = get_surface(key)
        for optimizer in OPTIMIZERS:
            cases.append(PathCase(f"{key}/{optimizer}", surface, Racer(optimizer), surface.start, steps))
    return cases


def every_path() -> list[PathCase]:
    return preset_paths() + default_paths()


def _largest_gap(a: np.ndarray, b: np.ndarray) -> float:
    gap = np.abs(a - b)
    return float(gap.max()) if np.isfinite(gap).all() else float("inf")


def compare(case: PathCase) -> PathComparison:
    """The engine's path against torch.optim's, and how far torch's own path moves under the disturbances
    of engine.py (the start moved by 1e-12; every gradient's point jittered by ±1e-12)."""
    traj = run_racer(case.surface, case.racer, case.start, case.steps, **case.run_options)
    ours = np.stack([traj.xs, traj.ys], axis=1)
    compared = len(ours) - 1
    try:
        theirs = torch_path(case.surface, case.racer, case.start, compared, **case.run_options)
    except ValueError as exc:
        return PathComparison(case.name, compared, float("nan"), float("nan"), skipped=str(exc))
    moved_start = (case.start[0] + PERTURBATION, case.start[1] + PERTURBATION)
    disturbed = [torch_path(case.surface, case.racer, moved_start, compared, **case.run_options)]
    disturbed.append(torch_path(case.surface, case.racer, case.start, compared, jitter=PERTURBATION,
                                **case.run_options))
    sensitivity = max(_largest_gap(theirs, other) for other in disturbed)
    return PathComparison(case.name, compared, _largest_gap(ours, theirs), sensitivity)


def compare_all(cases: Iterable[PathCase], progress: Callable[[int, int], None] | None = None,
                ) -> list[PathComparison]:
    cases = list(cases)
    results = []
    for index, case in enumerate(cases):
        results.append(compare(case))
        if progress is not None:
            progress(index + 1, len(cases))
    return results


def summarize(results: list[PathComparison]) -> dict:
    """The bench's fields: the largest difference on regular (non-chaotic) paths, on all, and the chaotic."""
    measured = [r for r in results if not r.skipped]
    regular = [r.max_abs_diff for r in measured if not r.chaotic]
    return {
        "paths": len(measured),
        "max_abs_diff_regular": max(regular, default=0.0),
        "max_abs_diff": max((r.max_abs_diff for r in measured), default=0.0),
        "chaotic": [r.name for r in measured if r.chaotic],
        "skipped": [f"{r.name} ({r.skipped})" for r in results if r.skipped],
    }
