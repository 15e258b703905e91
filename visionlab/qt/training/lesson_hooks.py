"""The Training Monitor's lesson hooks: set a run's configuration and tab, read the run and experiment results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QWidget

from visionlab.core.training import ensembles
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.crossval import CrossValidation


def _tabs(panel) -> dict[str, QWidget]:
    return {"curves": panel.tabs.widget(0), "experiments": panel.experiments, "preview": panel.preview_page}


def apply_state(panel, state: Mapping[str, Any]) -> None:
    """Fill the controls with the lesson's configuration (the student presses Start) and show its tab."""
    if "config" in state:
        panel.controls.set_config(TrainConfig.from_dict(dict(state["config"])))
    tab = _tabs(panel).get(state.get("tab", "curves"))
    if tab is not None:
        panel.tabs.setCurrentWidget(tab)
    if "experiment" in state:
        panel.experiments.kind.setCurrentIndex(int(state["experiment"]))
        if "number" in state:
            panel.experiments.number.setValue(int(state["number"]))


def _experiment_kind(result) -> int | None:
    if isinstance(result, CrossValidation):
        return 0
    if isinstance(result, tuple):
        return 1
    if isinstance(result, ensembles.BiasVariance):
        return 2
    return None if result is None else 3


def _result_number(result) -> int | None:
    """What the finished experiment really ran (k folds, trees averaged), not what the box says now."""
    if isinstance(result, CrossValidation):
        return len(result.fold_acc)
    if isinstance(result, tuple):
        return len(result[0])  # the bagging curve: one point per tree averaged
    return None


def snapshot(panel) -> dict[str, Any]:
    worker = getattr(panel, "worker", None)
    finished = panel.last_finished
    running = worker is not None and worker.isRunning()
    current = next((name for name, tab in _tabs(panel).items() if panel.tabs.currentWidget() is tab), "other")
    experiments = panel.experiments
    done_kind = _experiment_kind(experiments.result)
    return {
        "finished": finished is not None and not running,
        "status": finished.status if finished is not None else None,
        "run_config": worker.config.to_dict() if worker is not None and finished is not None else None,
        "epochs_done": len(panel.epoch_history),
        "tab": current, "vflip": panel.controls.vflip.isChecked(),
        "experiment_kind": experiments.kind.currentIndex(),
        "experiment_done": done_kind == experiments.kind.currentIndex() and not experiments._active,
        "experiment_number": _result_number(experiments.result),
    }


def widget(panel, key: str) -> QWidget | None:
    controls = panel.controls
    return {"final": panel.final_label, "diagnosis": panel.diagnosis_label, "status": panel.status_label,
            "experiments": panel.experiments, "preview": panel.preview_page, "regularization": controls.input_noise,
            "model": controls.dropout, "batch_norm": controls.batch_norm, "curves": panel.curves}.get(key)
