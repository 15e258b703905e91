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
from visionlab.core.i18n import N_, _
from visionlab.core.weights.card import WeightsError
from visionlab.qt.camera.budget import ModelBudgetTable
from visionlab.qt.camera.controls import CameraControls
from visionlab.qt.camera.weights_bar import WeightsBar
from visionlab.qt.common.jobs import JobRunner

CANCELLED = N_("Download cancelled: nothing was kept.")  # shown with _()
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
        controls.model_combo.activated.connect(
            lambda _index: self._model_activated(controls.model_combo.currentData()))
        controls.model_combo.currentIndexChanged.connect(lambda _index: self._show_model_tooltip())  # connected once
        controls.device_combo.activated.connect(lambda _index: self.load_model(controls.model_combo.currentData()))
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
            self._add_model(live.display_name(name), name, _(description))
        installed = live.mtcnn.is_available()  # a stat of three small files, no import of the package
        for name, description in live.PACKAGED_MODELS.items():
            self._add_model(live.display_name(name) if installed else _("{model} (not installed)").format(
                model=live.display_name(name)), name, _(description) if installed else live.mtcnn.missing())
        self.cards = live.model_cards(self.store)
        for card in self.cards:
            shown = live.display_name(card.name)
            if self.store.imported_path(card.name):
                shown = _("{model} (imported, unverified)").format(model=shown)
            elif not self.store.is_available(card.name):
                shown = _("{model} (no weights)").format(model=shown)
            self._add_model(shown, card.name, f"{card.name}: {card.summary()}")
        for path in self.checkpoints:  # by run folder too: every run of the Training Monitor keeps a best.pt
            self._add_model(_("{run}/{file} (trained checkpoint)").format(run=Path(path).parent.name,
                                                                         file=Path(path).name), path, path)
        self._add_model(_("Open checkpoint…"), OPEN_CHECKPOINT,
                        _("a segment or detect model trained in the Training Monitor (its best.pt)"))
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
                weights_item.setText(_("imported, unverified"))

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
        path, _filter = QFileDialog.getOpenFileName(
            self._dialog_parent, _("Open a trained segment / detect checkpoint"), str(live.checkpoint_folder()),
            _("Checkpoints (*.pt *.pth *.ckpt)"))
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
        self.controls.model_status.setText(_("loading {model}…").format(model=name))
        self.jobs.start("load", live.load_detector, name, device, store=self.store, size=self.controls.frame_size(),
                        on_progress=lambda _fraction, text: self.controls.model_status.setText(text),
                        on_done=self._loaded,
                        on_error=lambda text: self._load_failed(name, store_sentence(text)))

    def _loaded(self, detector: Any) -> None:
        self.detector = detector
        if live.is_checkpoint_path(detector.name):  # trained by the student: no store, no weights to fetch
            self.controls.model_status.setText(_("{model} on {device} (trained checkpoint)").format(
                model=Path(detector.name).name, device=detector.device))
            self.controls.model_status.setToolTip(detector.name)
            self.weights_bar.hide()
            self.controls.set_task(detector.task)
            self.detector_loaded.emit(detector)
            return
        # What the build loaded, remembered by the store (memory only: no file is read on the GUI thread).
        packaged = detector.name in live.PACKAGED_MODELS
        source = self.store.loaded_source(detector.name) \
            if detector.name not in live.CLASSICAL_MODELS and not packaged else None
        weights = _("random-init") if not detector.pretrained else _("pretrained, from facenet-pytorch") \
            if packaged else _("classical") if source is None else \
            _("pretrained: {weights}").format(weights=source.label) if source.verified else source.label
        self.controls.model_status.setText(_("{model} on {device} ({weights})").format(
            model=detector.name, device=detector.device, weights=weights))
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
        self.controls.model_status.setText(_("no model loaded"))
        if name in self.checkpoints:  # a file that does not open leaves the picker (it names what runs)
            self.checkpoints.remove(name)
            self.fill()
            self._show_running_model()
            if self.detector is not None:
                self.controls.model_status.setText(_("{model} still runs").format(model=Path(self.detector.name).name))
        self.message.emit(_("Could not load {model}: {reason}").format(model=Path(name).name, reason=text))

    # -- weights --------------------------------------------------------------------------------------
    def download_weights(self, mirror: str | None = None) -> None:
        """Download the chosen model's published weights (from the `mirror` folder, else the bar's setting)."""
        name = self.controls.model_combo.currentData()
        self.weights_bar.show_downloading(True)
        self.jobs.start("download", self.store.download, name, mirror=mirror or self.weights_bar.mirror or None,
                        on_progress=self.weights_bar.show_progress,
                        on_done=lambda _path: self._weights_arrived(name, _("Weights of {model} downloaded, sha256 "
                                                                            "checked.").format(model=name)),
                        on_error=lambda text: self._download_ended(store_sentence(text)),
                        on_cancel=lambda: self._download_ended(_(CANCELLED)))

    def cancel_download(self) -> None:
        """Ask the download to stop; the bar says so at once (the job removes its partial file)."""
        if self.jobs.is_running("download"):
            self.jobs.cancel("download")
            self._download_ended(_(CANCELLED))

    def _download_ended(self, text: str) -> None:
        self.weights_bar.show_downloading(False)
        self.message.emit(_(CANCELLED) if live.DownloadCancelled.__name__ in text else text)

    def _ask_import(self) -> None:
        name = self.controls.model_combo.currentData()
        path, _filter = QFileDialog.getOpenFileName(self._dialog_parent, _("Weights for {model}").format(model=name),
                                                    "", _("PyTorch weights (*.pth *.pt)"))
        if path:
            self.import_weights(name, path)

    def import_weights(self, name: str, path: str) -> None:
        self.jobs.start("import", self.store.import_file, name, path,
                        on_done=lambda path: self._weights_arrived(name, _("Weights of {model} imported from "
                                                                           "{file}.").format(model=name,
                                                                                             file=path.name)),
                        on_error=lambda text: self.message.emit(store_sentence(text)))

    def _weights_arrived(self, name: str, sentence: str) -> None:
        self.weights_bar.show_downloading(False)
        self.message.emit(sentence)
        self.fill()
        self.select_model(name)


def store_sentence(text: str) -> str:
    """The store's own sentence, without the "WeightsError: " the JobRunner puts before every error (an
    unexpected exception keeps its type: that one is a bug to report)."""
    return text.removeprefix(f"{WeightsError.__name__}: ")
