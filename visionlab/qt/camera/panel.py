"""Live Camera: detection and segmentation on a webcam, a video or synthetic shapes, inference off the GUI.

Capture and inference run on two QThreads joined by LatestSlots (CameraStream); this panel only pulls
the newest result on a ~30 Hz timer, draws the overlay with the current settings and shows the numbers.
Models load (and download, only on request) through JobWorkers.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime

import numpy as np
import torch
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from visionlab.core.camera.detectors import CLASSICAL_MODELS, CPU_DEFAULTS, TORCH_TASKS, load_detector
from visionlab.core.camera.inside_model import analyse_rcnn, analyse_segmentation, supports_inside
from visionlab.core.camera.overlay import class_color, classes_in_view, render_overlay
from visionlab.core.camera.pipeline import InferenceResult
from visionlab.core.camera.sources import FILE_KINDS, FrameSource, list_cameras, probe_cameras, source_from_choice
from visionlab.core.weights.store import DownloadCancelled, WeightsStore
from visionlab.qt.panel import Panel
from visionlab.qt.camera.budget import ModelBudgetTable
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.camera.inside_model_view import InsideView
from visionlab.qt.camera.view import CameraView
from visionlab.qt.camera.weights_bar import WeightsBar
from visionlab.qt.camera.recording import CameraRecording
from visionlab.qt.camera.stream import CameraStream
from visionlab.qt.common.jobs import JobWorker

log = logging.getLogger(__name__)

DRAW_INTERVAL_MS = 33  # ~30 Hz: the display never needs more, and the GUI stays free
STATS_EVERY_TICKS = 6


class CameraPanel(Panel):

    def __init__(self, parent=None, store: WeightsStore | None = None) -> None:
        super().__init__(parent)
        self.store = store or WeightsStore()
        self.stream = CameraStream(self)
        self.stream.message.connect(self.show_message)
        self.detector = None
        self.last_result: InferenceResult | None = None
        self.last_image: np.ndarray | None = None
        self.measured_fps: dict[str, float] = {}
        self.recording = CameraRecording(self)
        self.recording.message.connect(self.show_message)
        self._jobs: dict[str, JobWorker] = {}
        self._ticks = 0
        self._steps_wanted = 0
        self._streaming_wanted = True
        self._source_choice: tuple[str, object] = ("synthetic", None)
        self._build_ui()
        self._fill_choices()
        self.timer = QTimer(self)
        self.timer.setInterval(DRAW_INTERVAL_MS)
        self.timer.timeout.connect(self._on_tick)

    # -- layout -------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.view = CameraView()
        self.weights_bar = WeightsBar()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        live = QWidget()
        live_layout = QVBoxLayout(live)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addWidget(self.weights_bar)
        live_layout.addWidget(self.view, 1)
        live_layout.addWidget(self.message_label)
        self.budget = ModelBudgetTable()
        self.tabs = QTabWidget()
        self.tabs.addTab(live, "Live")
        self.tabs.addTab(self.budget, "Model budget")
        self.inside_view = InsideView()
        self.tabs.addTab(self.inside_view, "Inside the model")
        self.controls = CameraControls()
        side = QScrollArea()
        side.setWidget(self.controls)
        side.setWidgetResizable(True)
        side.setMinimumWidth(330)
        side.setMaximumWidth(400)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(side)
        c = self.controls
        c.source_combo.activated.connect(self._on_source_activated)
        c.size_combo.activated.connect(lambda _: self._restart_source())
        c.loop_check.toggled.connect(lambda _: self._restart_source())
        c.model_combo.activated.connect(lambda _: self.load_model(c.model_combo.currentData()))
        c.device_combo.activated.connect(lambda _: self.load_model(c.model_combo.currentData()))
        c.overlay_changed.connect(self.redraw)
        c.stream_button.clicked.connect(self._toggle_streaming)
        c.pause_button.toggled.connect(self.set_paused)
        c.step_button.clicked.connect(self.step)
        c.snapshot_button.clicked.connect(lambda: self.recording.snapshot(self.last_image))
        c.record_button.toggled.connect(self.set_recording)
        self.inside_view.analyse_requested.connect(self.analyse_frame)
        self.weights_bar.download_requested.connect(lambda: self.download_weights())
        self.weights_bar.import_requested.connect(self._import_weights)
        self.weights_bar.cancel_requested.connect(lambda: self._cancel_job("download"))
        self.weights_bar.classical_requested.connect(self.select_model)

    def _fill_choices(self) -> None:
        c = self.controls
        c.source_combo.clear()
        c.source_combo.addItem("Synthetic shapes", ("synthetic", None))
        cameras = list_cameras()
        for camera in cameras:
            c.source_combo.addItem(f"Camera {camera.index}: {camera.name}", ("camera", camera.index))
        for kind, text in FILE_KINDS.items():
            c.source_combo.addItem(f"{text}…", (kind, None))
        kind, value = self._source_choice
        c.source_combo.setCurrentIndex(max(0, c.source_combo.findData((kind, None if kind in FILE_KINDS else value))))
        if not cameras and sys.platform != "linux" and "probe" not in self._jobs:
            # No video4linux names elsewhere: open indices 0-3 off the GUI thread (slow on some drivers).
            probe = JobWorker(lambda progress, should_stop: probe_cameras(), parent=self)
            probe.succeeded.connect(self._add_probed_cameras)
            self._run_job("probe", probe)
        c.device_combo.clear()
        c.device_combo.addItem("auto", "auto")
        c.device_combo.addItem("cpu", "cpu")
        if torch.cuda.is_available():
            c.device_combo.addItem(f"cuda ({torch.cuda.get_device_name(0)})", "cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            c.device_combo.addItem("Apple MPS", "mps")
        current = c.model_combo.currentData() or CPU_DEFAULTS["detection"]
        c.model_combo.clear()
        for name, description in CLASSICAL_MODELS.items():
            c.model_combo.addItem(description, name)
        self.cards = [card for task in TORCH_TASKS for card in self.store.cards(task)]
        for card in self.cards:
            state = "" if self.store.is_available(card.name) else "  (no weights)"
            c.model_combo.addItem(f"{card.name}{state}", card.name)
        c.model_combo.setCurrentIndex(max(0, c.model_combo.findData(current)))
        self._refresh_budget()

    def _add_probed_cameras(self, cameras: list) -> None:
        for offset, camera in enumerate(cameras, start=1):
            self.controls.source_combo.insertItem(offset, f"Camera {camera.index}", ("camera", camera.index))

    def _refresh_budget(self) -> None:
        available = {card.name: self.store.is_available(card.name) for card in self.cards}
        self.budget.set_models(self.cards, available, self.measured_fps)

    # -- sources ------------------------------------------------------------------------------------
    def _on_source_activated(self, index: int) -> None:
        kind, value = self.controls.source_combo.itemData(index)
        if kind in FILE_KINDS:
            if kind == "folder":
                value = QFileDialog.getExistingDirectory(self, "Image folder")
            else:
                filters = "Videos (*.avi *.mp4 *.mkv *.mov *.webm)" if kind == "video" else \
                    "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
                value, _ = QFileDialog.getOpenFileName(self, FILE_KINDS[kind], "", filters)
            if not value:
                return
        self.open_source(kind, value)

    def make_source(self, kind: str, value: object) -> FrameSource:
        width, height = self.controls.frame_size()
        return source_from_choice(kind, value, width, height, loop=self.controls.loop_check.isChecked())

    def open_source(self, kind: str, value: object = None) -> None:
        """Stream from a source (a running stream switches source; the model keeps running)."""
        self._source_choice = (kind, value)
        source = self.make_source(kind, value)
        self.show_message(f"Source: {source.description}")
        if self._streaming_wanted and self.isVisible():
            self._start(source)

    def _restart_source(self) -> None:
        if self.stream.running:
            self.open_source(*self._source_choice)

    def _start(self, source: FrameSource | None = None) -> None:
        if source is None:
            source = self.make_source(*self._source_choice)
        self.stream.start(source)
        self.timer.start()
        self.controls.stream_button.setText("Stop")

    def stop_streaming(self, wait: bool = True) -> bool:
        self.timer.stop()
        stopped = self.stream.stop(wait)
        self.controls.stream_button.setText("Start")
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

    # -- models -------------------------------------------------------------------------------------
    def select_model(self, name: str) -> None:
        index = self.controls.model_combo.findData(name)
        if index >= 0:
            self.controls.model_combo.setCurrentIndex(index)
        self.load_model(name)

    def load_model(self, name: str) -> None:
        self._cancel_job("load")
        device = self.controls.device_combo.currentData()
        self.controls.model_status.setText(f"loading {name}…")
        size = self.controls.frame_size()
        job = JobWorker(load_detector, name, device, store=self.store, size=size, parent=self)
        job.progressed.connect(lambda _f, text: self.controls.model_status.setText(text))
        # A load the user has since replaced may still finish (building cannot be interrupted): ignore it.
        job.succeeded.connect(lambda detector: self._jobs.get("load") is job and self._on_model_loaded(detector))
        job.failed.connect(lambda text: self._on_job_failed("load", f"Could not load {name}: {text}"))
        self._run_job("load", job)

    def _on_model_loaded(self, detector) -> None:
        self.detector = detector
        self.stream.set_detector(detector)
        weights = "pretrained" if detector.pretrained else "random-init"
        self.controls.model_status.setText(f"{detector.name} on {detector.device} ({weights})")
        if detector.notice:
            self.show_message(detector.notice)
        if detector.pretrained or detector.name in CLASSICAL_MODELS:
            self.weights_bar.hide()
        else:
            card = self.store.card(detector.name)
            self.weights_bar.show_missing(detector.name, card.file_size_mb)
        self._refresh_budget()

    def download_weights(self, url: str | None = None) -> None:
        """Download the chosen model's weights (from `url`, e.g. a local mirror, when given)."""
        name = self.controls.model_combo.currentData()
        job = JobWorker(self.store.download, name, url=url, parent=self)
        job.progressed.connect(self.weights_bar.show_progress)
        job.succeeded.connect(lambda _path: self._after_weights_arrived(name, "downloaded"))
        job.failed.connect(lambda text: self._on_job_failed("download", f"Download of {name} failed: {text}"))
        self.weights_bar.show_downloading(True)
        self._run_job("download", job)

    def _import_weights(self) -> None:
        name = self.controls.model_combo.currentData()
        path, _ = QFileDialog.getOpenFileName(self, f"Weights for {name}", "", "PyTorch weights (*.pth *.pt)")
        if path:
            job = JobWorker(lambda progress, should_stop: self.store.import_file(name, path), parent=self)
            job.succeeded.connect(lambda _path: self._after_weights_arrived(name, "imported"))
            job.failed.connect(lambda text: self._on_job_failed("import", f"Import failed: {text}"))
            self._run_job("import", job)

    def _after_weights_arrived(self, name: str, how: str) -> None:
        self.show_message(f"Weights of {name} {how}.")
        self._fill_choices()
        self.select_model(name)

    # -- jobs ---------------------------------------------------------------------------------------
    def _run_job(self, kind: str, job: JobWorker) -> None:
        self._jobs[kind] = job
        job.finished.connect(lambda: self._jobs.get(kind) is job and self._jobs.pop(kind))
        job.finished.connect(job.deleteLater)
        job.start()

    def _cancel_job(self, kind: str, wait: bool = False) -> None:
        """Ask a job to stop; only shutdown waits for it (a model build cannot be interrupted)."""
        job = self._jobs.pop(kind, None)
        if job is not None:
            job.requestInterruption()
            if wait:
                job.wait()
            if kind == "download":
                self.weights_bar.show_downloading(False)
                self.show_message("Download cancelled: nothing was kept.")

    def _on_job_failed(self, kind: str, text: str) -> None:
        if kind == "download":
            self.weights_bar.show_downloading(False)
            if DownloadCancelled.__name__ in text:
                text = "Download cancelled: nothing was kept."
        if kind == "load":
            self.controls.model_status.setText("no model loaded")
        self.show_message(text)

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
            self.stream.stats.record_display(result, time.perf_counter() - started)
            if self.last_image is not None:
                self.recording.put(self.last_image)
        self._ticks += 1
        if self._ticks % STATS_EVERY_TICKS == 0:
            self._show_stats()

    def redraw(self) -> None:
        """Draw the last result with the current overlay settings (also on a paused frame)."""
        result = self.last_result
        if result is None:
            return
        detections = result.detections
        options = self.controls.overlay_options(detections.categories if detections is not None else ())
        self.last_image = render_overlay(result.frame.image, detections, options)
        self.view.set_image(self.last_image)
        if detections is not None:
            legend = " ".join(f"<span style='color: rgb{class_color(label)}'>■</span> {name}"
                              for label, name in classes_in_view(detections, options))
            self.controls.legend.setText(f"classes in view: {legend or '–'}")

    def _show_stats(self) -> None:
        snapshot = self.stream.stats.snapshot(self.stream.dropped)
        stage_ms = self.stream.stats.stage_ms()
        self.controls.stats_view.show_stats(snapshot, stage_ms)
        # The budget's FPS is what the model alone sustains (1 / pre+model+post), not capped by the source.
        model_ms = stage_ms["preprocess"] + stage_ms["model"] + stage_ms["postprocess"]
        if self.detector is not None and model_ms > 0 and snapshot["inference_fps"] > 0:
            self.measured_fps[self.detector.name] = 1000.0 / model_ms
            self.budget.set_measured(self.detector.name, 1000.0 / model_ms)

    def show_message(self, text: str) -> None:
        self.message_label.setText(f"{datetime.now():%H:%M:%S}  {text}")

    # -- inside the model ---------------------------------------------------------------------------
    def analyse_frame(self, top_n: int = 30) -> None:
        """Pause, then run the model stage by stage on the frame on screen (in a JobWorker)."""
        kind = supports_inside(self.detector)
        if not kind or self.last_result is None:
            self.inside_view.note.setText("Pick Faster R-CNN, Mask R-CNN or a segmentation model (and let a frame "
                                          "arrive) to look inside it; SSD, RetinaNet, FCOS and the classical "
                                          "detectors have no proposal stage to show.")
            return
        self.controls.pause_button.setChecked(True)
        detector, frame = self.detector, self.last_result.frame.image
        analyse = (lambda: analyse_rcnn(detector, frame, top_n)) if kind == "rcnn" else \
            (lambda: analyse_segmentation(detector, frame))
        job = JobWorker(lambda progress, should_stop: analyse(), parent=self)
        job.succeeded.connect(self.inside_view.show_analysis)
        job.failed.connect(lambda text: self.show_message(f"Analysis failed: {text}"))
        self._run_job("inside", job)

    def set_recording(self, on: bool) -> None:
        if on:
            self.recording.start(self.controls.record_format.currentData(), self.stream.stats.display.rate() or 15.0)
        else:
            self.recording.stop()

    # -- panel life cycle ---------------------------------------------------------------------------
    def panel_shown(self) -> None:
        if self.detector is None and "load" not in self._jobs:
            self.select_model(self.controls.model_combo.currentData() or CPU_DEFAULTS["detection"])
        if self._streaming_wanted and not self.stream.running:
            self._start()

    def panel_hidden(self) -> None:
        self.stop_streaming(wait=False)  # the camera and the model rest while another panel is shown

    def shutdown(self) -> None:
        self.stop_streaming()
        for kind in list(self._jobs):
            self._cancel_job(kind, wait=True)
        for job in self.findChildren(JobWorker):  # replaced loads still finishing: never leave one running
            job.wait()
        self.recording.shutdown()

    def save_settings(self, settings: QSettings) -> None:
        self.controls.save_state(settings)
        settings.setValue("source", json.dumps(list(self._source_choice)))
        settings.setValue("measured_fps", json.dumps(self.measured_fps))

    def restore_settings(self, settings: QSettings) -> None:
        self.controls.restore_state(settings, default_model=CPU_DEFAULTS["detection"])
        try:
            self.measured_fps = {str(k): float(v) for k, v in json.loads(settings.value("measured_fps", "{}")).items()}
            kind, value = json.loads(settings.value("source", '["", null]'))
        except (ValueError, TypeError, AttributeError):
            self.measured_fps, kind, value = {}, "", None
        self._refresh_budget()
        self._choose_first_source(kind, value)

    def _choose_first_source(self, kind: str, value: object) -> None:
        """The saved source if it still makes sense, else the first camera, else synthetic (with a message)."""
        cameras = [self.controls.source_combo.itemData(i) for i in range(self.controls.source_combo.count())
                   if self.controls.source_combo.itemData(i)[0] == "camera"]
        if kind in FILE_KINDS and value:
            self._source_choice = (kind, value)
        elif cameras:
            self._source_choice = cameras[0] if (kind, value) not in cameras else (kind, value)
        else:
            self._source_choice = ("synthetic", None)
            if kind != "synthetic":
                self.show_message("No camera found: showing the synthetic source "
                                  "(pick a video or images on the right).")
        index = self.controls.source_combo.findData(self._source_choice) if kind not in FILE_KINDS else -1
        if index >= 0:
            self.controls.source_combo.setCurrentIndex(index)

    # -- screenshot ---------------------------------------------------------------------------------
    def prepare_screenshot(self) -> None:
        """Synthetic shapes through the CPU default detector, boxes and numbers visible."""
        self.controls.threshold_slider.setValue(0)
        self.controls.max_spin.setValue(6)
        self.open_source("synthetic")
        if self.detector is None or self.detector.name != CPU_DEFAULTS["detection"]:
            self.select_model(CPU_DEFAULTS["detection"])

    def screenshot_ready(self) -> bool:
        stats = self.stream.stats
        return (self.last_result is not None and self.last_result.detections is not None
                and stats.display.count >= 4 and bool(self.measured_fps) and self._ticks > 2 * STATS_EVERY_TICKS)
