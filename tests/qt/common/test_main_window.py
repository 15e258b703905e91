import sys

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from visionlab.qt.main_window import MainWindow
from visionlab.qt.panel import available_panels


def make_window(qtbot, tmp_path, panel=None):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, initial_panel=panel)
    qtbot.addWidget(window)
    return window, settings


def test_one_tab_per_existing_panel_and_no_others(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == [info.title for info in available_panels()]
    assert "optimizer" in window.slots


def test_window_paints_before_torch_then_status_bar_names_the_device(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path, "optimizer")
    with qtbot.waitSignal(window.first_painted, timeout=5000):
        window.show()
    with qtbot.waitSignal(window.torch_loader.loaded, timeout=60000):
        pass
    assert window.device_label.text().startswith("Device: CPU")
    assert "torch" in sys.modules


def test_geometry_and_current_panel_persist(qtbot, tmp_path):
    window, settings = make_window(qtbot, tmp_path, "optimizer")
    window.resize(1111, 777)
    window.show()
    window.close()
    window.torch_loader.wait(60000)
    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (1111, 777)
    assert again.current_panel().panel_id == "optimizer"


def test_about_box_names_version_and_data_folder(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path)
    box = window.show_about()
    assert "VisionLab" in box.text() and "Log:" in box.text()
    box.close()


def test_uncaught_exception_shows_dialog_and_is_logged(qtbot, tmp_path, monkeypatch):
    from visionlab.core import paths
    from visionlab.qt import app as app_module

    app_module.setup_logging()
    old_hook = sys.excepthook
    try:
        bridge = app_module.install_exception_hooks()
        try:
            raise ValueError("boom for the test")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(bridge._open_dialogs) == 1, timeout=2000)
        box = bridge._open_dialogs[0]
        assert "boom for the test" in box.text()
        assert box.icon() == QMessageBox.Icon.Critical
        box.close()
    finally:
        sys.excepthook = old_hook
        import threading
        threading.excepthook = threading.__excepthook__
    assert "boom for the test" in paths.log_file().read_text()
