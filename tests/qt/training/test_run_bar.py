"""The run bar and the live curves' axes say what the run is doing: speed, ETA, pause, its last epoch."""

import dataclasses
import time

import pytest

from visionlab.core.training import monitor
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.models import ModelSpec
from visionlab.qt.training.curves import X_MARGIN, TrainingCurves

QUICK = dict(dataset="digits", batch_size=64, model=ModelSpec("MLP", width=8, depth=1, batch_norm=False))


def _timed_run(config: TrainConfig, pause_at_step: int | None = None, pause_s: float = 0.0):
    """train_run with every event stamped on arrival, and optionally one pause inside should_stop."""
    stamped, steps = [], [0]

    def should_stop() -> bool:
        steps[0] += 1
        if steps[0] == pause_at_step:
            time.sleep(pause_s)  # what a paused worker does: block inside should_stop
        return False

    monitor.train_run(config, lambda event: stamped.append((time.perf_counter(), event)), should_stop)
    started = next(t for t, e in stamped if isinstance(e, monitor.RunStarted))
    finished = next(t for t, e in stamped if isinstance(e, monitor.Finished))
    return started, finished, [(t, e) for t, e in stamped if isinstance(e, monitor.StepReport)]


def test_speed_and_eta_agree_with_the_runs_own_timing():
    config = TrainConfig(epochs=6, cpu_threads=1, **QUICK)
    started, finished, reports = _timed_run(config)
    later = [(t, e) for t, e in reports if e.epoch >= 1]  # past the first epoch's warm-up
    for t, report in later:
        samples = report.step * config.batch_size
        assert report.samples_per_s == pytest.approx(samples / (t - started), rel=0.25)
    t, middle = later[len(later) // 2]
    assert middle.eta_s == pytest.approx(finished - t, rel=0.5, abs=0.2)  # the time that was really left


def test_a_pause_does_not_count_as_training_time():
    config = TrainConfig(epochs=3, cpu_threads=1, **QUICK)
    started, _, reports = _timed_run(config, pause_at_step=5, pause_s=1.0)
    t, last = reports[-1]
    assert t - started > 1.0
    samples = last.step * config.batch_size
    assert last.samples_per_s == pytest.approx(samples / (t - started - 1.0), rel=0.25)  # the pause left out


def test_the_bar_shows_the_trainers_speed_and_eta_and_says_paused(qtbot, panel):
    panel.start_training(TrainConfig(epochs=3000, **QUICK))
    qtbot.waitUntil(lambda: panel.bar._step is not None and panel.bar._step.step > 20, timeout=20000)
    step = panel.bar._step
    assert panel.bar.speed_label.text() == f"{step.samples_per_s:,.0f} samples/s · ETA {step.eta_s:.0f} s"
    panel.toggle_pause()
    qtbot.wait(600)
    panel._drain()
    panel._redraw()
    step = panel.bar._step
    assert panel.bar.speed_label.text() == f"{step.samples_per_s:,.0f} samples/s · paused"  # no ETA while paused
    panel.toggle_pause()
    qtbot.waitUntil(lambda: "ETA" in panel.bar.speed_label.text(), timeout=5000)
    panel.stop_training()


def test_after_early_stopping_the_axis_fits_the_epochs_run_and_labels_the_last(qtbot, panel, wait_done):
    config = TrainConfig(epochs=20, early_stopping=True, patience=2, optimizer_params={"lr": 0.03},
                         **dict(QUICK, model=ModelSpec("MLP", width=16, depth=1, batch_norm=False)))
    panel.start_training(config)
    wait_done(qtbot, panel)
    last = len(panel.epoch_history)
    assert panel.last_finished.status == "early stopped" and last < 20
    x_range = panel.curves.loss_plot.getViewBox().viewRange()[0]
    assert x_range == pytest.approx([0, last + X_MARGIN], abs=1e-6)  # not the 16 epochs the axis started with
    labelled = [value for value, _ in panel.curves.loss_plot.getAxis("bottom")._tickLevels[0]]
    assert last in labelled
    used = panel.epoch_history[-1]["patience_used"]
    assert panel.curves.early_stopping_text.endswith(f"{used} of 2 allowed epochs without improvement")


def test_one_epoch_without_improvement_is_singular(qtbot, panel, wait_done):
    panel.start_training(TrainConfig(epochs=3, **QUICK))
    wait_done(qtbot, panel)
    report = monitor.EpochReport(**{**panel.epoch_history[-1], "patience_used": 1})
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.add_events([dataclasses.replace(report)])
    assert curves.early_stopping_text.endswith("; 1 epoch without improvement")
