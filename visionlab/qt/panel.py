"""The base class every panel derives from, and the panel registry (kept Qt-free in `registry.py`).

A panel appears in the main window only when its module exists, so there are no placeholder panels:
adding a panel means adding its module and one line in `registry.PANELS`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from visionlab.qt.registry import PANEL_IDS, PANELS, PanelInfo, available_panels, panel_info

__all__ = ["PANEL_IDS", "PANELS", "Panel", "PanelInfo", "available_panels", "panel_info"]


class Panel(QWidget):
    """Base class of the main window's panels.

    The main window calls `panel_shown` / `panel_hidden` when the user switches panels (the camera stops
    streaming while hidden), `shutdown` from its closeEvent (stop every thread, within about 2 s), and the
    settings hooks with a QSettings already inside the panel's own group.
    """

    @property
    def info(self) -> PanelInfo:
        """This panel's registry entry (its id and title are written only there)."""
        return next(info for info in PANELS if info.class_name == type(self).__name__)

    @property
    def panel_id(self) -> str:
        return self.info.panel_id

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
