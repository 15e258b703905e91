"""The Live Camera's lesson hooks: choose the model (loaded by its own job) and the tab; read what was analysed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QWidget

from visionlab.core.camera.inside_model import RCNNInside, SegmentationInside


def _tabs(panel) -> dict[str, QWidget]:
    return {"live": panel.tabs.widget(0), "inside": panel.inside_view, "proposals": panel.proposals_view}


def apply_state(panel, state: Mapping[str, Any]) -> None:
    model = state.get("model")
    # The model being loaded counts, not the one still running (the model box shows the one asked for).
    loading = panel.models.jobs.is_pending("load")
    current = panel.controls.model_combo.currentData() if loading else (
        panel.detector.name if panel.detector is not None else None)
    if model and model != current:
        panel.select_model(model)
    tab = _tabs(panel).get(state.get("tab", "live"))
    if tab is not None:
        panel.tabs.setCurrentWidget(tab)


def snapshot(panel) -> dict[str, Any]:
    inside = panel.inside_view.inside
    kind = "rcnn" if isinstance(inside, RCNNInside) else "segmentation" if isinstance(inside, SegmentationInside) \
        else None
    current = next((name for name, tab in _tabs(panel).items() if panel.tabs.currentWidget() is tab), "other")
    return {"model": panel.detector.name if panel.detector is not None else None, "tab": current, "inside": kind,
            "proposals": panel.proposals_view.run is not None,
            "roi_compared": panel.proposals_view.comparison is not None}


def widget(panel, key: str) -> QWidget | None:
    return {"view": panel.view, "inside": panel.inside_view, "proposals": panel.proposals_view,
            "model": panel.controls.model_combo}.get(key)
