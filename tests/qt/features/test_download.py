"""Feature Maps' weights from the student's side: a classroom mirror set in the model bar, a file that is not
the card's refused (nothing kept), a cancel that stops at once, the offline hint naming the real button,
and the one sentence for a pickle that would run code, in Import and in Checkpoint… alike."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import threading
import time

import pytest
import torch
import torchvision
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QInputDialog

from visionlab.core.weights.source import IMPORT_BUTTON
from visionlab.qt.features.panel import FeaturesPanel

WAIT_MS = 30_000
PUBLISHED_RESNET18 = "resnet18-f37072fd.pth"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _serve(files: dict[str, bytes], slow: bool = False):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            data = files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            step = 1 << 16
            for start in range(0, len(data), step):
                if slow:
                    time.sleep(0.2)
                try:
                    self.wfile.write(data[start:start + step])
                except OSError:
                    return

        def log_message(self, *args) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def weights_bytes() -> bytes:
    """A random-init resnet18: right keys and shapes, not torchvision's published file."""
    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), buffer)
    return buffer.getvalue()


@pytest.fixture
def panel(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    widget = FeaturesPanel()
    qtbot.addWidget(widget)
    widget.show()
    widget.model_bar.combo.setCurrentText("resnet18")
    widget.panel_shown()
    qtbot.waitUntil(lambda: widget.view is not None and not widget.jobs.busy, timeout=WAIT_MS)
    yield widget
    widget.shutdown()


def _stored_files(tmp_path) -> list[str]:
    return [str(path) for path in (tmp_path / "torch-home").rglob("*") if path.is_file()]


def test_a_mirror_file_off_the_card_is_refused_and_the_mirror_is_a_setting(qtbot, panel, weights_bar_mirror,
                                                                            weights_bytes, tmp_path) -> None:
    own_name = f"resnet18-{hashlib.sha256(weights_bytes).hexdigest()[:8]}.pth"
    server, base = _serve({f"own/{own_name}": weights_bytes, f"official/{PUBLISHED_RESNET18}": weights_bytes})
    try:
        for folder in ("own", "official"):
            weights_bar_mirror(f"{base}/{folder}/")
            panel.show_message("")
            assert panel.model_bar.download_button.isVisible()
            panel.model_bar.download_button.click()
            qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.jobs.busy, timeout=WAIT_MS)
            text = panel.message.text()
            assert "Error" not in text and "\n" not in text
            if folder == "own":  # asked for the card's name only: the impostor's own name is never fetched
                assert "HTTP 404" in text and PUBLISHED_RESNET18 in text
            else:
                assert text.startswith(f"refused {PUBLISHED_RESNET18} from {base[7:]}: its sha256 starts with "
                                       f"{own_name[9:17]}") and text.endswith("nothing was kept.")
            assert panel.model_bar.note.text() == "UNTRAINED (random weights)" and not panel.opened.loaded.pretrained
            assert _stored_files(tmp_path) == []
    finally:
        server.shutdown()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    panel.model_bar.set_mirror("")
    panel.restore_settings(settings)
    assert panel.model_bar.mirror == f"{base}/official"
    assert f"from the classroom mirror {base}/official" in panel.model_bar.download_button.toolTip()


@pytest.fixture
def weights_bar_mirror(panel, monkeypatch):
    """Type a mirror into the Mirror… dialog, as a teacher would (a bad address first: asked again, why)."""
    def choose(address: str) -> None:
        answers = [("ftp://nowhere/", True), (address, True)]
        prompts: list[str] = []

        def get_text(parent, title, prompt, *args):
            prompts.append(prompt)
            return answers.pop(0)

        monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
        panel.model_bar.mirror_button.click()
        assert answers == [] and prompts[1].startswith("a mirror is the http:// or https:// address of a folder")
        assert panel.model_bar.mirror == address.rstrip("/")
    return choose


def test_cancel_stops_a_slow_download_quickly(qtbot, panel, weights_bytes, tmp_path) -> None:
    slow_server, slow_base = _serve({PUBLISHED_RESNET18: weights_bytes}, slow=True)
    try:
        panel.download_weights("resnet18", f"{slow_base}/")
        qtbot.waitUntil(lambda: panel.model_bar.cancel_button.isVisible(), timeout=WAIT_MS)
        qtbot.wait(300)
        start = time.perf_counter()
        panel.model_bar.cancel_button.click()
        qtbot.waitUntil(lambda: not panel.jobs.busy, timeout=5000)
        assert time.perf_counter() - start < 2.0
        assert "cancelled" in panel.message.text() and not panel.opened.loaded.pretrained
        assert _stored_files(tmp_path) == []
    finally:
        slow_server.shutdown()


def test_the_offline_message_names_the_import_button_that_exists(qtbot, panel) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    panel.download_weights("resnet18", f"http://127.0.0.1:{closed_port}/")
    qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.message.text().endswith(f"then bring it in with the “{IMPORT_BUTTON}” button.")
    assert panel.model_bar.import_button.text() == IMPORT_BUTTON and panel.model_bar.import_button.isVisible()


class _RunsCode:
    def __reduce__(self):
        return os.getcwd, ()


def test_a_pickle_that_runs_code_gets_one_sentence_in_import_and_checkpoint(qtbot, panel, tmp_path) -> None:
    evil = tmp_path / "evil.pth"
    torch.save({"format": "visionlab-checkpoint", "payload": _RunsCode()}, evil)
    sentences = []
    for open_it in (lambda: panel.import_weights_file("resnet18", str(evil)), lambda: panel.open_model(str(evil))):
        panel.show_message("")
        open_it()
        qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.jobs.busy, timeout=WAIT_MS)
        sentences.append(panel.message.text())
    assert sentences == ["evil.pth was refused: opening it would call os.getcwd, which can run any code on this "
                         "computer. A weights file holds only tensors: use one from a source you trust, saved with "
                         "torch.save(model.state_dict(), path)."] * 2
    assert panel.opened.loaded.name == "resnet18" and not panel.opened.loaded.pretrained
