"""Each panel's lesson hooks (`visionlab/qt/<panel>/lesson_hooks.py`), found by panel id.

A hooks module has `apply_state(panel, state)`, `snapshot(panel) -> dict` (cheap, read on the GUI thread)
and `widget(panel, key) -> QWidget | None` (what "what to notice" points at).
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)


def hooks_for(panel_id: str) -> ModuleType | None:
    name = f"visionlab.qt.{panel_id}.lesson_hooks"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def apply_state(panel_id: str, panel: QWidget, state: dict[str, Any]) -> None:
    hooks = hooks_for(panel_id)
    if hooks is not None:
        hooks.apply_state(panel, state)


def snapshot(panel_id: str, panel: QWidget) -> dict[str, Any] | None:
    hooks = hooks_for(panel_id)
    return None if hooks is None else dict(hooks.snapshot(panel))


def widget(panel_id: str, panel: QWidget, key: str) -> QWidget | None:
    hooks = hooks_for(panel_id)
    return None if hooks is None or not key else hooks.widget(panel, key)
