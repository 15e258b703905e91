"""Live Training Monitor: train small CNNs and watch the lecture's generalization story happen.

Left: every setting (data, model, optimizer, regularization). Right: start / pause / stop, progress, the
diagnosis line, and tabs for the live curves, the confusion matrix and mistakes, an augmentation preview,
the saved runs (overlay, A/B, resume, export) and the experiments beyond one run. Training runs in a
TrainingWorker thread; a single-shot timer drains its events. A redraw updates all four plots, the
progress bar and the lines about the run together, so they always show the same step and epoch; redraws
are spaced to a CPU budget (short, rare GUI slices keep both the window and the training loop fast).

A run keeps training while another panel is shown: nothing is drawn then, and everything catches up in
one redraw when the panel is shown again.
"""

from __future__ import annotations

import html
import json
import logging
import time

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.i18n import N_, _
from visionlab.core.training import monitor
from visionlab.qt.common import threads
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.panel import Panel
from visionlab.qt.training.controls import TrainingControls
from visionlab.qt.training.curves import TrainingCurves
from visionlab.qt.training.experiments import ExperimentsTab
from visionlab.qt.training.histograms import HistogramsView
from visionlab.qt.training.panel_screenshots import PanelScreenshots
from visionlab.qt.training.preview import AugmentationPreview
from visionlab.qt.training.results import ResultsPage
from visionlab.qt.training.run_actions import RunActions
from visionlab.qt.training.run_bar import RunBar, SmoothingRow
from visionlab.qt.training.runs import RunList
from visionlab.qt.training.scenes_view import ScenesView
from visionlab.qt.training.tta_row import TTARow
from visionlab.qt.training.watch_view import WatchView
from visionlab.qt.training.worker import TrainingWorker

log = logging.getLogger(__name__)
REDRAW_MS = 40  # 25 Hz at most; each redraw updates every plot
HIDDEN_DRAIN_MS = 500  # while another panel is shown: events are only stored, so a slow drain is enough
# Share of one CPU the curves may use. Redrawing holds Python's GIL, which a small model's training loop
# needs all the time, so redraws are spaced to fit this budget: on a fast machine every tick redraws, on a
# busy 2-core laptop the plots update about once a second.
GUI_BUDGET = 0.01
MAX_REDRAW_GAP_S = 1.0  # however slow painting is, the plots still update at least once a second


class TrainingPanel(RunActions, PanelScreenshots, Panel):
    # A scene run's best.pt, from the "Detect & segment" tab: the main window opens it in the camera / viewer.
    run_live_requested = Signal(str)
    open_in_features_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.worker: TrainingWorker | None = None
        self.class_names: list[str] = []
        self.epoch_history: list[dict] = []
        self.last_finished: monitor.Finished | None = None
        self._last_step: monitor.StepReport | None = None
        self._labelled_epochs = 0  # the epoch the status and diagnosis lines speak of
        self._end_shown = False
        self._run_name = ""  # "Run #6 …": the run the diagnosis and final lines speak of
        self._next_redraw = 0.0
        self._redraw_cost = 0.0
        self.jobs = JobRunner(self)  # run list reads and exports, the preview, experiments
        self._build()
        # Single-shot, re-armed by each drain for when the next redraw is due: no idle wake-ups.
        self.timer = QTimer(self, singleShot=True)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._drain)
        self._count_timer = QTimer(self, singleShot=True, interval=200)
        self._count_timer.timeout.connect(self._update_parameter_count)
        self.controls.changed.connect(self._count_timer.start)
        self._update_parameter_count()
        self.bar.set_running(False)

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        splitter = QSplitter()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.controls = TrainingControls()
        scroll.setWidget(self.controls)
        scroll.setMinimumWidth(280)
        splitter.addWidget(scroll)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(4, 0, 0, 0)
        self.bar = RunBar()
        self.bar.start_button.clicked.connect(lambda: self.start_training())
        self.bar.pause_button.clicked.connect(self.toggle_pause)
        self.bar.stop_button.clicked.connect(lambda: self.stop_training())  # not clicked(checked) as the reason
        # The widgets a student (and a test) looks at, by their names.
        self.start_button, self.pause_button, self.stop_button = (self.bar.start_button, self.bar.pause_button,
                                                                  self.bar.stop_button)
        self.model_label, self.status_label = self.bar.model_label, self.bar.status_label
        self.diagnosis_label, self.final_label = self.bar.diagnosis_label, self.bar.final_label
        column.addWidget(self.bar)
        self.tta_row = TTARow(self.jobs)  # under the final line, hidden with the bar: crops and mirrors, measured
        self.bar.layout().addWidget(self.tta_row)
        self.tabs = QTabWidget()
        column.addWidget(self.tabs, 1)
        curves_page = QWidget()
        curves_layout = column_layout(curves_page)
        self.curves = TrainingCurves()
        self.smoothing = SmoothingRow()
        self.smoothing.window_changed.connect(self.curves.set_window)
        self.window_spin = self.smoothing.window_spin
        curves_layout.addWidget(self.smoothing)
        curves_layout.addWidget(self.curves, 1)
        self.tabs.addTab(curves_page, _("Live curves"))
        self.results_page = ResultsPage()
        self.confusion, self.mistakes = self.results_page.confusion, self.results_page.mistakes
        self.tabs.addTab(self.results_page, _("Confusion && mistakes"))
        self.histograms = HistogramsView()
        self.tabs.addTab(self.histograms, _("Histograms"))
        self.preview_page = AugmentationPreview(self.controls.config, self.jobs)
        self.preview_page.failed.connect(lambda text: self._message(text, error=True))
        self.tabs.addTab(self.preview_page, _("Augmentation preview"))
        self.run_list = RunList(self.jobs)
        self.run_list.overlay_changed.connect(self._update_overlays)
        self.run_list.ab_requested.connect(self.start_ab)
        self.run_list.resume_requested.connect(self.resume_run)
        self.run_list.delete_requested.connect(self._delete_run)
        self.run_list.message.connect(self._message)
        self.run_list.load_requested.connect(lambda run: self.controls.set_config(run.config))
        self.tabs.addTab(self.run_list, _("Runs"))
        self.experiments = ExperimentsTab(self.controls.config, self.jobs)
        self.tabs.addTab(self.experiments, _("Experiments"))
        self.watch_view = WatchView()  # any TensorBoard log folder, live (issue 13)
        self.tabs.addTab(self.watch_view, _("Watched logs"))
        self.scenes_view = ScenesView(self.jobs)  # segmentation and detection on shape scenes (issue 11)
        self.scenes_view.run_live_requested.connect(self.run_live_requested)
        self.scenes_view.open_in_features_requested.connect(self.open_in_features_requested)
        # In a scroll area: the tab needs ≈800 px, and a tab widget is as wide as its widest page, so the
        # other tabs (beside the settings column) would no longer fit a 1024 px window.
        self.scenes_page = QScrollArea()
        self.scenes_page.setWidget(self.scenes_view)
        self.scenes_page.setWidgetResizable(True)
        self.scenes_page.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(self.scenes_page, _("Detect && segment"))

        def fit_tab(index: int) -> None:  # the classifier's settings and run bar say nothing about a scene run
            for widget in (scroll, self.bar):
                widget.setVisible(self.tabs.widget(index) is not self.scenes_page)

        self.tabs.currentChanged.connect(fit_tab)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        layout = column_layout(self, 4)
        layout.addWidget(splitter)
        self.curves.set_window(self.window_spin.value())

    # -- training -----------------------------------------------------------------------------------
    def start_training(self, config: monitor.TrainConfig | None = None, resume: monitor.Run | None = None,
                       parent_run: str | None = None, change: str | None = None) -> bool:
        if self.worker is not None and self.worker.isRunning():
            self._message(_("A run is already in progress: stop it first."), error=True)
            return False
        config = config or self.controls.config()
        try:
            config.validate()
        except ValueError as exc:
            self._message(str(exc), error=True)
            return False
        self.curves.begin_run(config.epochs, config.learning_rate, config.patience if config.early_stopping else None)
        self.epoch_history = []
        self.histograms.clear()
        self.last_finished = None
        self.diagnosis_label.setText("")
        self.final_label.show_message(_(monitor.TEST_SHARE_NOTE) if config.test_fraction > 0 else
                                      _("No test share is held out (test fraction 0): only train and validation."))
        self.tta_row.set_run(None, False)
        self._last_step, self._labelled_epochs, self._end_shown = None, 0, False
        self.bar.show_fraction(0.0)
        self.worker = TrainingWorker(config, resume_run=resume, parent_run=parent_run, change=change)
        self.worker.finished.connect(self._on_worker_finished)
        threads.track(self.worker)
        self.worker.start()
        self.timer.start(REDRAW_MS)  # the first drain soon (a run's last wait may have set up to 0.5 s)
        self.bar.set_running(True)
        self._message(_("Loading data…") if resume is None else _("Resuming {run}…").format(run=resume.run_id))
        return True

    def toggle_pause(self) -> None:
        if self.worker is None or not self.worker.isRunning():
            return
        if self.worker.paused:
            self.worker.resume()
            self.bar.set_paused(False)
            self._message(_("Training resumed."))
        else:
            self.worker.pause()
            self.bar.set_paused(True)
            self._message(_("Paused: the trainer waits between two steps. Press Resume to continue."))

    def stop_training(self, reason: str = N_("stopped by the user")) -> bool:
        """Ask the run to stop and wait up to 2 s; the run and its last good checkpoint stay saved."""
        if self.worker is None:
            return True
        stopped = self.worker.stop_and_wait(2000, reason)
        if not stopped:
            log.warning("training worker did not stop within 2 s")
        self._drain()
        return stopped

    def _on_worker_finished(self) -> None:
        self._drain()
        if self.isVisible():
            self._redraw()  # the end, whatever the budget: the bar and the plots show the last epoch
        self.timer.stop()
        self.bar.set_running(False)
        self.run_list.refresh()

    def _drain(self) -> None:
        """Take everything the worker produced since the last tick; redraw when the budget allows."""
        if self.worker is None:
            return
        batch = []
        outbox = self.worker.outbox
        while outbox:
            event = outbox.popleft()
            if isinstance(event, (monitor.StepReport, monitor.EpochReport, monitor.Finished)):
                batch.append(event)
            elif isinstance(event, monitor.DataProgress):
                self.bar.show_fraction(event.fraction)
                self._message(event.text)
            elif isinstance(event, monitor.RunStarted):
                self._on_started(event)
            elif isinstance(event, monitor.RunFailed):
                self._message(event.text, error=True)
                self.final_label.show_message("")  # no run, so nothing will be evaluated at its end
        if batch:
            self._take_events(batch)
        visible = self.isVisible()
        if visible:
            self._redraw_within_budget()
        if self.worker.isRunning():
            wait_s = max(REDRAW_MS / 1000, self._next_redraw - time.perf_counter()) if visible else \
                HIDDEN_DRAIN_MS / 1000
            self.timer.start(int(wait_s * 1000))

    def _take_events(self, batch: list) -> None:
        """Store the events' numbers; what they change on screen waits for the next redraw."""
        self.curves.add_events(batch)
        for event in batch:
            if isinstance(event, monitor.EpochReport):
                self.epoch_history.append({k: v for k, v in vars(event).items() if not k.startswith("histogram")})
                self.histograms.add(event.epoch, event.histograms, event.histogram_ranges)
            elif isinstance(event, monitor.StepReport):
                self._last_step = event
            elif isinstance(event, monitor.Finished):
                self.last_finished = event
                self._end_shown = False

    def _redraw_within_budget(self) -> None:
        now = time.perf_counter()
        if now < self._next_redraw:
            return
        self._redraw()
        cost = time.perf_counter() - now + self.curves.last_paint_s  # this update + the latest paint
        self._redraw_cost = 0.7 * self._redraw_cost + 0.3 * cost  # smoothed: one slow full paint is no trend
        self._next_redraw = now + min(self._redraw_cost / GUI_BUDGET, MAX_REDRAW_GAP_S)

    def _redraw(self) -> None:
        """Everything about the run on screen, from the same data: plots, progress, status and diagnosis."""
        self.curves.refresh()
        self.smoothing.show_reporting(self.curves.steps_per_report, self.curves.steps_per_epoch)
        if self.histograms.isVisible():
            self.histograms.redraw()
        epochs = self.curves.drawn_epochs
        if epochs != self._labelled_epochs and epochs == len(self.epoch_history) and epochs:
            self._labelled_epochs = epochs
            verdict = monitor.diagnose(self.epoch_history)
            # Named by run and epoch: the form (and the header) may already describe the next run, and the
            # final line quotes the restored epoch's weights, not the last epoch's.
            title = _("{run} · diagnosis, epoch {epoch} weights:").format(run=self._run_name, epoch=epochs)
            self.diagnosis_label.setText(f"<b>{html.escape(title)}</b> {html.escape(verdict.line())}")
            self.diagnosis_label.setToolTip(verdict.line())  # the whole sentence when two lines cut it
            last = self.epoch_history[-1]
            self._message(_("Epoch {epoch}/{epochs}: train loss {train_loss:.3f} (eval mode), val loss "
                            "{val_loss:.3f}, val acc {val_acc:.1%}; {early_stopping}").format(
                epoch=last["epoch"], epochs=self.worker.config.epochs, train_loss=self.curves.epochs["train_loss"][-1],
                val_loss=last["val_loss"], val_acc=last["val_acc"], early_stopping=self.curves.early_stopping_text))
        if self._last_step is not None and not self._end_shown:
            self.bar.show_step(self._last_step)
        if self.last_finished is not None and not self._end_shown:  # last, so its message is the one that stays
            self._end_shown = True
            self._show_end(self.last_finished)

    def _on_started(self, started: monitor.RunStarted) -> None:
        self.class_names = started.class_names
        run = started.run
        self._run_name = _("Run {name}").format(name=run.short_name)
        self.model_label.setText(_("Run {name} · {count:,} trainable parameters · {steps} steps per epoch").format(
            name=run.name, count=started.parameter_count, steps=started.steps_per_epoch))
        self.curves.set_steps_per_epoch(started.steps_per_epoch)
        if started.start_epoch:
            self.curves.load_history(started.history)
            self.epoch_history = list(started.history["epochs"])
        self.run_list.refresh()
        self.run_list.select(run.run_id)

    def _show_end(self, event: monitor.Finished) -> None:
        self._message(_("Run {status}: {message}.").format(status=_(event.status), message=event.message),
                      error=event.status == "diverged")
        fraction = self._last_step.fraction if self._last_step is not None else 0.0
        self.curves.end_run()  # the x axis fits the epochs run (an early stop ends before the last)
        self.bar.show_end(event.status, len(self.epoch_history), self.worker.config.epochs, fraction)
        self.final_label.show_message(f"{self._run_name} · {monitor.final_summary(event)}")
        self.final_label.setToolTip(_(monitor.TEST_SHARE_NOTE))  # the why stays one hover away
        self.results_page.set_result(event, self.class_names)
        record = self.worker.run_record
        self.tta_row.set_run(record.folder if record is not None else None, event.test_acc is not None)

    def _message(self, text: str, error: bool = False) -> None:
        self.status_label.show_message(text, error)

    def _update_parameter_count(self) -> None:
        config = self.controls.config()
        try:
            count, shape, classes = monitor.count_parameters(config)
        except (ValueError, RuntimeError) as exc:
            self.model_label.setText(_("This model does not fit the data: {reason}").format(reason=exc))
            return
        text = (_("{model}: {count:,} trainable parameters for {shape} inputs") if classes else
                _("{model}: {count:,} trainable parameters for {shape} inputs (with 2 classes; choose the folder to "
                  "count its classes)"))
        self.model_label.setText(text.format(model=config.model.name, count=count, shape="×".join(map(str, shape))))

    def watch_folder(self, path: str) -> None:
        """Show the "Watched logs" tab watching `path` (File → Watch folder…, `visionlab monitor LOGDIR`)."""
        self.tabs.setCurrentWidget(self.watch_view)
        self.watch_view.watch(path)

    # -- Panel contract -----------------------------------------------------------------------------
    def panel_shown(self) -> None:
        self.run_list.refresh()
        if self.worker is not None:
            self._drain()
            self._redraw()  # catch up at once with what was trained while hidden

    def panel_hidden(self) -> None:
        """A run keeps training while another panel is shown; `_drain` draws nothing until it is back."""

    def shutdown(self) -> None:
        self.timer.stop()
        self.watch_view.shutdown()
        self.stop_training(N_("stopped: the window was closed"))
        self.jobs.shutdown(2.0)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("config", json.dumps(self.controls.config().to_dict()))
        settings.setValue("ema_window", self.window_spin.value())
        settings.setValue("tab", self.tabs.currentIndex())

    def restore_settings(self, settings: QSettings) -> None:
        try:
            self.controls.set_config(monitor.TrainConfig.from_dict(json.loads(str(settings.value("config", "{}")))))
            self.window_spin.setValue(int(settings.value("ema_window", 10)))
            self.tabs.setCurrentIndex(int(settings.value("tab", 0)))
        except (ValueError, TypeError) as exc:  # an old or hand-edited settings file: keep the defaults
            log.warning("ignoring saved training settings: %s", exc)
