"""The Live Camera's models: the model and device pickers, loading, weights (download / import), the budget.

A model loads as a "load" job of the panel's JobRunner; choosing another model while one builds replaces
the job (the old build cannot be interrupted: it finishes on its own and is dropped). Weights arrive only
when the student asks (Download, from torchvision or the bar's classroom mirror / Import), never silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from visionlab.core.camera import live
from visionlab.core.weights.card import WeightsError
from visionlab.qt.camera.budget import ModelBudgetTable
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.camera.weights_bar import WeightsBar
from visionlab.qt.common.jobs import JobRunner

CANCELLED = "Download cancelled: nothing was kept."
OPEN_CHECKPOINT = "open-checkpoint"  # the data of the picker's last entry, "Open checkpoint…"


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
        self.checkpoints: list[str] = []  # scene checkpoints opened here, listed in the picker (their paths)
        self._dialog_parent = parent
        controls.model_combo.activated.connect(lambda _: self._model_activated(controls.model_combo.currentData()))
        controls.model_combo.currentIndexChanged.connect(lambda _: self._show_model_tooltip())  # connected once
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
        current = c.model_combo.currentData() or live.default_model()
        c.model_combo.clear()
        for name, description in live.CLASSICAL_MODELS.items():
            self._add_model(live.display_name(name), name, description)
        installed = live.mtcnn.is_available()  # a stat of three small files, no import of the package
        for name, description in live.PACKAGED_MODELS.items():
            self._add_model(live.display_name(name) + ("" if installed else " (not installed)"), name,
                            description if installed else live.mtcnn.MISSING)
        self.cards = live.model_cards(self.store)
        for card in self.cards:
            state = " (imported, unverified)" if self.store.imported_path(card.name) else \
                "" if self.store.is_available(card.name) else " (no weights)"
            self._add_model(f"{live.display_name(card.name)}{state}", card.name, f"{card.name}: {card.summary()}")
        for path in self.checkpoints:  # by run folder too: every run of the Training Monitor keeps a best.pt
            self._add_model(f"{Path(path).parent.name}/{Path(path).name} (trained checkpoint)", path, path)
        self._add_model("Open checkpoint…", OPEN_CHECKPOINT,
                        "a segment or detect model trained in the Training Monitor (its best.pt)")
        c.model_combo.setCurrentIndex(max(0, c.model_combo.findData(current)))
        self._fit_model_picker()
        self.refresh_budget()

    def _add_model(self, shown: str, name: str, tooltip: str) -> None:
        combo = self.controls.model_combo
        combo.addItem(shown, name)
        combo.setItemData(combo.count() - 1, tooltip, Qt.ItemDataRole.ToolTipRole)

    def _fit_model_picker(self) -> None:
        """The picker's list is as wide as its longest entry, measured on every (re)fill."""
        combo = self.controls.model_combo
        metrics = combo.fontMetrics()
        widest = max((metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0)
        combo.view().setMinimumWidth(widest + 40)  # + the scroll bar and the item margins
        self._show_model_tooltip()

    def _show_model_tooltip(self) -> None:
        combo = self.controls.model_combo
        combo.setToolTip(str(combo.currentData(Qt.ItemDataRole.ToolTipRole) or combo.currentText()))

    def refresh_budget(self) -> None:
        available = {card.name: self.store.is_available(card.name) for card in self.cards}
        self.budget.set_models(self.cards, available, self.measured_fps)
        # An imported file is here but is not the published one: the table must not call it "downloaded".
        # (A directory listing only: no file is read or hashed on the GUI thread.)
        imported = {card.name for card in self.cards if self.store.imported_path(card.name)}
        weights_column = self.budget.columnCount() - 1
        for row in range(self.budget.rowCount()):
            name_item, weights_item = self.budget.item(row, 0), self.budget.item(row, weights_column)
            if name_item is not None and weights_item is not None and name_item.text() in imported:
                weights_item.setText("imported, unverified")

    def record_fps(self, fps: float) -> None:
        """What the current model alone sustains, measured by the stream (1 / pre + model + post)."""
        if self.detector is not None:
            self.measured_fps[self.detector.name] = fps
            self.budget.set_measured(self.detector.name, fps)

    # -- loading --------------------------------------------------------------------------------------
    def _model_activated(self, name: str) -> None:
        if name != OPEN_CHECKPOINT:
            self.load_model(name)
            return
        path = self.ask_checkpoint_path()
        if path:
            self.open_checkpoint(path)
        else:  # cancelled: the picker names the model that runs again
            self._show_running_model()

    def ask_checkpoint_path(self) -> str:
        """The file dialog behind "Open checkpoint…" (tests call open_checkpoint instead)."""
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, "Open a trained segment / detect checkpoint",
                                              str(live.checkpoint_folder()), "Checkpoints (*.pt *.pth *.ckpt)")
        return path

    def open_checkpoint(self, path: str) -> None:
        """List a Training Monitor checkpoint in the picker and load it (as a "load" job, like any model)."""
        path = str(Path(path).resolve())
        if path not in self.checkpoints:
            self.checkpoints.append(path)
            self.fill()
        self.select_model(path)

    def _show_running_model(self) -> None:
        combo = self.controls.model_combo
        running = combo.findData(self.detector.name) if self.detector is not None else -1
        combo.setCurrentIndex(running if running >= 0 else max(0, combo.findData(live.default_model())))

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
                        on_error=lambda text: self._load_failed(name, store_sentence(text)))

    def _loaded(self, detector: Any) -> None:
        self.detector = detector
        if live.is_checkpoint_path(detector.name):  # trained by the student: no store, no weights to fetch
            self.controls.model_status.setText(f"{Path(detector.name).name} on {detector.device} (trained checkpoint)")
            self.controls.model_status.setToolTip(detector.name)
            self.weights_bar.hide()
            self.controls.set_task(detector.task)
            self.detector_loaded.emit(detector)
            return
        # What the build loaded, remembered by the store (memory only: no file is read on the GUI thread).
        packaged = detector.name in live.PACKAGED_MODELS
        source = self.store.loaded_source(detector.name) \
            if detector.name not in live.CLASSICAL_MODELS and not packaged else None
        weights = "random-init" if not detector.pretrained else "pretrained, from facenet-pytorch" if packaged \
            else "classical" if source is None else f"pretrained: {source.label}" if source.verified else source.label
        self.controls.model_status.setText(f"{detector.name} on {detector.device} ({weights})")
        self.controls.model_status.setToolTip(source.description if source is not None else "")
        if detector.notice:
            self.message.emit(detector.notice)
        if detector.name in live.CLASSICAL_MODELS or packaged or (source is not None and source.verified):
            self.weights_bar.hide()
        elif source is not None:
            self.weights_bar.show_unverified(source)
        else:
            self.weights_bar.show_missing(detector.name, self.store.card(detector.name).file_size_mb, detector.task)
        self.controls.set_task(detector.task)
        self.refresh_budget()
        self.detector_loaded.emit(detector)

    def _load_failed(self, name: str, text: str) -> None:
        self.controls.model_status.setText("no model loaded")
        if name in self.checkpoints:  # a file that does not open leaves the picker (it names what runs)
            self.checkpoints.remove(name)
            self.fill()
            self._show_running_model()
            if self.detector is not None:
                self.controls.model_status.setText(f"{Path(self.detector.name).name} still runs")
        self.message.emit(f"Could not load {Path(name).name}: {text}")

    # -- weights --------------------------------------------------------------------------------------
    def download_weights(self, mirror: str | None = None) -> None:
        """Download the chosen model's published weights (from the `mirror` folder, else the bar's setting)."""
        name = self.controls.model_combo.currentData()
        self.weights_bar.show_downloading(True)
        self.jobs.start("download", self.store.download, name, mirror=mirror or self.weights_bar.mirror or None,
                        on_progress=self.weights_bar.show_progress,
                        on_done=lambda _path: self._weights_arrived(name, "downloaded, sha256 checked"),
                        on_error=lambda text: self._download_ended(store_sentence(text)),
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
                        on_done=lambda path: self._weights_arrived(name, f"imported from {path.name}"),
                        on_error=lambda text: self.message.emit(store_sentence(text)))

    def _weights_arrived(self, name: str, how: str) -> None:
        self.weights_bar.show_downloading(False)
        self.message.emit(f"Weights of {name} {how}.")
        self.fill()
        self.select_model(name)


def store_sentence(text: str) -> str:
    """The store's own sentence, without the "WeightsError: " the JobRunner puts before every error (an
    unexpected exception keeps its type: that one is a bug to report)."""
    return text.removeprefix(f"{WeightsError.__name__}: ")
