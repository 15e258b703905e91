"""The Optimizer Lab's lesson hooks: open a preset, read the race on screen, point at a widget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QWidget

from visionlab.core.lessons.optimizer_claims import racer_numbers
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.presets import PRESETS_BY_KEY


def apply_state(panel, state: Mapping[str, Any]) -> None:
    """Load the lesson's preset exactly as choosing it in the preset box does, on the map tab."""
    preset = state.get("preset")
    if preset:
        controls = panel.controls
        controls.load_config(LabConfig.from_preset(PRESETS_BY_KEY[preset]))
        controls.preset_loaded.emit()
    if "select" in state:  # the racer the task is about, so its settings (α, β1, batch…) are the ones shown
        panel.controls.racer_list.setCurrentRow(int(state["select"]))
    panel.tabs.setCurrentWidget(panel.map)


def snapshot(panel) -> dict[str, Any]:
    """The race on screen: its preset and surface, each racer's settings and measurements (cached per race)."""
    trajectories = getattr(panel, "trajectories", None) or []
    cached = getattr(panel, "_lesson_numbers", None)
    if cached is None or cached[0] is not trajectories:
        cached = (trajectories, racer_numbers(trajectories, panel.config.surface))
        panel._lesson_numbers = cached
    return {"preset": panel.config.preset, "surface": panel.config.surface, "racers": cached[1]}


def widget(panel, key: str) -> QWidget | None:
    return {"map": panel.map, "story": panel.controls.story, "racers": panel.controls.racer_list,
            "loss": panel.side.loss, "sharp_flat": panel.sharp_flat}.get(key)
