"""The Training Monitor's "Detect & segment" tab, used as a student would: tiny real runs (seconds) started from
the form, live curves, Stop, Run live / Open in Feature Maps with the saved best.pt, a refused setting."""

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from visionlab.core.training.scenes.events import SceneConfig

TINY = SceneConfig(task="segment", frame_width=64, frame_height=64, batch_size=8, val_frames=8, threads=1)


@pytest.fixture()
def view(panel):
    panel.tabs.setCurrentWidget(panel.scenes_page)
    panel.scenes_view.base_config = TINY
    return panel.scenes_view


def _fill(view, epochs: int, frames: int, width: int = 8, lr: str = "0.005") -> None:
    view.epochs_spin.setValue(epochs)
    view.frames_spin.setValue(frames)
    view.width_spin.setValue(width)
    view.lr_edit.setText(lr)


def test_the_tab_takes_the_width_of_the_panel(panel):
    panel.tabs.setCurrentWidget(panel.scenes_page)
    assert panel.bar.isHidden() and panel.controls.parentWidget().parentWidget().isHidden()
    panel.tabs.setCurrentIndex(0)
    assert not panel.bar.isHidden()


def test_a_run_draws_its_curves_and_previews_and_hands_its_checkpoint_on(qtbot, panel, view):
    _fill(view, epochs=2, frames=40)
    qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    assert view.running and not view.train_button.isEnabled()
    qtbot.waitUntil(lambda: view.curves.point_count > 0, timeout=60000)
    qtbot.waitUntil(lambda: view.finished is not None and not view.running, timeout=60000)
    finished = view.finished
    assert finished.status == "finished"
    epochs, metrics = view.curves.curve_data("metric")
    assert epochs == [1.0, 2.0] and len(metrics) == 2
    recorded = json.loads((Path(finished.extra["run_folder"]) / "metrics.json").read_text())["epochs"]
    assert metrics == pytest.approx([row["miou"] for row in recorded])  # the curve is what the run wrote
    assert view.curves.curve_data("loss")[0] == [row["step"] for row in json.loads(
        (Path(finished.extra["run_folder"]) / "metrics.json").read_text())["steps"]]
    assert view.curves.best_epoch == finished.best_epoch
    assert view.preview.shown_epoch == 2 and view.preview.images[0].pixmap() is not None
    assert f"Best mIoU {finished.metric:.3f} at epoch {finished.best_epoch}" in view.result_line.text()
    assert view.run_live_button.isEnabled() and view.features_button.isEnabled()
    with qtbot.waitSignal(panel.run_live_requested, timeout=2000) as live:
        view.run_live_button.click()
    assert Path(live.args[0]).is_file() and live.args[0] == finished.extra["checkpoint_path"]
    with qtbot.waitSignal(panel.open_in_features_requested, timeout=2000) as features:
        view.features_button.click()
    assert features.args[0] == live.args[0]


def test_stop_ends_the_run_with_its_files_saved(qtbot, view):
    view.base_config = SceneConfig(**{**TINY.to_dict(), "task": "detect"})
    view.task_combo.setCurrentIndex(view.task_combo.findData("detect"))
    _fill(view, epochs=200, frames=64, lr="0.002")
    assert view.start()
    qtbot.waitUntil(lambda: view.curves.point_count >= 2, timeout=60000)
    _, parts = view.curves.curve_data("rpn_objectness")
    assert parts and all(value >= 0 for value in parts)  # detection draws its loss parts
    view.stop()
    qtbot.waitUntil(lambda: not view.running, timeout=15000)
    assert view.finished is not None and view.finished.status == "stopped"
    info = json.loads((Path(view.finished.extra["run_folder"]) / "run.json").read_text())
    assert info["status"] == "stopped" and view.train_button.isEnabled()
    assert view.status_line.text().startswith("Run stopped")


@pytest.mark.parametrize("lr, sentence", [("abc", "the learning rate must be a number such as 0.002, not 'abc'"),
                                          ("-1", "the learning rate must be a positive number")])
def test_a_bad_setting_is_refused_with_a_sentence(view, lr, sentence):
    _fill(view, epochs=1, frames=40, lr=lr)
    assert not view.start()
    assert view.status_line.is_error and sentence in view.status_line.text()
    assert not view.running and view.train_button.isEnabled()
