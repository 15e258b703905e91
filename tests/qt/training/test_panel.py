"""The Training Monitor as a student uses it: train, watch, pause, stop, resume, compare, export."""

import csv
import math
import re
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt

from visionlab.core.training.checkpoint import build_model_from_checkpoint
from visionlab.core.training.config import AugmentSpec, TrainConfig
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.runs import config_difference, list_runs
from visionlab.qt.common import theme
from visionlab.qt.training import panel as panel_module
from visionlab.qt.training.panel import TrainingPanel

QUICK = dict(dataset="digits", batch_size=64, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))
# Adam at η = 0.03: the validation loss is lowest at epoch 4 of 6 (seeded: the same every run).
OVERSHOOT = dict(QUICK, epochs=6, optimizer_params={"lr": 0.03}, model=ModelSpec("MLP", width=16, depth=1,
                                                                                 batch_norm=False))


def test_a_run_draws_curves_diagnosis_confusion_and_is_saved(qtbot, panel, wait_done):
    panel.controls.set_config(TrainConfig(epochs=4, **QUICK))
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    assert panel.curves.epochs["x"] == [1.0, 2.0, 3.0, 4.0]
    x, y = panel.curves._curves["val_loss"].getData()
    assert list(x) == [1, 2, 3, 4] and y[-1] < y[0]  # the validation curve is drawn and falls
    assert "trainable parameters" in panel.model_label.text()
    run_name = f"Run #{panel.worker.run_record.info['number']}"  # the run, not the form (it may have changed)
    assert panel.diagnosis_label.text().startswith(f"<b>{run_name} · diagnosis, epoch 4 weights:</b> ")
    assert panel.final_label.text().startswith(f"{run_name} · Final weights of epoch ")
    assert "finished" in panel.status_label.text()
    assert panel.bar.progress.value() == panel.bar.progress.maximum()  # a finished run fills the bar
    assert panel.bar.progress.text() == "finished · 4/4 epochs · 100%"
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


def _open_window(qtbot, tmp_path):
    from visionlab.qt.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), initial_panel="training")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.panel("training") is not None, timeout=60000)
    return window, window.panel("training")


def _points(panel, name: str) -> int:
    """Points the curve holds (0 before its first redraw: pyqtgraph's getData() is then (None, None))."""
    xs = panel.curves._curves[name].getData()[0]
    return 0 if xs is None else len(xs)


def test_a_run_keeps_training_on_another_panel_draws_nothing_there_and_catches_up(qtbot, tmp_path):
    window, panel = _open_window(qtbot, tmp_path)
    panel.start_training(TrainConfig(epochs=300, **QUICK))
    qtbot.waitUntil(lambda: len(panel.epoch_history) >= 2, timeout=20000)
    window.show_panel("optimizer")
    assert panel.worker.isRunning() and not panel.isVisible()
    drawn = _points(panel, "val_loss")
    hidden_at = len(panel.epoch_history)
    qtbot.waitUntil(lambda: len(panel.epoch_history) >= hidden_at + 3, timeout=20000)  # still training...
    assert _points(panel, "val_loss") == drawn  # ...and nothing was drawn
    window.show_panel("training")
    assert panel.curves.up_to_date()  # caught up in the same event
    assert len(panel.curves._curves["val_loss"].getData()[0]) == len(panel.epoch_history) > drawn
    assert f"Epoch {len(panel.epoch_history)}/300" in panel.status_label.text()
    window.close()  # the window closing stops it, and says so
    assert panel.worker.isFinished() and panel.last_finished.status == "stopped"
    assert panel.last_finished.message.startswith("stopped: the window was closed")


def test_stop_keeps_the_run_and_it_resumes(qtbot, panel, wait_done):
    panel.start_training(TrainConfig(epochs=300, **QUICK))
    qtbot.waitUntil(lambda: len(panel.epoch_history) >= 2, timeout=20000)
    started = time.monotonic()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 2.0 and panel.worker.isFinished()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=2000)
    assert "stopped by the user" in panel.status_label.text()
    done = len(panel.epoch_history)
    run = [r for r in list_runs() if r.run_id == panel.worker.run_record.run_id][0]
    assert run.info["status"] == "stopped"
    total_steps = 300 * math.ceil(len(panel.worker.trainer.train_y) / 64)
    fraction = run.metrics["steps"][-1]["step"] / total_steps  # where it stopped: the last step it reported
    assert panel.bar.progress.text() == f"stopped · {done}/300 epochs · {fraction:.0%}"
    assert f"{fraction:.0%} of its optimizer steps" in panel.bar.progress.toolTip()
    assert panel.bar.progress.value() == round(fraction * 1000) < 1000
    assert len(run.metrics["epochs"]) == done >= 2
    assert (run.folder / "best.pt").exists() and (run.folder / "resume.pt").exists()
    assert panel.start_training(run.config.with_change("epochs", done + 2), resume=run)
    wait_done(qtbot, panel)
    resumed = [r for r in list_runs() if r.run_id == run.run_id][0]
    assert [e["epoch"] for e in resumed.metrics["epochs"]] == list(range(1, done + 3))
    assert resumed.info["status"] == "finished"


def _screen(panel) -> dict:
    """What every plot and line holds right now, read back from the widgets (xData / yData: the data given,
    before pyqtgraph clips it to the view or downsamples it for painting)."""
    curves = panel.curves
    lengths = {name: 0 if item.xData is None else len(item.xData) for name, item in curves._curves.items()}
    grads = {name: (item.xData, item.yData) for name, item in curves._grad_curves.items() if item.xData is not None}
    return {"lengths": lengths, "grad_lengths": {name: len(x) for name, (x, _) in grads.items()},
            "lr_last_x": curves._curves["lr"].xData[-1] if lengths["lr"] else None,
            "grad_last_x": {name: x[-1] for name, (x, _) in grads.items() if len(x)},
            "best": [line.value() if line.isVisible() else None for line in curves.best_lines],
            "grad_view": curves.grad_plot.getViewBox().viewRange()[1],  # log10 of the norms, on a log axis
            "grad_values": [math.log10(v) for _, (_, y) in grads.items() for v in y],
            "status": panel.status_label.text(), "diagnosis": panel.diagnosis_label.text(),
            "progress": panel.bar.progress.value(), "epochs": len(curves.epochs["x"]), "steps": len(curves.steps["x"]),
            "history": list(panel.epoch_history), "last_step": panel._last_step}


def test_every_plot_and_line_shows_the_same_step_and_epoch_at_every_redraw(qtbot, panel, monkeypatch, wait_done):
    screens = []
    redraw = panel._redraw

    def redraw_and_look():
        redraw()
        screens.append(_screen(panel))

    monkeypatch.setattr(panel, "_redraw", redraw_and_look)
    # Redraw at every tick (≤ 25 Hz) instead of within the 1 % CPU budget: a 12-epoch digits run takes about
    # a second, which the budget may cover with only one or two redraws; many redraws are many chances to
    # catch a plot that lags another.
    monkeypatch.setattr(panel_module, "GUI_BUDGET", 1.0)
    config = TrainConfig(epochs=12, optimizer="SGD", optimizer_params={"lr": 0.1}, dataset="digits", batch_size=32,
                         model=ModelSpec("MLP", width=16, depth=2, batch_norm=False))
    panel.start_training(config)
    wait_done(qtbot, panel)
    live = [s for s in screens if s["steps"]]
    assert len(live) >= 3  # redrawn during the run, not only at its end
    for screen in live:
        n, m = screen["steps"], screen["epochs"]
        lengths = screen["lengths"]
        assert {lengths[k] for k in ("step_loss_raw", "step_loss_ema", "step_acc_raw", "step_acc_ema", "lr")} == {n}
        assert set(screen["grad_lengths"].values()) == {n}  # the gradient plot is at the same step
        assert {lengths[k] for k in ("train_loss", "val_loss", "train_acc", "val_acc")} == {m}
        assert set(screen["grad_last_x"].values()) == {screen["lr_last_x"]}
        if m:
            best = screen["history"][m - 1]["best_epoch"]
            assert screen["best"] == [best] * 4  # one best epoch, a line in every plot
            assert re.match(rf"<b>Run #\d+ · diagnosis, epoch {m} weights:</b> ", screen["diagnosis"])
            if not screen["status"].startswith("Run "):
                assert screen["status"].startswith(f"Epoch {m}/12:")
        assert screen["progress"] == round(screen["last_step"].fraction * 1000) or screen["status"].startswith("Run ")
        low, high = screen["grad_view"]  # the log axis spans every norm drawn
        assert low <= min(screen["grad_values"]) and max(screen["grad_values"]) <= high
    end = screens[-1]
    run = list_runs()[0]
    assert end["steps"] == len(run.metrics["steps"]) and end["epochs"] == len(run.metrics["epochs"]) == 12
    assert max(end["grad_values"]) > -1  # norms above 0.1 occur in this run, and the axis holds them


def _tensorboard_on_the_run(run, steps_per_epoch: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The saved reports smoothed independently: each report expanded into its steps, TensorBoard's debiased
    EMA over the steps (closed form, explicit weights), the same weights averaging the reports' centres."""
    reports = run.metrics["steps"]
    counts = np.diff([0] + [r["step"] for r in reports])
    centres = np.array([r["epoch"] for r in reports]) - (counts - 1) / 2 / steps_per_epoch
    values = np.repeat([r["train_loss"] for r in reports], counts)
    positions = np.repeat(centres, counts)
    beta = 1 - 2 / (window + 1)
    xs, ys = [], []
    for end in np.cumsum(counts):
        weights = beta ** np.arange(end - 1, -1, -1.0)
        xs.append((weights * positions[:end]).sum() / weights.sum())
        ys.append((weights * values[:end]).sum() / weights.sum())
    return np.array(xs), np.array(ys)


def test_the_smoothed_curve_is_tensorboards_debiased_ema_over_steps_at_its_data(qtbot, panel, wait_done):
    panel.start_training(TrainConfig(epochs=3, **QUICK))
    wait_done(qtbot, panel)
    run = list_runs()[0]
    steps_per_epoch = math.ceil(len(panel.worker.trainer.train_y) / 64)
    assert panel.curves.steps_per_epoch == steps_per_epoch
    for window in (20, 1, 7):
        panel.window_spin.setValue(window)
        x, y = panel.curves._curves["step_loss_ema"].getData()
        expected_x, expected_y = _tensorboard_on_the_run(run, steps_per_epoch, window)
        assert list(y) == pytest.approx(list(expected_y), rel=1e-9)
        assert list(x) == pytest.approx(list(expected_x), rel=1e-9)
    raw_x, raw_y = panel.curves._curves["step_loss_raw"].getData()
    assert list(raw_y) == pytest.approx([r["train_loss"] for r in run.metrics["steps"]])
    panel.window_spin.setValue(1)
    assert list(panel.curves._curves["step_loss_ema"].getData()[0]) == pytest.approx(list(raw_x))  # no smoothing
    label = panel.smoothing.label.text()
    assert "faint: means of ≤ 5 steps" in label and label.startswith("step: no smoothing")
    panel.window_spin.setValue(10)
    label = panel.smoothing.label.text()
    assert f"≈ {10 / steps_per_epoch:.2g} epochs" in label
    # The α shown is the newest step's weight in the reference EMA above: 1 − β with β = 1 − 2/(window + 1).
    beta = 1 - 2 / (10 + 1)
    assert f"α = {1 - beta:.3f}" in label and "debiased" in label


def test_bad_inputs_give_clear_messages(qtbot, panel, tmp_path, wait_done):
    (tmp_path / "pictures" / "only_one_class").mkdir(parents=True)
    panel.start_training(TrainConfig(dataset="image folder", folder=str(tmp_path / "pictures"), epochs=1))
    wait_done(qtbot, panel)
    assert "at least two sub-folders" in panel.status_label.text()
    assert panel.final_label.text() == ""  # no run: no promise of a test accuracy at its end
    assert theme.ERROR in panel.status_label.styleSheet()  # shown as an error
    panel.start_training(TrainConfig(dataset="image folder", folder="", epochs=1))
    wait_done(qtbot, panel)
    assert "choose an image folder" in panel.status_label.text()
    huge = TrainConfig(epochs=3, optimizer="SGD", optimizer_params={"lr": 10.0}, dataset="digits",
                       model=ModelSpec("MLP", width=64, depth=4, batch_norm=False))
    panel.start_training(huge)
    wait_done(qtbot, panel)
    assert "diverged" in panel.status_label.text() and "learning rate" in panel.status_label.text()


def test_ab_run_changes_one_setting_and_overlays(qtbot, panel, wait_done):
    panel.start_training(TrainConfig(epochs=2, **QUICK))
    wait_done(qtbot, panel)
    panel.tabs.setCurrentWidget(panel.run_list)
    qtbot.waitUntil(lambda: panel.run_list.list.count() == 1, timeout=5000)
    panel.run_list.list.setCurrentRow(0)
    base = panel.run_list.selected_run()
    panel.run_list.ab_setting.setCurrentText("model.dropout")
    panel.run_list.ab_value.setText("0.5")
    panel.run_list.ab_button.click()
    wait_done(qtbot, panel)
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


def test_export_csv_and_settings_round_trip(qtbot, panel, tmp_path, wait_done):
    panel.start_training(TrainConfig(epochs=2, **QUICK))
    wait_done(qtbot, panel)
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


def test_augmentation_preview_shows_flipped_shapes(qtbot, panel):
    panel.controls.set_config(TrainConfig(dataset="shapes", shapes_count=64, shapes_size=16, shapes_noise=0.0,
                                          augment=AugmentSpec(vflip=True, hflip=True)))
    panel.tabs.setCurrentWidget(panel.preview_page)
    panel.preview_page.show_preview()
    grid = panel.preview_page.grid
    qtbot.waitUntil(lambda: grid._pixmap is not None, timeout=20000)
    # 16 images in rows of 8, each row of originals followed by its augmented row: 8 × 4 tiles of 16 px.
    assert grid._pixmap.width() == 8 * 16 + 7 and grid._pixmap.height() == 4 * 16 + 3


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
    window, panel = _open_window(qtbot, tmp_path)
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


def test_a_second_run_redraws_only_its_own_gradient_curves_and_best_epoch(qtbot, panel, wait_done):
    """Curves are reused between runs to save GUI time; what is shown must still be the new run's."""
    panel.start_training(TrainConfig(epochs=3, **QUICK))  # MLP depth 1: two weight tensors
    wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    first = panel.curves._grad_curves
    assert len(first) == 2 and all(len(c.getData()[0]) for c in first.values())
    assert all(line.isVisible() and line.value() == panel.curves.best_epoch for line in panel.curves.best_lines)
    deeper = dict(QUICK, model=ModelSpec("MLP", width=8, depth=2, batch_norm=False))
    panel.start_training(TrainConfig(epochs=2, **deeper))  # another model: three weight tensors
    assert not any(line.isVisible() for line in panel.curves.best_lines)  # cleared with the old run
    wait_done(qtbot, panel)
    qtbot.waitUntil(panel.curves.up_to_date, timeout=5000)
    curves = panel.curves._grad_curves
    assert list(curves) == list(panel.curves.grads) and len(curves) == 3
    legend = [label.text for _, label in panel.curves.grad_plot.legend.items]
    assert len(legend) == 3  # the old model's entries are gone
    for name, curve in curves.items():  # each curve holds exactly this run's points (log axis: log10)
        assert list(curve.getData()[1]) == pytest.approx([math.log10(v) for v in panel.curves.grads[name][1]])
    assert all(line.value() == panel.curves.best_epoch for line in panel.curves.best_lines)
