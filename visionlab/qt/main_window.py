"""The main window: one tab per existing panel, a status bar with the compute device, menus.

Panels that need torch are created only after a background thread has imported it, so the window is
painted first (see `visionlab bench startup`).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from visionlab import __version__
from visionlab.core import i18n, paths
from visionlab.core.i18n import _
from visionlab.qt.common import threads
from visionlab.qt.common.first_paint import FirstPaintWatcher
from visionlab.qt.common.language import apply_language, font_problem, save_language
from visionlab.qt.common.torch_loader import TorchLoader
from visionlab.qt.lessons.dock import LessonsDock
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
        self._message = QLabel(_("Loading torch and torchvision…") if info.needs_torch else _("Loading…"))
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._message)

    def ensure_panel(self, torch_ready: bool) -> Panel | None:
        if self.panel is None and (torch_ready or not self.info.needs_torch):
            try:
                self.panel = self.info.load_class()(parent=self)
            except Exception as exc:  # a broken panel must not take the app down
                log.exception("could not create panel %s", self.info.panel_id)
                self._message.setText(_("The {panel} panel could not start:\n{error}").format(
                    panel=_(self.info.title), error=f"{type(exc).__name__}: {exc}"))
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
            self.tabs.addTab(slot, _(info.title))
        self.lessons_dock: LessonsDock | None = None  # built once torch is loaded (lessons' claims use it)
        self._lessons_wanted: bool | None = None  # shown / hidden as asked before the dock existed
        self.device_label = QLabel(_("Device: loading torch…"))
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
                self.statusBar().showMessage(_(self._current.info.title), 2000)

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
        self.device_label.setText(_("Device: {device}").format(device=device))
        self._on_tab_changed(self.tabs.currentIndex())
        self._build_lessons_dock()

    def _on_torch_failed(self, message: str) -> None:
        self.device_label.setText(_("Device: torch unavailable"))
        for slot in self.slots.values():
            if slot.info.needs_torch:
                slot.show_error(_("This panel needs torch, which failed to import:\n{error}").format(error=message))

    # -- painting and start-up ----------------------------------------------------------------------
    def _on_first_paint(self) -> None:
        self._painted = True
        self.first_painted.emit()
        # torch is imported only after the first paint, so the window never waits for it.
        QTimer.singleShot(0, self.torch_loader.start)

    # -- menus --------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(_("&File"))
        save_png = QAction(_("Save panel as PNG…"), self, shortcut=QKeySequence("Ctrl+Shift+S"))
        save_png.triggered.connect(self._save_panel_png)
        file_menu.addAction(save_png)
        watch = QAction(_("Watch folder…"), self)  # a TensorBoard log folder, on the Training panel
        watch.triggered.connect(self._choose_watch_folder)
        file_menu.addAction(watch)
        quit_action = QAction(_("Quit"), self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu(_("&Panels"))
        for number, panel_id in enumerate(self.slots, start=1):
            action = QAction(_(self.slots[panel_id].info.title), self, shortcut=QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _checked=False, pid=panel_id: self.show_panel(pid))
            view_menu.addAction(action)
        settings_menu = self.menuBar().addMenu(_("&Settings"))
        language_menu = settings_menu.addMenu(_("Language"))
        self.language_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for code, name in (("en", "English"), ("ko", "한국어")):  # each in its own language
            action = QAction(name, self, checkable=True, checked=(code == i18n.language()))
            action.triggered.connect(lambda _checked=False, c=code: self.choose_language(c))
            group.addAction(action)
            language_menu.addAction(action)
            self.language_actions[code] = action
        help_menu = self.menuBar().addMenu(_("&Help"))
        self.lessons_action = QAction(_("Lesson of this view"), self, shortcut=QKeySequence("F1"))
        self.lessons_action.triggered.connect(self.open_lesson_of_view)
        help_menu.addAction(self.lessons_action)
        toggle = QAction(_("Show or hide the lessons"), self, shortcut=QKeySequence("Ctrl+L"))
        toggle.triggered.connect(self.toggle_lessons)
        help_menu.addAction(toggle)
        about = QAction(_("About VisionLab"), self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    # -- lessons and language -----------------------------------------------------------------------
    def _build_lessons_dock(self) -> None:
        if self.lessons_dock is not None:
            return
        try:
            self.lessons_dock = LessonsDock(self)
        except Exception as exc:  # the lab works without its lessons
            log.exception("the lessons could not be loaded")
            self.statusBar().showMessage(_("The lessons could not be loaded: {error}").format(error=exc), 10000)
            return
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lessons_dock)
        wanted = self._lessons_wanted
        if wanted is None:
            wanted = str(self.settings.value("window/lessons_visible", "false")) == "true"
        self.lessons_dock.setVisible(wanted)
        self.lessons_dock.resize(380, self.lessons_dock.height())

    def toggle_lessons(self) -> None:
        if self.lessons_dock is None:
            self._lessons_wanted = not self._lessons_wanted
            self.statusBar().showMessage(_("The lessons open once torch is loaded…"), 3000)
            return
        self.lessons_dock.setVisible(not self.lessons_dock.isVisible())

    def open_lesson_of_view(self) -> None:
        """F1: the lessons, on the lesson of the panel on screen."""
        if self.lessons_dock is None:
            self._lessons_wanted = True
            self.statusBar().showMessage(_("The lessons open once torch is loaded…"), 3000)
            return
        current = self.tabs.currentWidget()
        if isinstance(current, PanelSlot):
            lesson_id = self.lessons_dock.lesson_for_panel(current.info.panel_id)
            if lesson_id is not None:
                self.lessons_dock.show_lesson(lesson_id)
        self.lessons_dock.show()
        self.lessons_dock.raise_()

    def choose_language(self, code: str) -> QMessageBox | None:
        """Saved for the next start; the lessons switch now. The panels' texts were made when they were
        built, and rebuilding them would lose what is running, so the window says so instead."""
        if code == i18n.language():
            return None
        save_language(self.settings, code)
        apply_language(code)
        if self.lessons_dock is not None:
            self.lessons_dock.retranslate()
        box = QMessageBox(QMessageBox.Icon.Information, _("Language"), _(
            "The lessons and every new message are shown in the new language now; the labels already on screen "
            "change at the next start of VisionLab. Your runs, settings and lesson progress are kept."),
            parent=self)
        problem = font_problem(code)
        if problem:
            box.setInformativeText(problem)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Watch a TensorBoard log folder"))
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
        box = QMessageBox(QMessageBox.Icon.Information, _("About VisionLab"), _(
            "<b>VisionLab {version}</b><br>A visual lab for learning deep learning: optimizers on "
            "loss surfaces, live training, conv feature maps and live detection.<br><br>"
            "Settings and runs: {data}<br>Log: {log}<br><br>"
            "Shortcuts: Ctrl+1…4 switch panels, F1 the lesson of this view, Ctrl+L shows or hides the lessons, "
            "Ctrl+Shift+S saves the panel as PNG, Ctrl+Q quits.").format(
                version=__version__, data=paths.data_dir(), log=paths.log_file()), parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _save_panel_png(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, _("Save panel as PNG"), str(paths.subdir("exports")),
                                                    "PNG (*.png)")
        if path:
            if not self.tabs.currentWidget().grab().save(path):
                QMessageBox.warning(self, _("Save failed"), _("Could not write {path}.").format(path=path))

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
        if self.lessons_dock is not None:
            self.settings.setValue("window/lessons_visible", "true" if self.lessons_dock.isVisible() else "false")
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
        if self.lessons_dock is not None:
            self.lessons_dock.shutdown()
        if self.torch_loader.isRunning():
            threads.stop(self.torch_loader, 2000)  # an import cannot be interrupted: retired, it ends on its own
        super().closeEvent(event)
