"""The Training Monitor as a student uses it: train, watch, pause, stop, resume, compare, export."""

import csv
import math
import time

import pytest
import torch
from PySide6.QtCore import QSettings, Qt

from visionlab.core.training.checkpoint import build_model_from_checkpoint
from visionlab.core.training.config import AugmentSpec, TrainConfig
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.runs import config_difference, list_runs
from visionlab.qt.common import theme
from visionlab.qt.training.panel import TrainingPanel

QUICK = dict(dataset="digits", batch_size=64, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


@pytest.fixture()
def panel(open_panel):
    return open_panel(TrainingPanel())


def _wait_done(qtbot, panel, timeout=30000):
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.isFinished() and panel.start_button.isEnabled(),
                    timeout=timeout)


def test_a_run_draws_curves_diagnosis_confusion_and_is_saved(qtbot, panel):
    panel.controls.set_config(TrainConfig(epochs=4, **QUICK))
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    _wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    assert panel.curves.epochs["x"] == [1.0, 2.0, 3.0, 4.0]
    x, y = panel.curves._curves["val_loss"].getData()
    assert list(x) == [1, 2, 3, 4] and y[-1] < y[0]  # the validation curve is drawn and falls
    assert "trainable parameters" in panel.model_label.text()
    assert panel.diagnosis_label.text().startswith("<b>Diagnosis</b> (epoch 4)")
    assert "finished" in panel.status_label.text()
    panel.tabs.setCurrentWidget(panel.results_page)  # drawn when shown
    matrix = torch.tensor(panel.confusion.matrix)
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert panel.mistakes.count() >= 1
    runs = list_runs()
    assert len(runs) == 1 and runs[0].info["status"] == "finished" and len(runs[0].metrics["epochs"]) == 4
    _, config = build_model_from_checkpoint(runs[0].folder / "best.pt")
    assert config["dataset"] == "digits"


def test_pause_holds_training_and_resume_continues(qtbot, panel):
    panel.start_training(TrainConfig(epochs=300, **QUICK))
    qtbot.waitUntil(lambda: len(panel.curves.steps["x"]) > 3, timeout=20000)
    panel.toggle_pause()
    assert panel.pause_button.text() == "Resume"
    qtbot.wait(300)
    panel._drain()  # what was trained before the pause took effect
    held = len(panel.curves.steps["x"])
    qtbot.wait(400)
    panel._drain()
    assert len(panel.curves.steps["x"]) == held
    panel.toggle_pause()
    qtbot.waitUntil(lambda: len(panel.curves.steps["x"]) > held, timeout=5000)


def test_switching_panels_stops_within_two_seconds_and_the_run_resumes(qtbot, panel):
    panel.start_training(TrainConfig(epochs=300, **QUICK))
    qtbot.waitUntil(lambda: len(panel.epoch_history) >= 2, timeout=20000)
    started = time.monotonic()
    panel.panel_hidden()
    assert time.monotonic() - started < 2.0 and panel.worker.isFinished()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=2000)
    run = [r for r in list_runs() if r.run_id == panel.worker.run_record.run_id][0]
    assert run.info["status"] == "stopped"
    done = len(run.metrics["epochs"])
    assert done >= 2 and (run.folder / "best.pt").exists() and (run.folder / "resume.pt").exists()
    assert panel.start_training(run.config.with_change("epochs", done + 2), resume=run)
    _wait_done(qtbot, panel)
    resumed = [r for r in list_runs() if r.run_id == run.run_id][0]
    assert [e["epoch"] for e in resumed.metrics["epochs"]] == list(range(1, done + 3))
    assert resumed.info["status"] == "finished"


def test_bad_inputs_give_clear_messages(qtbot, panel, tmp_path):
    (tmp_path / "pictures" / "only_one_class").mkdir(parents=True)
    panel.start_training(TrainConfig(dataset="image folder", folder=str(tmp_path / "pictures"), epochs=1))
    _wait_done(qtbot, panel)
    assert "at least two sub-folders" in panel.status_label.text()
    assert theme.ERROR in panel.status_label.styleSheet()  # shown as an error
    panel.start_training(TrainConfig(dataset="image folder", folder="", epochs=1))
    _wait_done(qtbot, panel)
    assert "choose an image folder" in panel.status_label.text()
    huge = TrainConfig(epochs=3, optimizer="SGD", optimizer_params={"lr": 10.0}, dataset="digits",
                       model=ModelSpec("MLP", width=64, depth=4, batch_norm=False))
    panel.start_training(huge)
    _wait_done(qtbot, panel)
    assert "diverged" in panel.status_label.text() and "learning rate" in panel.status_label.text()


def test_ab_run_changes_one_setting_and_overlays(qtbot, panel):
    panel.start_training(TrainConfig(epochs=2, **QUICK))
    _wait_done(qtbot, panel)
    panel.tabs.setCurrentWidget(panel.run_list)
    qtbot.waitUntil(lambda: panel.run_list.list.count() == 1, timeout=5000)
    panel.run_list.list.setCurrentRow(0)
    base = panel.run_list.selected_run()
    panel.run_list.ab_setting.setCurrentText("model.dropout")
    panel.run_list.ab_value.setText("0.5")
    panel.run_list.ab_button.click()
    _wait_done(qtbot, panel)
    runs = list_runs()
    variant = [r for r in runs if r.run_id != base.run_id][0]
    assert variant.info["parent"] == base.run_id
    assert config_difference(base.config, variant.config) == ["model.dropout: 0.0 → 0.5"]
    panel.tabs.setCurrentWidget(panel.run_list)
    qtbot.waitUntil(lambda: panel.run_list.list.count() == 2, timeout=5000)
    for row in range(2):
        panel.run_list.list.item(row).setCheckState(Qt.CheckState.Checked)
    assert len(panel.curves._overlays) == 4  # val loss and val accuracy of both runs, dashed
    panel.run_list.ab_value.setText("0.5")  # the same value again: refused with a message
    rows = [i for i in range(2) if panel.run_list.list.item(i).data(Qt.ItemDataRole.UserRole) == variant.run_id]
    panel.run_list.list.setCurrentRow(rows[0])
    panel.run_list.ab_button.click()
    assert "already 0.5" in panel.status_label.text()


def test_export_csv_and_settings_round_trip(qtbot, panel, tmp_path):
    panel.start_training(TrainConfig(epochs=2, **QUICK))
    _wait_done(qtbot, panel)
    run = list_runs()[0]
    with qtbot.waitSignal(panel.run_list.message, timeout=10000):
        panel.run_list.export(run, "csv", str(tmp_path / "metrics.csv"))
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and "Exported" in panel.status_label.text()
    panel.controls.set_config(TrainConfig(epochs=7, optimizer="Nesterov", schedule="cosine",
                                          augment=AugmentSpec(vflip=True, rotation=15)))
    panel.window_spin.setValue(25)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    other = TrainingPanel()
    qtbot.addWidget(other)
    other.restore_settings(settings)
    restored = other.controls.config()
    assert (restored.epochs, restored.optimizer, restored.schedule) == (7, "Nesterov", "cosine")
    assert restored.augment.vflip and restored.augment.rotation == 15
    assert other.window_spin.value() == 25 and "0.077" in other.smoothing.label.text()
    settings.setValue("config", "{not json")
    TrainingPanel().restore_settings(settings)  # a broken settings file keeps the defaults, no crash
    other.shutdown()


def test_smoothing_window_changes_the_drawn_curve(qtbot, panel):
    panel.start_training(TrainConfig(epochs=2, **QUICK))
    _wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    raw = list(panel.curves.steps["loss"])
    panel.window_spin.setValue(1)
    assert panel.curves._curves["step_loss_ema"].getData()[1].tolist() == pytest.approx(raw)
    panel.window_spin.setValue(20)
    smoothed = panel.curves._curves["step_loss_ema"].getData()[1]
    alpha = 2 / 21
    expected = raw[0]
    for value in raw[1:]:
        expected = (1 - alpha) * expected + alpha * value
    assert smoothed[-1] == pytest.approx(expected)


def test_augmentation_preview_shows_flipped_shapes(qtbot, panel):
    panel.controls.set_config(TrainConfig(dataset="shapes", shapes_count=64, shapes_size=16, shapes_noise=0.0,
                                          augment=AugmentSpec(vflip=True, hflip=True)))
    panel.tabs.setCurrentWidget(panel.preview_page)
    panel.preview_page.show_preview()
    grid = panel.preview_page.grid
    qtbot.waitUntil(lambda: grid._pixmap is not None, timeout=20000)
    # 16 images in rows of 8, each row of originals followed by its augmented row: 8 × 4 tiles of 16 px.
    assert grid._pixmap.width() == 8 * 16 + 7 and grid._pixmap.height() == 4 * 16 + 3


def test_histograms_tab_shows_one_column_per_epoch(qtbot, panel):
    panel.start_training(TrainConfig(epochs=3, **QUICK))
    _wait_done(qtbot, panel)
    panel.tabs.setCurrentWidget(panel.histograms)
    assert panel.histograms.layer.count() == 2  # the MLP's two linear layers
    panel.histograms.kind.setCurrentText("activations")
    image = panel.histograms.image.image
    assert image.shape == (40, 3)
    assert "after epoch 3" in panel.histograms.note.text()


def test_experiments_tab_runs_bias_variance_and_kfold(qtbot, panel):
    panel.controls.set_config(TrainConfig(epochs=3, optimizer_params={"lr": 0.01}, **QUICK))
    panel.tabs.setCurrentWidget(panel.experiments)
    tab = panel.experiments
    tab.kind.setCurrentIndex(2)
    tab.number.setValue(6)
    tab.run_or_stop()
    qtbot.waitUntil(lambda: tab.result is not None, timeout=20000)
    assert tab.result.degrees == [1, 2, 3, 4, 5, 6] and "lowest at degree" in tab.summary.text()
    assert len(tab.plot.listDataItems()) == 3
    tab.kind.setCurrentIndex(0)
    tab.number.setValue(2)
    tab.run_or_stop()
    qtbot.waitUntil(lambda: tab.result is not None and hasattr(tab.result, "out_of_fold_acc"), timeout=30000)
    assert "2-fold stratified CV" in tab.summary.text() and tab.result.out_of_fold_acc > 0.6


def test_closing_the_window_mid_run_stops_training_within_two_seconds(qtbot, tmp_path):
    from visionlab.qt.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), initial_panel="training")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.panel("training") is not None, timeout=60000)
    panel = window.panel("training")
    panel.start_training(TrainConfig(epochs=500, **QUICK))
    qtbot.waitUntil(lambda: len(panel.epoch_history) >= 1, timeout=20000)
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 2.0 and panel.worker.isFinished()
    run = list_runs()[0]
    assert run.info["status"] == "stopped" and (run.folder / "best.pt").exists()


def test_gap_shading_covers_every_epoch_after_the_axis_grows(qtbot):
    import pyqtgraph as pg

    from visionlab.core.training.trainer import EpochReport
    from visionlab.qt.training.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.show()
    curves.begin_run(24, 1e-3)
    for epoch in range(1, 11):
        curves.add_events([EpochReport(epoch, 2 / epoch, 0.08 * epoch, 1.5 / epoch, 0.09 * epoch, 1e-3, epoch,
                                       1.5 / epoch, 0, True)])
        curves.refresh()
    assert curves.loss_plot.getViewBox().viewRange()[0][1] >= 10  # the x axis grew past the first 4 epochs
    for plot in (curves.loss_plot, curves.acc_plot):
        fill = [item for item in plot.items if isinstance(item, pg.FillBetweenItem)][0]
        span = fill.path().boundingRect()
        assert (span.left(), span.right()) == (1.0, 10.0)


def test_a_second_run_redraws_only_its_own_gradient_curves_and_best_epoch(qtbot, panel):
    """Curves are reused between runs to save GUI time; what is shown must still be the new run's."""
    panel.start_training(TrainConfig(epochs=3, **QUICK))  # MLP depth 1: two weight tensors
    _wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    first = panel.curves._grad_curves
    assert len(first) == 2 and all(len(c.getData()[0]) for c in first.values())
    assert all(line.isVisible() and line.value() == panel.curves.best_epoch for line in panel.curves.best_lines)
    deeper = dict(QUICK, model=ModelSpec("MLP", width=8, depth=2, batch_norm=False))
    panel.start_training(TrainConfig(epochs=2, **deeper))  # another model: three weight tensors
    assert not any(line.isVisible() for line in panel.curves.best_lines)  # cleared with the old run
    _wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    curves = panel.curves._grad_curves
    assert list(curves) == list(panel.curves.grads) and len(curves) == 3
    legend = [label.text for _, label in panel.curves.grad_plot.legend.items]
    assert len(legend) == 3  # the old model's entries are gone
    for name, curve in curves.items():  # each curve holds exactly this run's points (log axis: log10)
        assert list(curve.getData()[1]) == pytest.approx([math.log10(v) for v in panel.curves.grads[name][1]])
    assert all(line.value() == panel.curves.best_epoch for line in panel.curves.best_lines)
