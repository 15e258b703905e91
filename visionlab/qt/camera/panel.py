"""Live Camera: detection and segmentation on a webcam, a video or synthetic shapes, inference off the GUI.

Capture and inference run on two QThreads joined by LatestSlots (CameraStream, wired by core's Pipeline);
this panel only pulls the newest result on a ~30 Hz timer, draws the overlay with the current settings and
shows the numbers. The pickers live in CameraSources and CameraModels; every finite job (model builds,
downloads, analyses, snapshots) runs on the panel's one JobRunner.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QScrollArea, QTabWidget, QWidget

from visionlab.core.camera import live
from visionlab.core.i18n import _
from visionlab.qt.camera.budget import ModelBudgetTable
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.camera.inside_model_view import InsideView
from visionlab.qt.camera.models import CameraModels
from visionlab.qt.camera.proposals_view import ProposalsView
from visionlab.qt.camera.recording import CameraRecording
from visionlab.qt.camera.sources import CameraSources
from visionlab.qt.camera.stream import CameraStream
from visionlab.qt.camera.view import CameraView
from visionlab.qt.camera.weights_bar import WeightsBar
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout, row_layout
from visionlab.qt.common.theme import StatusLine
from visionlab.qt.panel import Panel

log = logging.getLogger(__name__)

DRAW_INTERVAL_MS = 33  # ~30 Hz: the display never needs more, and the GUI stays free
STATS_EVERY_TICKS = 6
SHUTDOWN_S = 2.0  # the stream and the jobs together get this much when the window closes


class CameraPanel(Panel):
    def __init__(self, parent=None, store: live.WeightsStore | None = None) -> None:
        super().__init__(parent)
        self.store = store or live.WeightsStore()
        self.jobs = JobRunner(self)
        self.stream = CameraStream(self)
        self.stream.message.connect(self.show_message)
        self.last_result: live.InferenceResult | None = None
        self.last_image: np.ndarray | None = None
        self.recording = CameraRecording(self.jobs, self)
        self.recording.message.connect(self.show_message)
        self._ticks = 0
        self._awaiting_paint: tuple[live.InferenceResult, float] | None = None
        self._steps_wanted = 0
        self._streaming_wanted = True
        self._build_ui()
        self.sources = CameraSources(self.controls, self.jobs, self)
        self.sources.source_chosen.connect(self.open_source)
        self.stream.fell_back.connect(lambda _source: self.sources.fall_back())  # the picker names what streams
        self.sources.message.connect(self.show_message)
        self.models = CameraModels(self.controls, self.weights_bar, self.budget, self.store, self.jobs, self)
        self.models.detector_loaded.connect(self.stream.set_detector)
        self.models.detector_loaded.connect(self._model_switched)
        self.models.message.connect(self.show_message)
        self.sources.fill()
        self.models.fill()  # also sizes the picker's list to its longest entry
        self.timer = QTimer(self)
        self.timer.setInterval(DRAW_INTERVAL_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer drifted to ≈27 draws a second
        self.timer.timeout.connect(self._on_tick)

    @property
    def detector(self):
        return self.models.detector

    @property
    def measured_fps(self) -> dict[str, float]:
        return self.models.measured_fps

    @measured_fps.setter
    def measured_fps(self, values: dict[str, float]) -> None:
        self.models.measured_fps = values

    # -- layout -------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.view = CameraView()
        self.view.frame_painted.connect(self._on_painted)
        self.weights_bar = WeightsBar()
        # Wide enough for "31.0 of 74.2 MB" and "the connection went silent, reconnecting" at 1024×700 (its row
        # otherwise gives it ≈90 px); the bar drops the file name from the downloader's messages.
        self.weights_bar.progress.setMinimumWidth(280)
        self.message_label = StatusLine(timestamps=True)  # the stream's messages arrive on their own
        live = QWidget()
        live_layout = column_layout(live)
        live_layout.addWidget(self.weights_bar)
        live_layout.addWidget(self.view, 1)
        live_layout.addWidget(self.message_label)
        self.budget = ModelBudgetTable()
        self.tabs = QTabWidget()
        self.tabs.addTab(live, _("Live"))
        self.tabs.addTab(self.budget, _("Model budget"))
        self.inside_view = InsideView()
        self.tabs.addTab(self.inside_view, _("Inside the model"))
        self.proposals_view = ProposalsView(self.jobs, lambda: (self.detector, self.last_result, self.stream.source))
        self.tabs.addTab(self.proposals_view, _("Proposals"))
        self.controls = CameraControls()
        side = QScrollArea()
        side.setWidget(self.controls)
        side.setWidgetResizable(True)
        side.setMinimumWidth(330)
        side.setMaximumWidth(430)
        self.side = side
        layout = row_layout(self, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(side)
        c = self.controls
        c.size_combo.activated.connect(lambda _index: self._restart_source())
        c.loop_check.toggled.connect(lambda _checked: self._restart_source())
        c.overlay_changed.connect(self.redraw)
        c.stream_button.clicked.connect(self._toggle_streaming)
        c.pause_button.toggled.connect(self.set_paused)
        c.step_button.clicked.connect(self.step)
        c.snapshot_button.clicked.connect(lambda: self.recording.snapshot(self.last_image))
        c.record_button.toggled.connect(self.set_recording)
        self.inside_view.analyse_requested.connect(self.analyse_frame)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # The side column takes a share of a wide window, so long model names fit there; 330 px at 1024.
        self.side.setFixedWidth(max(330, min(430, int(self.width() * 0.27))))
        super().resizeEvent(event)

    # -- sources ------------------------------------------------------------------------------------
    def open_source(self, kind: str, value: object = None) -> None:
        """Stream from a source (a running stream switches source; the model keeps running)."""
        self.sources.choice = (kind, value)
        source = self.sources.make(kind, value)
        self.show_message(_("Source: {source}").format(source=source.description))
        if self._streaming_wanted and self.isVisible():
            self._start(source)

    def _restart_source(self) -> None:
        if self.stream.running:
            self.open_source(*self.sources.choice)

    def _start(self, source: live.FrameSource | None = None) -> None:
        self.stream.start(source or self.sources.make())
        self.timer.start()
        self.controls.stream_button.setText(_("Stop"))

    def stop_streaming(self, wait: bool = True) -> bool:
        self.timer.stop()
        stopped = self.stream.stop(wait)
        self.controls.stream_button.setText(_("Start"))
        return stopped

    def _toggle_streaming(self) -> None:
        self._streaming_wanted = not self.stream.running
        if self._streaming_wanted:
            self._start()
        else:
            self.stop_streaming()

    def set_paused(self, paused: bool) -> None:
        # Pausing freezes the picture on screen: results of frames still in flight are not shown,
        # only those a single step asks for (so "analyse this frame" means the frame you see).
        self._steps_wanted = 0
        self.stream.control.set_paused(paused)
        self.controls.step_button.setEnabled(paused)

    def step(self) -> None:
        self._steps_wanted += 1
        self.stream.control.step()

    # -- models (CameraModels does the work) ----------------------------------------------------------
    def select_model(self, name: str) -> None:
        self.models.select_model(name)

    def load_model(self, name: str) -> None:
        self.models.load_model(name)

    def download_weights(self, mirror: str | None = None) -> None:
        self.models.download_weights(mirror)

    def open_checkpoint(self, path: str) -> None:
        """Run a Training Monitor checkpoint live ("Run live", or the picker's "Open checkpoint…"): it loads as
        the panel's "load" job, off the GUI thread; a file that does not open is a sentence in the messages.
        The source becomes the random shape scenes the model was trained on, unless the student streams a file
        of their own (a video or photos of shapes): a webcam or the orbiting shapes would show it nothing it knows."""
        self.models.open_checkpoint(path)
        scenes = ("synthetic", live.SHAPE_SCENES)
        combo = self.controls.source_combo
        offered = any(tuple(combo.itemData(index)) == scenes for index in range(combo.count()))
        if offered and self.sources.choice[0] not in live.FILE_KINDS and tuple(self.sources.choice) != scenes:
            self.open_source(*scenes)

    # -- drawing ------------------------------------------------------------------------------------
    def _on_tick(self) -> None:
        result = self.stream.results.get_nowait()
        if result is not None and self.stream.control.paused:
            if self._steps_wanted == 0 or (self.last_result and result.frame.index <= self.last_result.frame.index):
                result = None  # in flight when the user paused, or older than the picture shown
            else:
                self._steps_wanted -= 1
        if result is not None:
            self.last_result = result
            started = time.perf_counter()
            self.redraw()
            # Counted when the view has painted it (_on_painted); a newer result before that replaces it.
            self._awaiting_paint = (result, time.perf_counter() - started)
            if self.last_image is not None:
                self.recording.put(self.last_image)
        self._ticks += 1
        if self._ticks % STATS_EVERY_TICKS == 0:
            self._show_stats()

    def _on_painted(self, painted_at: float) -> None:
        if self._awaiting_paint is not None:
            result, draw_s = self._awaiting_paint
            self._awaiting_paint = None
            self.stream.stats.record_display(result, draw_s, now=painted_at)

    def redraw(self) -> None:
        """Draw the last result with the current overlay settings (also on a paused frame)."""
        result = self.last_result
        if result is None:
            return
        detections = result.detections
        options = self.controls.overlay_options(detections.categories if detections is not None else ())
        self.last_image = live.render_overlay(result.frame.image, detections, options)
        self.view.set_image(self.last_image)
        if detections is not None:
            self.controls.legend.setText(live.legend_html(detections, options))

    def _model_switched(self, detector) -> None:
        """Numbers of the previous model must not stand beside the new one's name: start them afresh."""
        self.stream.stats.switch_model(detector.name, self.stream.dropped)
        self.inside_view.model_changed(live.short_name(detector.name), getattr(detector, "task", "detection"))
        self._show_stats()

    def _show_stats(self) -> None:
        stats = self.stream.stats
        name = self.detector.name if self.detector is not None else ""
        # Stage times only when they are this model's (stats of a fresh stream adopt its first result).
        stage_ms = stats.stage_ms() if stats.model_name in (None, name) else {}
        self.controls.stats_view.show_stats(stats.snapshot(self.stream.dropped), stage_ms, live.short_name(name))
        # The budget's FPS is what the model alone sustains (1 / pre+model+post), not capped by the source.
        fps = stats.model_fps() if stats.model_name == name else None
        if fps is not None:
            self.models.record_fps(fps)

    def show_message(self, text: str) -> None:
        self.message_label.show_message(text)

    # -- inside the model ---------------------------------------------------------------------------
    def analyse_frame(self, top_n: int = 30) -> None:
        """Pause, then run the model stage by stage on the frame on screen (an "inside" job)."""
        if not live.supports_inside(self.detector) or self.last_result is None:
            self.inside_view.note.setText(_(live.NO_INSIDE))
            return
        self.controls.pause_button.setChecked(True)
        detector = self.detector
        self.jobs.start("inside", live.analyse, detector, self.last_result.frame.image, top_n,
                        on_done=lambda inside: self._analysis_done(detector, inside),
                        on_error=lambda text: self.show_message(_("Analysis failed: {reason}").format(reason=text)))

    def _analysis_done(self, detector, inside) -> None:
        if detector is self.detector:  # a model switched during the analysis: its result is not shown
            self.inside_view.show_analysis(inside)

    def set_recording(self, on: bool) -> None:
        if on:
            rate = self.stream.stats.display.rate()
            self.recording.start(self.controls.record_format.currentData(), rate if rate > 0 else 15.0)
        else:
            self.recording.stop()

    # -- panel life cycle ---------------------------------------------------------------------------
    def panel_shown(self) -> None:
        if self.detector is None and not self.models.loading:
            self.select_model(self.controls.model_combo.currentData() or live.default_model())
        if self._streaming_wanted and not self.stream.running:
            self._start()

    def panel_hidden(self) -> None:
        self.stop_streaming(wait=False)  # the camera and the model rest while another panel is shown

    def shutdown(self) -> None:
        """Bounded: the stream's threads and the jobs stop together within 2 s; one still busy is retired."""
        deadline = time.monotonic() + SHUTDOWN_S
        self.recording.shutdown()  # finishing the file is a job: started before the runner closes
        self.jobs.close()  # every job is asked to stop now, while the stream stops
        self.stop_streaming()
        self.jobs.shutdown(max(0.0, deadline - time.monotonic()))

    def save_settings(self, settings: QSettings) -> None:
        self.controls.save_state(settings)
        self.weights_bar.save_settings(settings)  # the classroom mirror
        settings.setValue("source", json.dumps(list(self.sources.choice)))
        settings.setValue("measured_fps", json.dumps(self.measured_fps))
        settings.setValue("checkpoints", json.dumps(self.models.checkpoints))

    def restore_settings(self, settings: QSettings) -> None:
        try:  # checkpoints opened before, still on disk, are back in the picker (the saved model may be one)
            saved = [str(path) for path in json.loads(settings.value("checkpoints", "[]"))]
        except (ValueError, TypeError):
            saved = []
        self.models.checkpoints = [path for path in saved if Path(path).is_file()]
        self.models.fill()
        self.controls.restore_state(settings, default_model=live.default_model())
        self.weights_bar.restore_settings(settings)
        try:
            self.measured_fps = {str(k): float(v) for k, v in json.loads(settings.value("measured_fps", "{}")).items()}
            kind, value = json.loads(settings.value("source", '["", null]'))
        except (ValueError, TypeError, AttributeError):
            self.measured_fps, kind, value = {}, "", None
        self.models.refresh_budget()
        self.sources.restore(kind, value)

    # -- screenshot ---------------------------------------------------------------------------------
    def prepare_screenshot(self) -> None:
        """MTCNN on the astronaut photo when its package is here (real faces); otherwise synthetic shapes
        through the CPU default detector. Boxes and numbers visible."""
        model = live.default_model()
        self.controls.threshold_slider.setValue(50 if model == live.mtcnn.NAME else 0)
        self.controls.max_spin.setValue(6)
        if model == live.mtcnn.NAME and live.SAMPLE_PHOTO.is_file():
            self.open_source("image", str(live.SAMPLE_PHOTO))
            if self.stream.running:  # already streaming the default source while the window was not yet shown
                self._start()
        else:
            self.open_source("synthetic")
        if self.detector is None or self.detector.name != model:
            self.select_model(model)

    def screenshot_ready(self) -> bool:
        stats = self.stream.stats
        return (self.lesson_screenshot_ready() and stats.display.count >= 4 and bool(self.measured_fps))

    def lesson_screenshot_ready(self) -> bool:
        """A lesson may open another tab than Live, where no frame is displayed: its model's results suffice."""
        return (self.last_result is not None and self.last_result.detections is not None
                and self._ticks > 2 * STATS_EVERY_TICKS)
