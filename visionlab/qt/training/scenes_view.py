"""The Training Monitor's "Detect & segment" tab: train the lecture's FCN or Faster R-CNN on shape scenes.

A few settings, Train / Stop, the live curves (scenes_curves.py), a status line whose numbers come from the
trainer's events, and after each epoch the model's masks or boxes on four validation frames. The run is a
finite job on the panel's JobRunner (core's `run_scene_task`, which writes the run folder); its events go
into a deque that a timer drains a few times a second, so the GUI never trains and is never woken per step.
When a run ends with a checkpoint, "Run live" and "Open in Feature Maps" hand its best.pt path on
(`run_live_requested`, `open_in_features_requested`; the main window connects them).
"""

from __future__ import annotations

import collections
import dataclasses
import math
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.i18n import N_, _
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished, SceneStep
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.theme import StatusLine
from visionlab.qt.training.scenes_curves import SceneCurves
from visionlab.qt.training.scenes_preview import TILE_HEIGHT, PreviewStrip

JOB_KIND = "scene training"
DRAIN_MS = 200  # the curves and lines update 5 times a second at most
PREVIEW_FRAMES = 4
PREVIEW_SHARE = 0.17  # of the tab's height the preview frames may take
TASK_CHOICES = ((N_("Segmentation: FCN"), "segment"), (N_("Detection: Faster R-CNN"), "detect"))


def train_scenes(config: SceneConfig, outbox: collections.deque, previews: int, should_stop, progress) -> None:
    """The job: a whole run, every event appended to `outbox` for the GUI to drain (runs in the job thread)."""
    from visionlab.core.training.scenes.run import run_scene_task

    for event in run_scene_task(config, None, should_stop, progress, previews=previews):
        outbox.append(event)


class ScenesView(QWidget):
    run_live_requested = Signal(str)  # best.pt of the run that just ended
    open_in_features_requested = Signal(str)

    def __init__(self, jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        # What the form does not show (frame size, batch size, validation frames): tests make runs tiny here.
        self.base_config = SceneConfig.for_task("segment")
        self.outbox: collections.deque = collections.deque()
        self.config: SceneConfig | None = None  # of the run shown
        self.finished: SceneFinished | None = None
        self.checkpoint_path: str | None = None
        self._best: tuple[float, int] | None = None
        self.run_folder: Path | None = None
        self._build()
        self.timer = QTimer(self, interval=DRAIN_MS)
        self.timer.timeout.connect(self._drain)

    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        form = QGridLayout()
        form.setHorizontalSpacing(6)
        self.task_combo = QComboBox()
        for label, task in TASK_CHOICES:
            self.task_combo.addItem(_(label), task)
        start = SceneConfig.for_task("segment")
        self.epochs_spin = self._spin(1, 1000, start.epochs)
        self.frames_spin = self._spin(16, 100_000, 2000, step=100)
        self.width_spin = self._spin(4, 256, start.width, tip=_("channels of the first conv stage; later "
                                                                          "stages double it"))
        self.budget_spin = QDoubleSpinBox(decimals=0, minimum=0, maximum=86_400, value=0, singleStep=30,
                                          suffix=_(" s"), specialValueText=_("none"))
        self.budget_spin.setToolTip(_("stop training after this many seconds (none: run every epoch)"))
        self.lr_edit = QLineEdit(f"{start.lr:g}")
        self.lr_edit.setMaximumWidth(80)
        for widget in (self.epochs_spin, self.frames_spin, self.width_spin, self.budget_spin):
            widget.setMaximumWidth(90)
        fields = ((_("Task"), self.task_combo), (_("Epochs"), self.epochs_spin),
                  (_("Training frames"), self.frames_spin), (_("Width"), self.width_spin),
                  (_("Time budget"), self.budget_spin), (_("Learning rate"), self.lr_edit))
        for index, (label, widget) in enumerate(fields):
            row, col = divmod(index, 3)
            form.addWidget(QLabel(label), row, 2 * col)
            form.addWidget(widget, row, 2 * col + 1)
        self.train_button = QPushButton(_("Train"))
        self.stop_button = QPushButton(_("Stop"))
        self.run_live_button = QPushButton(_("Run live"))
        self.run_live_button.setToolTip(_("run the best epoch's model on the Live Camera"))
        self.features_button = QPushButton(_("Open in Feature Maps"))
        self.features_button.setToolTip(_("see the best epoch's model's filters and feature maps"))
        form.addWidget(self.train_button, 0, 6)
        form.addWidget(self.stop_button, 1, 6)
        form.setColumnStretch(7, 1)
        form.addWidget(self.run_live_button, 0, 8)
        form.addWidget(self.features_button, 1, 8)
        column.addLayout(form)
        self.task_combo.currentIndexChanged.connect(lambda _index: self._task_chosen())
        self.train_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.run_live_button.clicked.connect(lambda: self.run_live_requested.emit(self.checkpoint_path or ""))
        self.features_button.clicked.connect(lambda: self.open_in_features_requested.emit(self.checkpoint_path or ""))
        self.status_line = StatusLine(_("Choose a task and press Train: the scenes are generated, then the model "
                                        "trains on them."), lines=1)
        self.result_line = StatusLine("", lines=2)
        column.addWidget(self.status_line)
        column.addWidget(self.result_line)
        self.curves = SceneCurves()
        column.addWidget(self.curves, 1)
        self.preview = PreviewStrip(PREVIEW_FRAMES)
        column.addWidget(self.preview)
        self._set_running(False)

    @staticmethod
    def _spin(low: int, high: int, value: int, step: int = 1, tip: str = "") -> QSpinBox:
        spin = QSpinBox(minimum=low, maximum=high, value=value, singleStep=step)
        spin.setToolTip(tip)
        return spin

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # The previews give up height first in a small window: the curves need it more.
        self.preview.set_tile_height(max(72, min(TILE_HEIGHT, int(PREVIEW_SHARE * event.size().height()))))
        super().resizeEvent(event)

    # -- settings -----------------------------------------------------------------------------------
    def form_config(self) -> SceneConfig:
        """The form's settings on top of `base_config`; ValueError with a sentence for values that cannot work."""
        text = self.lr_edit.text().strip()
        try:
            lr = float(text)
        except ValueError:
            raise ValueError(_("the learning rate must be a number such as 0.002, not '{text}'").format(
                text=text)) from None
        budget = self.budget_spin.value()
        config = dataclasses.replace(self.base_config, task=self.task_combo.currentData(),
                                     epochs=self.epochs_spin.value(), train_frames=self.frames_spin.value(),
                                     width=self.width_spin.value(), time_budget_s=budget if budget > 0 else None,
                                     lr=lr)
        config.validate()
        return config

    def _task_chosen(self) -> None:
        """A task's own measured starting point (SceneConfig.for_task) for the fields the form shows."""
        defaults = SceneConfig.for_task(self.task_combo.currentData())
        self.epochs_spin.setValue(defaults.epochs)
        self.width_spin.setValue(defaults.width)
        self.lr_edit.setText(f"{defaults.lr:g}")

    def set_form(self, config: SceneConfig) -> None:
        self.base_config = config
        self.task_combo.setCurrentIndex(max(0, self.task_combo.findData(config.task)))
        self.epochs_spin.setValue(config.epochs)
        self.frames_spin.setValue(config.train_frames)
        self.width_spin.setValue(config.width)
        self.budget_spin.setValue(config.time_budget_s or 0)
        self.lr_edit.setText(f"{config.lr:g}")

    # -- running ------------------------------------------------------------------------------------
    def start(self) -> bool:
        if self.jobs.is_running(JOB_KIND):
            self._say(_("A run is already in progress: stop it first."), error=True)
            return False
        try:
            config = self.form_config()
        except ValueError as exc:
            self._say(_("Cannot train: {reason}.").format(reason=exc), error=True)
            return False
        self.config, self.finished, self.checkpoint_path, self._best = config, None, None, None
        self.outbox = collections.deque()
        self.curves.begin_run(config.task, config.epochs, config.metric_name)
        self.preview.clear()
        self.result_line.show_message("")
        self._set_running(True)
        self._say(_("Starting…"))
        self.jobs.start(JOB_KIND, train_scenes, config, self.outbox, PREVIEW_FRAMES,
                        on_done=lambda _result: self._job_ended(), on_cancel=self._job_ended,
                        on_error=self._job_failed,
                        on_progress=lambda fraction, text: text and self._say(text))
        self.timer.start()
        return True

    def stop(self) -> None:
        """Ask the run to stop at its next step; it still saves the best epoch and reports how it ended."""
        if self.jobs.is_running(JOB_KIND):
            self.jobs.cancel(JOB_KIND)
            self._say(_("Stopping at the next step…"))

    @property
    def running(self) -> bool:
        return self.jobs.is_running(JOB_KIND)

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.task_combo, self.epochs_spin, self.frames_spin, self.width_spin, self.budget_spin,
                       self.lr_edit):
            widget.setEnabled(not running)
        ready = not running and self.checkpoint_path is not None
        self.run_live_button.setEnabled(ready)
        self.features_button.setEnabled(ready)

    def _job_ended(self) -> None:
        self._drain()
        self.timer.stop()
        self._set_running(False)

    def _job_failed(self, text: str) -> None:
        self._job_ended()
        self._say(_("The run failed: {reason}").format(reason=text), error=True)

    def _drain(self) -> None:
        """Everything the job produced since the last tick: stored by the curves, then drawn once."""
        events = []
        while self.outbox:
            events.append(self.outbox.popleft())
        if not events:
            return
        self.curves.add_events(events)
        for event in events:
            self._show(event)
        self.curves.refresh()

    def _show(self, event) -> None:
        from visionlab.core.training.scenes.run import SceneRunStarted

        config = self.config
        assert config is not None  # events come only from a started run
        if isinstance(event, SceneRunStarted):
            self.run_folder = event.folder
            self._say(_("Training {task} on {train} generated scenes ({val} held out), {width}×{height}; run folder "
                        "{folder}").format(task=_(config.task), train=event.train_count, val=event.val_count,
                                           width=event.config.frame_width, height=event.config.frame_height,
                                           folder=event.folder))
        elif isinstance(event, SceneStep):
            eta = _(", about {seconds:.0f} s left").format(seconds=event.eta_s) if math.isfinite(event.eta_s) else ""
            self._say(_("Epoch {epoch}/{epochs} · step {step} · loss {loss:.3f} · {speed:.0f} frames/s · "
                        "{fraction:.0%} done").format(epoch=math.ceil(event.epoch), epochs=config.epochs,
                                                      step=event.step, loss=event.losses["loss"],
                                                      speed=event.samples_per_s, fraction=event.fraction) + eta)
        elif isinstance(event, SceneEpoch):
            if math.isfinite(event.metric) and (self._best is None or event.metric > self._best[0]):
                self._best = (event.metric, event.epoch)
            best = " " + _("(best {value:.3f} at epoch {epoch})").format(value=self._best[0], epoch=self._best[1]) \
                if self._best else ""
            self.result_line.show_message(
                _("Epoch {epoch}/{epochs}: train loss {train_loss:.3f}, val loss {val_loss:.3f}, val {metric} "
                  "{value:.3f}{best}; {seconds:.0f} s since training began (validations included)").format(
                    epoch=event.epoch, epochs=config.epochs, train_loss=event.train_loss, val_loss=event.val_loss,
                    metric=event.metric_name, value=event.metric, best=best, seconds=event.seconds))
        elif isinstance(event, SceneFinished):
            self._show_end(event)
        elif hasattr(event, "images"):  # a ScenePreview (core's run_preview, not imported here: it loads torch)
            self.preview.show_preview(event)

    def _show_end(self, event: SceneFinished) -> None:
        self.finished = event
        self.checkpoint_path = event.extra.get("checkpoint_path")  # set by run.py once best.pt is on disk
        saved = " " + (_("The best epoch's model is saved as {path}.").format(path=self.checkpoint_path)
                       if self.checkpoint_path else _("No epoch was scored, so no model was saved."))
        # Detection's message already says how the run ended ("Training finished after …"): no "Run finished:"
        said = event.status == "finished" and event.message.startswith(_("Training finished"))
        self._say(event.message if said else _("Run {status}: {message}").format(status=_(event.status),
                                                                                   message=event.message),
                  error=event.status == "diverged")
        if event.best_epoch:
            self.result_line.show_message(_("Best {metric} {value:.3f} at epoch {epoch} of {epochs}, {seconds:.0f} s "
                                            "of training and validation.").format(
                metric=event.metric_name, value=event.metric, epoch=event.best_epoch,
                epochs=len(self.curves.epochs["epoch"]), seconds=event.seconds) + saved)
        else:
            self.result_line.show_message(saved.strip())

    def _say(self, text: str, error: bool = False) -> None:
        self.status_line.show_message(text, error)

    # -- screenshot -----------------------------------------------------------------------------------
    def prepare_screenshot(self, task: str = "detect") -> None:
        """A short real run (about a minute on 2 cores): a few epochs of curves and previews to show."""
        if task == "detect":
            config = SceneConfig(task="detect", epochs=4, train_frames=160, width=16, batch_size=8, val_frames=32)
        else:
            config = SceneConfig(task="segment", epochs=6, train_frames=400, width=16, batch_size=16, val_frames=40)
        self.set_form(config)
        self.start()

    def screenshot_ready(self) -> bool:
        return self.finished is not None and not self.running and self.preview.shown_epoch > 0
