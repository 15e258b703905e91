"""The main window: one tab per existing panel, a status bar with the compute device, menus.

Panels that need torch are created only after a background thread has imported it, so the window is
painted first (see `visionlab bench startup`).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from visionlab import __version__
from visionlab.core import paths
from visionlab.qt.common import threads
from visionlab.qt.common.first_paint import FirstPaintWatcher
from visionlab.qt.common.torch_loader import TorchLoader
from visionlab.qt.panel import Panel, PanelInfo, available_panels

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1400, 900)


class PanelSlot(QWidget):
    """Holds one panel; creates it on first view (and only once torch is loaded, if it needs torch)."""

    def __init__(self, info: PanelInfo, settings: QSettings, parent=None) -> None:
        super().__init__(parent)
        self.info = info
        self.panel: Panel | None = None
        self._settings = settings
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._message = QLabel("Loading torch and torchvision…" if info.needs_torch else "Loading…")
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._message)

    def ensure_panel(self, torch_ready: bool) -> Panel | None:
        if self.panel is None and (torch_ready or not self.info.needs_torch):
            try:
                self.panel = self.info.load_class()(parent=self)
            except Exception as exc:  # a broken panel must not take the app down
                log.exception("could not create panel %s", self.info.panel_id)
                self._message.setText(f"The {self.info.title} panel could not start:\n{type(exc).__name__}: {exc}")
                return None
            self._message.hide()
            self._layout.addWidget(self.panel)
            self._settings.beginGroup(self.info.panel_id)
            try:
                self.panel.restore_settings(self._settings)
            finally:
                self._settings.endGroup()
        return self.panel

    def show_error(self, text: str) -> None:
        self._message.setText(text)


class MainWindow(QMainWindow):
    first_painted = Signal()

    def __init__(self, settings: QSettings, initial_panel: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"VisionLab {__version__}")
        self.settings = settings
        self.torch_ready = False
        self._painted = False
        self._current: PanelSlot | None = None
        self._pending_watch: str | None = None  # a log folder for the Training panel once it exists
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.slots: dict[str, PanelSlot] = {}
        for info in available_panels():
            slot = PanelSlot(info, settings)
            self.slots[info.panel_id] = slot
            self.tabs.addTab(slot, info.title)
        self.device_label = QLabel("Device: loading torch…")
        self.statusBar().addPermanentWidget(self.device_label)
        self._build_menus()
        self._restore_geometry()
        wanted = initial_panel or str(settings.value("window/panel", "optimizer"))
        if wanted in self.slots:
            self.tabs.setCurrentWidget(self.slots[wanted])
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._on_tab_changed(self.tabs.currentIndex())
        self.torch_loader = threads.track(TorchLoader(self))
        self.torch_loader.loaded.connect(self._on_torch_loaded)
        self.torch_loader.failed.connect(self._on_torch_failed)
        self._paint_watcher = FirstPaintWatcher(self, self._on_first_paint)

    # -- panels -------------------------------------------------------------------------------------
    def current_panel(self) -> Panel | None:
        slot = self.tabs.currentWidget()
        return slot.panel if isinstance(slot, PanelSlot) else None

    def panel(self, panel_id: str) -> Panel | None:
        return self.slots[panel_id].panel

    def show_panel(self, panel_id: str) -> None:
        self.tabs.setCurrentWidget(self.slots[panel_id])

    def _on_tab_changed(self, index: int) -> None:
        slot = self.tabs.widget(index)
        if self._current is not None and self._current is not slot and self._current.panel is not None:
            self._current.panel.panel_hidden()
        self._current = slot if isinstance(slot, PanelSlot) else None
        if self._current is not None:
            created = self._current.panel is None
            panel = self._current.ensure_panel(self.torch_ready)
            if panel is not None and created:
                self._link_panel(self._current.info.panel_id, panel)
            if panel is not None:
                panel.panel_shown()
                self._start_pending_watch()
                self.statusBar().showMessage(self._current.info.title, 2000)

    def _link_panel(self, panel_id: str, panel: Panel) -> None:
        """The links between panels, made when a panel is created: a model trained in the Training Monitor
        runs on the Live Camera ("Run live") and opens in Feature Maps."""
        if panel_id == "training":
            panel.run_live_requested.connect(self.run_live)
            panel.open_in_features_requested.connect(self.open_in_features)

    def run_live(self, checkpoint: str) -> None:
        """Show the Live Camera loading the checkpoint (its own load job: the GUI does not wait). Asked before
        the panel is shown, so a panel seen for the first time does not start its default model first."""
        camera = self.slots["camera"].ensure_panel(self.torch_ready)
        if checkpoint and camera is not None:
            camera.open_checkpoint(checkpoint)
        self.show_panel("camera")

    def open_in_features(self, checkpoint: str) -> None:
        """Show Feature Maps with the checkpoint's model opened, on one of its own scenes (asked before the
        panel is shown, whose first showing would otherwise open its default model and photo)."""
        features = self.slots["features"].ensure_panel(self.torch_ready)
        if checkpoint and features is not None:
            features.open_model(checkpoint)
        self.show_panel("features")

    def _on_torch_loaded(self, device: str) -> None:
        self.torch_ready = True
        self.device_label.setText(f"Device: {device}")
        self._on_tab_changed(self.tabs.currentIndex())

    def _on_torch_failed(self, message: str) -> None:
        self.device_label.setText("Device: torch unavailable")
        for slot in self.slots.values():
            if slot.info.needs_torch:
                slot.show_error(f"This panel needs torch, which failed to import:\n{message}")

    # -- painting and start-up ----------------------------------------------------------------------
    def _on_first_paint(self) -> None:
        self._painted = True
        self.first_painted.emit()
        # torch is imported only after the first paint, so the window never waits for it.
        QTimer.singleShot(0, self.torch_loader.start)

    # -- menus --------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        save_png = QAction("Save panel as PNG…", self, shortcut=QKeySequence("Ctrl+Shift+S"))
        save_png.triggered.connect(self._save_panel_png)
        file_menu.addAction(save_png)
        watch = QAction("Watch folder…", self)  # a TensorBoard log folder, on the Training panel
        watch.triggered.connect(self._choose_watch_folder)
        file_menu.addAction(watch)
        quit_action = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&Panels")
        for number, panel_id in enumerate(self.slots, start=1):
            action = QAction(self.slots[panel_id].info.title, self, shortcut=QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, pid=panel_id: self.show_panel(pid))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About VisionLab", self, shortcut=QKeySequence("F1"))
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a TensorBoard log folder")
        if folder:
            self.watch_folder(folder)

    def watch_folder(self, folder: str) -> None:
        """Show the Training panel watching `folder`; a panel still waiting for torch watches once created."""
        self._pending_watch = folder
        self.show_panel("training")
        self._start_pending_watch()

    def _start_pending_watch(self) -> None:
        panel = self.panel("training") if "training" in self.slots else None
        folder = self._pending_watch
        if folder is not None and panel is not None and hasattr(panel, "watch_folder"):
            self._pending_watch = None
            panel.watch_folder(folder)

    def show_about(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "About VisionLab", (
            f"<b>VisionLab {__version__}</b><br>A visual lab for learning deep learning: optimizers on "
            "loss surfaces, live training, conv feature maps and live detection.<br><br>"
            f"Settings and runs: {paths.data_dir()}<br>Log: {paths.log_file()}<br><br>"
            "Shortcuts: Ctrl+1…4 switch panels, Ctrl+Shift+S saves the panel as PNG, F1 this box, Ctrl+Q quits."),
            parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _save_panel_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save panel as PNG", str(paths.subdir("exports")), "PNG (*.png)")
        if path:
            if not self.tabs.currentWidget().grab().save(path):
                QMessageBox.warning(self, "Save failed", f"Could not write {path}.")

    # -- settings and shutdown ----------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        current = self.tabs.currentWidget()
        if isinstance(current, PanelSlot):
            self.settings.setValue("window/panel", current.info.panel_id)
        for panel_id, slot in self.slots.items():
            if slot.panel is not None:
                self.settings.beginGroup(panel_id)
                try:
                    slot.panel.save_settings(self.settings)
                finally:
                    self.settings.endGroup()
        self.settings.sync()

    def closeEvent(self, event) -> None:
        try:
            self.save_settings()
        except Exception:  # settings must never keep the window from closing
            log.exception("saving settings failed")
        for slot in self.slots.values():
            if slot.panel is not None:
                slot.panel.shutdown()
        if self.torch_loader.isRunning():
            threads.stop(self.torch_loader, 2000)  # an import cannot be interrupted: retired, it ends on its own
        super().closeEvent(event)
