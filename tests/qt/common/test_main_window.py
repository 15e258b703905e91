import os
import subprocess
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


# A fresh interpreter where torch and torchvision cannot be imported at all, running the start-up probe of
# `visionlab bench startup`: it prints READY when the main window is first painted. If anything on the way to
# that paint imported torch, the import fails, the window never paints and READY never comes.
PAINT_WITHOUT_TORCH = """
import importlib.abc
import sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked: the window must paint without it")
        return None

sys.meta_path.insert(0, NoTorch())
from visionlab.bench import startup_probe
startup_probe.main("window")
"""


def test_a_fresh_process_paints_the_window_while_torch_cannot_be_imported(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VISIONLAB_HOME=str(tmp_path))
    child = subprocess.run([sys.executable, "-c", PAINT_WITHOUT_TORCH], capture_output=True, text=True,
                           timeout=120, env=env)
    assert "READY torch_imported=False" in child.stdout, child.stderr[-2000:]


def test_status_bar_names_the_device_torch_reports(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path, "optimizer")
    with qtbot.waitSignal(window.torch_loader.loaded, timeout=60000):
        window.show()
    import torch

    text = window.device_label.text()
    assert text.startswith("Device: ") and f"torch {torch.__version__}" in text
    mps = getattr(torch.backends, "mps", None)
    if torch.cuda.is_available():  # whatever machine this runs on, the label names what torch sees there
        assert torch.cuda.get_device_name(0) in text
    elif mps is not None and mps.is_available():
        assert "MPS" in text
    else:
        assert "CPU" in text


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


def _open_camera(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path, "camera")
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.panel("camera") is not None, timeout=60000)
    return window


def test_closing_while_a_model_builds_returns_within_3_s(qtbot, tmp_path, monkeypatch):
    import threading
    import time

    from visionlab.core.camera import live

    building, built = threading.Event(), threading.Event()
    late_model = object()

    def uninterruptible_build(name, device, **kwargs):  # a torchvision builder cannot be interrupted
        building.set()
        time.sleep(4)
        built.set()
        return late_model

    monkeypatch.setattr(live, "load_detector", uninterruptible_build)
    window = _open_camera(qtbot, tmp_path)
    panel = window.panel("camera")
    qtbot.waitUntil(building.is_set, timeout=10000)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 3.0
    qtbot.waitUntil(built.is_set, timeout=10000)  # the retired build ends on its own...
    qtbot.wait(300)
    assert panel.models.detector is not late_model  # ...and its result is dropped, not used by a closed panel


def test_closing_during_a_download_returns_within_3_s(qtbot, tmp_path, monkeypatch):
    import http.server
    import threading
    import time

    from visionlab.qt.common import threads

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    receiving = threading.Event()

    class Trickle(http.server.BaseHTTPRequestHandler):  # 50 MB announced, one byte every 0.2 s
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(50 << 20))
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    receiving.set()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        window = _open_camera(qtbot, tmp_path)
        panel = window.panel("camera")
        panel.controls.model_combo.setCurrentIndex(panel.controls.model_combo.findData("ssdlite320_mobilenet_v3_large"))
        panel.download_weights(mirror=f"http://127.0.0.1:{server.server_port}/")  # a classroom mirror folder
        qtbot.waitUntil(receiving.is_set, timeout=5000)
        qtbot.wait(300)
        assert panel.jobs.is_running("download")  # bytes are arriving when the window closes
        started = time.perf_counter()
        window.close()
        assert time.perf_counter() - started < 3.0
        # Closing asked the download to stop: it ends (and removes its partial file) within a second or so.
        qtbot.waitUntil(lambda: not any(t.objectName() == "job:download" for t in threads.running()), timeout=3000)
        assert [path for path in (tmp_path / "torch-home").rglob("*") if path.is_file()] == []  # nothing kept
    finally:
        server.shutdown()
        server.server_close()
