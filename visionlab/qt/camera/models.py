"""The Live Camera's models: the model and device pickers, loading, weights (download / import), the budget.

A model loads as a "load" job of the panel's JobRunner; choosing another model while one builds replaces
the job (the old build cannot be interrupted: it finishes on its own and is dropped). Weights arrive only
when the student asks (Download / Import), never silently.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from visionlab.core.camera import live
from visionlab.qt.camera.budget import ModelBudgetTable
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.camera.weights_bar import WeightsBar
from visionlab.qt.common.jobs import JobRunner

CANCELLED = "Download cancelled: nothing was kept."


class CameraModels(QObject):
    detector_loaded = Signal(object)  # the detector now running in the stream
    message = Signal(str)

    def __init__(self, controls: CameraControls, weights_bar: WeightsBar, budget: ModelBudgetTable,
                 store: live.WeightsStore, jobs: JobRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.controls, self.weights_bar, self.budget = controls, weights_bar, budget
        self.store, self.jobs = store, jobs
        self.detector: Any = None
        self.cards: list[live.ModelCard] = []
        self.measured_fps: dict[str, float] = {}
        self._dialog_parent = parent
        controls.model_combo.activated.connect(lambda _: self.load_model(controls.model_combo.currentData()))
        controls.device_combo.activated.connect(lambda _: self.load_model(controls.model_combo.currentData()))
        weights_bar.download_requested.connect(lambda: self.download_weights())
        weights_bar.import_requested.connect(self._ask_import)
        weights_bar.cancel_requested.connect(self.cancel_download)
        weights_bar.classical_requested.connect(self.select_model)

    @property
    def loading(self) -> bool:
        return self.jobs.is_running("load")

    def fill(self) -> None:
        """(Re)fill the device and model pickers, keeping the current model."""
        c = self.controls
        c.device_combo.clear()
        for label, device in live.device_choices():
            c.device_combo.addItem(label, device)
        current = c.model_combo.currentData() or live.CPU_DEFAULTS["detection"]
        c.model_combo.clear()
        for name, description in live.CLASSICAL_MODELS.items():
            c.model_combo.addItem(description, name)
        self.cards = live.model_cards(self.store)
        for card in self.cards:
            state = "" if self.store.is_available(card.name) else "  (no weights)"
            c.model_combo.addItem(f"{card.name}{state}", card.name)
        c.model_combo.setCurrentIndex(max(0, c.model_combo.findData(current)))
        self.refresh_budget()

    def refresh_budget(self) -> None:
        available = {card.name: self.store.is_available(card.name) for card in self.cards}
        self.budget.set_models(self.cards, available, self.measured_fps)

    def record_fps(self, fps: float) -> None:
        """What the current model alone sustains, measured by the stream (1 / pre + model + post)."""
        if self.detector is not None:
            self.measured_fps[self.detector.name] = fps
            self.budget.set_measured(self.detector.name, fps)

    # -- loading --------------------------------------------------------------------------------------
    def select_model(self, name: str) -> None:
        index = self.controls.model_combo.findData(name)
        if index >= 0:
            self.controls.model_combo.setCurrentIndex(index)
        self.load_model(name)

    def load_model(self, name: str) -> None:
        device = self.controls.device_combo.currentData()
        self.controls.model_status.setText(f"loading {name}…")
        self.jobs.start("load", live.load_detector, name, device, store=self.store, size=self.controls.frame_size(),
                        on_progress=lambda _fraction, text: self.controls.model_status.setText(text),
                        on_done=self._loaded,
                        on_error=lambda text: self._load_failed(f"Could not load {name}: {text}"))

    def _loaded(self, detector: Any) -> None:
        self.detector = detector
        weights = "pretrained" if detector.pretrained else "random-init"
        self.controls.model_status.setText(f"{detector.name} on {detector.device} ({weights})")
        if detector.notice:
            self.message.emit(detector.notice)
        if detector.pretrained or detector.name in live.CLASSICAL_MODELS:
            self.weights_bar.hide()
        else:
            self.weights_bar.show_missing(detector.name, self.store.card(detector.name).file_size_mb)
        self.refresh_budget()
        self.detector_loaded.emit(detector)

    def _load_failed(self, text: str) -> None:
        self.controls.model_status.setText("no model loaded")
        self.message.emit(text)

    # -- weights --------------------------------------------------------------------------------------
    def download_weights(self, url: str | None = None) -> None:
        """Download the chosen model's weights (from `url`, e.g. a local mirror, when given)."""
        name = self.controls.model_combo.currentData()
        self.weights_bar.show_downloading(True)
        self.jobs.start("download", self.store.download, name, url=url, on_progress=self.weights_bar.show_progress,
                        on_done=lambda _path: self._weights_arrived(name, "downloaded"),
                        on_error=lambda text: self._download_ended(f"Download of {name} failed: {text}"),
                        on_cancel=lambda: self._download_ended(CANCELLED))

    def cancel_download(self) -> None:
        """Ask the download to stop; the bar says so at once (the job removes its partial file)."""
        if self.jobs.is_running("download"):
            self.jobs.cancel("download")
            self._download_ended(CANCELLED)

    def _download_ended(self, text: str) -> None:
        self.weights_bar.show_downloading(False)
        self.message.emit(CANCELLED if live.DownloadCancelled.__name__ in text else text)

    def _ask_import(self) -> None:
        name = self.controls.model_combo.currentData()
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, f"Weights for {name}", "",
                                              "PyTorch weights (*.pth *.pt)")
        if path:
            self.import_weights(name, path)

    def import_weights(self, name: str, path: str) -> None:
        self.jobs.start("import", self.store.import_file, name, path,
                        on_done=lambda _path: self._weights_arrived(name, "imported"),
                        on_error=lambda text: self.message.emit(f"Import failed: {text}"))

    def _weights_arrived(self, name: str, how: str) -> None:
        self.weights_bar.show_downloading(False)
        self.message.emit(f"Weights of {name} {how}.")
        self.fill()
        self.select_model(name)
