"""The panel registry and the base class every panel derives from.

A panel appears in the main window only when its module exists, so there are no placeholder panels:
adding a panel means adding its module (the registry line is already here).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class PanelInfo:
    panel_id: str
    title: str
    module: str
    class_name: str
    needs_torch: bool  # created only once the background torch import has finished

    def exists(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False

    def load_class(self) -> type["Panel"]:
        return getattr(importlib.import_module(self.module), self.class_name)


PANELS: tuple[PanelInfo, ...] = (
    PanelInfo("optimizer", "Optimizer Lab", "visionlab.qt.panels.optimizer_panel", "OptimizerPanel", False),
    PanelInfo("training", "Training Monitor", "visionlab.qt.panels.training_panel", "TrainingPanel", True),
    PanelInfo("features", "Feature Maps", "visionlab.qt.panels.features_panel", "FeaturesPanel", True),
    PanelInfo("camera", "Live Camera", "visionlab.qt.panels.camera_panel", "CameraPanel", True),
)


def available_panels() -> list[PanelInfo]:
    return [info for info in PANELS if info.exists()]


def panel_info(panel_id: str) -> PanelInfo:
    for info in available_panels():
        if info.panel_id == panel_id:
            return info
    known = ", ".join(info.panel_id for info in available_panels())
    raise KeyError(f"unknown panel '{panel_id}' (available: {known})")


class Panel(QWidget):
    """Base class of the main window's panels.

    The main window calls `panel_shown` / `panel_hidden` when the user switches panels (the camera stops
    streaming while hidden), `shutdown` from its closeEvent (stop every thread, within about 2 s), and the
    settings hooks with a QSettings already inside the panel's own group.
    """

    panel_id = ""
    title = ""

    def panel_shown(self) -> None:
        pass

    def panel_hidden(self) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def save_settings(self, settings: QSettings) -> None:
        pass

    def restore_settings(self, settings: QSettings) -> None:
        pass

    def prepare_screenshot(self) -> None:
        """Put the panel in a state worth showing (a race run halfway, a frame with overlays...)."""

    def screenshot_ready(self) -> bool:
        """True once `prepare_screenshot`'s state is on screen (polled by `visionlab screenshot`)."""
        return True
