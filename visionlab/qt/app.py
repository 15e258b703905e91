"""Application start-up: the QApplication, logging, the uncaught-exception dialog, settings."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from visionlab import __version__
from visionlab.core import paths
from visionlab.core.i18n import _
from visionlab.qt.common import gui_gc

log = logging.getLogger("visionlab")


def setup_logging() -> None:
    """Log to a file in the user's data folder (replacing an earlier VisionLab handler, if any)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "is_visionlab_log", False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.FileHandler(paths.log_file(), encoding="utf-8")
    handler.is_visionlab_log = True
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def make_settings() -> QSettings:
    return QSettings(str(paths.settings_file()), QSettings.Format.IniFormat)


class _ErrorBridge(QObject):
    """Carries an exception report from any thread to a dialog on the GUI thread."""

    reported = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._open_dialogs: list[QMessageBox] = []

    def _show(self, summary: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, _("VisionLab: unexpected error"),
                          _("{summary}\n\nThe app keeps running. Details were written to\n{log}").format(
                              summary=summary, log=paths.log_file()))
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _code=0, b=box: self._open_dialogs.remove(b) if b in self._open_dialogs else None)
        self._open_dialogs.append(box)
        box.open()  # non-modal: an error must never freeze the window


def install_exception_hooks() -> _ErrorBridge:
    """Uncaught exceptions (GUI thread or workers) are logged and shown in a dialog, not fatal."""
    bridge = _ErrorBridge()

    def report(exc_type, exc, tb) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("uncaught exception:\n%s", details)
        bridge.reported.emit(f"{exc_type.__name__}: {exc}", details)

    sys.excepthook = report
    threading.excepthook = lambda args: report(args.exc_type, args.exc_value, args.exc_traceback)
    return bridge


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("VisionLab")
    app.setOrganizationName("VisionLab")
    app.setApplicationVersion(__version__)
    gui_gc.install(app)  # reference cycles holding widgets are freed on this thread, never in a worker
    return app


def run_gui(panel_id: str | None = None, watch: str | None = None, language: str | None = None) -> int:
    """The app's window until it closes (`visionlab` has checked `display_check` before importing this);
    `watch`: a TensorBoard log folder the Training panel watches (`visionlab monitor LOGDIR`); `language`:
    'ko' / 'en' from the command line (else the settings' choice, else the system's)."""
    setup_logging()
    app = create_application()
    bridge = install_exception_hooks()  # noqa: F841 (kept alive for the app's lifetime)
    from visionlab.qt.common.language import apply_language, chosen_language, font_problem
    from visionlab.qt.main_window import MainWindow

    settings = make_settings()
    used = apply_language(chosen_language(settings, language))  # before any widget is built
    window = MainWindow(settings=settings, initial_panel=panel_id)
    window.show()
    problem = font_problem(used)
    if problem:
        log.warning("no Hangul font: %s", problem)
        box = QMessageBox(QMessageBox.Icon.Warning, "VisionLab", problem, parent=window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
    if watch is not None:
        window.watch_folder(watch)
    log.info("VisionLab %s started (platform %s, pid %d)", __version__, app.platformName(), os.getpid())
    code = app.exec()
    return finish_threads(code)


def finish_threads(code: int, timeout_s: float = 30.0) -> int:
    """After the window has closed: let retired threads end (a model build, a long forward pass).

    The window is gone, so nothing freezes; but a QThread destroyed while running would abort the
    process at exit, so the stragglers get `timeout_s`, and after that the process ends without them.
    """
    from visionlab.qt.common import threads

    if threads.wait_all(timeout_s):
        return code
    log.warning("%d thread(s) still busy %.0f s after the window closed; exiting without them",
                len(threads.running()), timeout_s)
    logging.shutdown()
    os._exit(code)
