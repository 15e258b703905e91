"""The Optimizer Lab's lesson claims and the live numbers its tasks read.

A claim runs the preset the lesson opens, through the same LabConfig the panel runs, and tells each of the
preset's own claims (stories.py) with that run's numbers; where the lesson names an update rule, the app's
path is also compared with torch.optim's (torch_reference.py) on the same surface and start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.lessons.model import Checked
from visionlab.core.optimizer.claims import distance_to, spread, turns_back
from visionlab.core.optimizer.engine import Trajectory
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.presets import PRESETS_BY_KEY

TORCH_STEPS = 300  # enough steps to show the paths agree; the whole preset would cost seconds in torch
TORCH_TOLERANCE = 1e-6


def preset_claims(preset_key: str, torch_racer: int | None = None) -> Callable[[], list[Checked]]:
    """The claims of `preset_key` on its own run; with `torch_racer`, that racer's path against torch.optim."""

    def claims() -> list[Checked]:
        preset = PRESETS_BY_KEY[preset_key]
        config = LabConfig.from_preset(preset)
        trajectories = config.run()
        results = [Checked(f"{preset_key}.{index}", claim.sentence(trajectories), claim.check(trajectories))
                   for index, claim in enumerate(preset.claims)]
        if torch_racer is not None:
            results.append(_against_torch(config, trajectories[torch_racer]))
        return results

    return claims


def _against_torch(config: LabConfig, trajectory: Trajectory) -> Checked:
    from visionlab.core.optimizer.torch_reference import torch_path

    steps = min(TORCH_STEPS, trajectory.steps_done)
    reference = torch_path(config.make_surface(), trajectory.racer, config.start, steps)
    ours = np.stack([trajectory.xs[:steps + 1], trajectory.ys[:steps + 1]], axis=1)
    gap = float(np.max(np.abs(ours - reference)))
    return Checked(f"torch.{trajectory.racer.key}", _(
        "The path of {name} drawn here is torch.optim's own: over {steps} steps the two differ by at most "
        "{gap:.1e}.").format(name=trajectory.racer.title(), steps=steps, gap=gap), gap <= TORCH_TOLERANCE,
        {"gap": gap, "steps": steps})


def racer_numbers(trajectories: Sequence[Trajectory], surface: str) -> list[dict[str, Any]]:
    """Per racer, what the tasks read: its settings and a few measurements of the path on screen."""
    numbers = []
    for t in trajectories:
        last = (float(t.xs[-1]), float(t.ys[-1]))
        numbers.append({
            "key": t.racer.key, "title": t.racer.title(), "hp": dict(t.racer.settings()),
            "batch": t.racer.batch_size, "steps": t.steps_done, "left_view_at": t.left_view_at,
            "diverged_at": t.diverged_at, "turns_back": turns_back(t), "spread": spread(t) if t.steps_done else 0.0,
            "end": last, "from_origin": math.hypot(*last),
            "to_one_one": distance_to(t, (1.0, 1.0)) if surface == "rosenbrock" else None,
            "to_flat": distance_to(t, (-1.1, 0.0)) if surface == "sharp_flat" else None,
        })
    return numbers


def racers_of(snapshot: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return [racer for racer in snapshot.get("racers", []) if racer["key"] == key]
