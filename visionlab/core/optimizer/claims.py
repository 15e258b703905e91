"""A claim about a race, as data, and the measurements on paths that claims are made of.

A Claim is what the student should see (`expectation`), a sentence filled from the run's numbers
(`measured`), the function that computes those numbers from the trajectories, and the test that decides
whether the run shows it. Stories (stories.py) are lists of claims; tests and the Lessons evaluate them.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.optimizer.engine import Trajectory

Numbers = dict[str, Any]
SETTLED_STEP = 1e-3  # a racer whose last 10 steps are all shorter than this has stopped moving


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return _("(none)") if value is None else super().format_field(value, format_spec)


_FORMAT = _Formatter()


@dataclass(frozen=True)
class Claim:
    expectation: str  # what the student should see, in words only: "momentum escapes sooner than SGD" (N_)
    measured: str  # a template filled from numbers(): "momentum left the view at step {momentum}" (N_)
    numbers: Callable[[Sequence[Trajectory]], Numbers]
    holds: Callable[[Numbers], bool]  # decides, from the numbers, whether this run shows it

    def check(self, trajectories: Sequence[Trajectory]) -> bool:
        return bool(self.holds(self.numbers(trajectories)))

    def sentence(self, trajectories: Sequence[Trajectory]) -> str:
        """The claim with this run's numbers; one that the run does not show says so instead."""
        values = self.numbers(trajectories)
        expectation = _(self.expectation)
        measured = _FORMAT.format(_(self.measured), **values)
        if self.holds(values):  # "η = 0.05 ..." keeps its η: only a Latin first letter is capitalised
            first = expectation[0].upper() if expectation[0].isascii() else expectation[0]
            return f"{first}{expectation[1:]}: {measured}."
        return _("Expected: {expectation}; not on this run: {measured}.").format(expectation=expectation,
                                                                                 measured=measured)


# --- measurements on one path ----------------------------------------------------------------------------

def step_lengths(t: Trajectory) -> np.ndarray:
    return np.hypot(np.diff(t.xs), np.diff(t.ys))


def turns_back(t: Trajectory) -> int:
    """Steps that reverse the previous one (an angle over 90°): the zig-zags of a bouncing path."""
    dx, dy = np.diff(t.xs), np.diff(t.ys)
    return int(np.sum(dx[1:] * dx[:-1] + dy[1:] * dy[:-1] < 0))


def loss_rises(t: Trajectory) -> int:
    """Steps on which the loss went up: what the loss plot shows as a rise (0 for a path that only descends)."""
    finite = t.losses[np.isfinite(t.losses)]
    return int(np.sum(np.diff(finite) > 0))


def passes(t: Trajectory, point: tuple[float, float]) -> int:
    """How often the path crosses `point`'s x or y coordinate: overshoots of a minimum at `point`, per axis."""
    return int(np.sum(np.diff(np.sign(t.xs - point[0])) != 0) + np.sum(np.diff(np.sign(t.ys - point[1])) != 0))


def distance_to(t: Trajectory, point: tuple[float, float], last: int = 1) -> float:
    """Distance from `point` to the mean of the last `last` positions."""
    return math.hypot(float(t.xs[-last:].mean()) - point[0], float(t.ys[-last:].mean()) - point[1])


def spread(t: Trajectory, last: int = 100) -> float:
    """RMS distance of the last `last` positions from their mean: how much the path still jitters."""
    xs, ys = t.xs[-last:], t.ys[-last:]
    return float(np.sqrt(np.mean((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2)))


def settled(t: Trajectory) -> bool:
    return t.steps_done >= 10 and bool((step_lengths(t)[-10:] < SETTLED_STEP).all())


def end(t: Trajectory) -> tuple[float, float]:
    return float(t.xs[-1]), float(t.ys[-1])


def at_step(step: int | None, steps: int) -> str:
    return _("at step {step}").format(step=step) if step is not None else _("not within {steps} steps").format(
        steps=steps)


def listing(pairs: Sequence[tuple[str, float]], spec: str = ".2f") -> str:
    return ", ".join(f"{name} {value:{spec}}" for name, value in pairs)
