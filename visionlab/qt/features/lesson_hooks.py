"""Feature Maps' lesson hooks: open a model on a layer, or the convolution explainer in one of its modes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QWidget


def apply_state(panel, state: Mapping[str, Any]) -> None:
    """Open the model (a background job) on the lesson's layer, then show the lesson's tab and mode."""
    model, layer = state.get("model"), state.get("layer")
    # The model on its way counts, not the one still on screen: a lesson opened while another model loads
    # would otherwise keep that one.
    if panel.jobs.is_pending("model"):
        current = getattr(panel, "_lesson_model", None)
    else:
        current = panel.opened.loaded.name if panel.opened is not None else None
    if model and model != current:
        if layer:
            panel.layer_on_open[model] = layer  # chosen when this model opens, not by the one loading now
        panel._lesson_model = model
        panel.open_model(model)
    elif layer:
        panel.tree.select(layer)
    explainer = panel.explainer
    if state.get("tab") == "explainer":
        panel.centre_tabs.setCurrentWidget(explainer)
        if "mode" in state:
            explainer.mode.setCurrentIndex(int(state["mode"]))
        for name in ("padding", "stride"):
            if name in state and getattr(explainer, name).isEnabled():
                getattr(explainer, name).setValue(int(state[name]))
        explainer.reset()
    else:
        panel.centre_tabs.setCurrentWidget(panel.maps)


def snapshot(panel) -> dict[str, Any]:
    explainer = panel.explainer
    # While another model loads, the one on screen is on its way out: no task counts it.
    opened = None if panel.jobs.is_pending("model") else panel.opened
    on_explainer = panel.centre_tabs.currentWidget() is explainer
    return {
        "model": opened.loaded.name if opened is not None else None,
        "classes": len(opened.loaded.categories) if opened is not None else 0,
        "layer": panel.layer,
        "tab": "explainer" if on_explainer else "maps",
        "mode": explainer.mode.currentIndex(), "stride": explainer.stride.value(),
        "padding": explainer.padding.value(), "step": explainer.step, "total": explainer.total,
        "output": explainer.output_size,  # what the explainer computed, shown under its grids
    }


def widget(panel, key: str) -> QWidget | None:
    return {"explainer": panel.explainer, "formula": panel.formula, "totals": panel.totals, "tree": panel.tree,
            "maps": panel.maps, "predictions": panel.predictions, "model": panel.model_bar}.get(key)
