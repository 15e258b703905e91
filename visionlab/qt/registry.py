"""The one registry of panels: ids, titles, and where each panel's class lives.

Plain data with no Qt import, so the command line can offer `--panel` choices (and `visionlab bench ...`
can run on a machine without PySide6) before any Qt module loads. The ids are the project's vocabulary:
each names a folder in `core/`, `qt/` and `tests/`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from visionlab.core.i18n import N_


@dataclass(frozen=True)
class PanelInfo:
    panel_id: str
    title: str  # N_() marked: translated where shown
    module: str
    class_name: str
    needs_torch: bool  # created only once the background torch import has finished

    def exists(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False

    def load_class(self) -> Any:
        return getattr(importlib.import_module(self.module), self.class_name)


PANELS: tuple[PanelInfo, ...] = (
    PanelInfo("optimizer", N_("Optimizer Lab"), "visionlab.qt.optimizer.panel", "OptimizerPanel", False),
    PanelInfo("training", N_("Training Monitor"), "visionlab.qt.training.panel", "TrainingPanel", True),
    PanelInfo("features", N_("Feature Maps"), "visionlab.qt.features.panel", "FeaturesPanel", True),
    PanelInfo("camera", N_("Live Camera"), "visionlab.qt.camera.panel", "CameraPanel", True),
)
PANEL_IDS: tuple[str, ...] = tuple(info.panel_id for info in PANELS)


def available_panels() -> list[PanelInfo]:
    return [info for info in PANELS if info.exists()]


def panel_info(panel_id: str) -> PanelInfo:
    for info in available_panels():
        if info.panel_id == panel_id:
            return info
    known = ", ".join(info.panel_id for info in available_panels())
    raise KeyError(f"unknown panel '{panel_id}' (available: {known})")
