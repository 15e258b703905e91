"""Child process of `visionlab bench startup`: starts, and prints READY when its window is first painted.

Modes: `window` (the real main window), `baseline` (a bare QMainWindow holding one pyqtgraph PlotWidget),
`torch` (just `import torch, torchvision`). It prints whether torch was already imported at that moment,
then exits at once (no teardown, which is not part of start-up).
"""

import os
import sys


def _report(extra: str = "") -> None:
    print(f"READY torch_imported={'torch' in sys.modules}{extra}", flush=True)
    os._exit(0)


def main(mode: str) -> None:
    if mode == "torch":
        import torch  # noqa: F401
        import torchvision  # noqa: F401

        _report()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if mode == "window":
        import tempfile

        from PySide6.QtCore import QSettings

        from visionlab.qt.app import create_application
        from visionlab.qt.main_window import MainWindow

        app = create_application([sys.argv[0]])
        settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, initial_panel="optimizer")
        window.first_painted.connect(lambda: _report())
        window.show()
        app.exec()
    elif mode == "baseline":
        import pyqtgraph as pg
        from PySide6.QtWidgets import QApplication, QMainWindow

        from visionlab.qt.common.first_paint import FirstPaintWatcher

        app = QApplication([sys.argv[0]])
        window = QMainWindow()
        window._watcher = FirstPaintWatcher(window, _report)
        window.setCentralWidget(pg.PlotWidget())
        window.resize(1400, 900)
        window.show()
        app.exec()
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1])
