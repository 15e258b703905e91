"""Downloading weights from the panel, from a local HTTP server (a classroom mirror): checked, cancellable,
and a corrupted file is refused with a message."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import time

import pytest
import torch
import torchvision

from visionlab.qt.features.panel import FeaturesPanel

WAIT_MS = 30_000


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


def test_download_from_a_mirror_makes_the_model_pretrained(qtbot, panel, weights_bytes) -> None:
    name = f"resnet18-{hashlib.sha256(weights_bytes).hexdigest()[:8]}.pth"
    server, base = _serve({name: weights_bytes})
    try:
        assert panel.model_bar.download_button.isVisible()
        panel.download_weights("resnet18", f"{base}/{name}")
        qtbot.waitUntil(lambda: panel.opened.loaded.pretrained and not panel.jobs.busy, timeout=WAIT_MS)
    finally:
        server.shutdown()
    assert panel.model_bar.note.text() == "ImageNet weights" and not panel.model_bar.download_button.isVisible()
    qtbot.waitUntil(lambda: bool(panel.view.predictions), timeout=WAIT_MS)


def test_corrupted_download_is_refused_and_cancel_stops_quickly(qtbot, panel, weights_bytes) -> None:
    name = "resnet18-00000000.pth"  # the name promises a hash these bytes do not have
    server, base = _serve({name: weights_bytes})
    try:
        panel.download_weights("resnet18", f"{base}/{name}")
        qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.jobs.busy, timeout=WAIT_MS)
        assert "damaged" in panel.message.text() and "expected 00000000" in panel.message.text()
        assert not panel.opened.loaded.pretrained and panel.model_bar.download_button.isVisible()
    finally:
        server.shutdown()
    slow_server, slow_base = _serve({"resnet18-12345678.pth": weights_bytes}, slow=True)
    try:
        panel.download_weights("resnet18", f"{slow_base}/resnet18-12345678.pth")
        qtbot.waitUntil(lambda: "%" in panel.model_bar.status.text() or panel.model_bar.cancel_button.isVisible(),
                        timeout=WAIT_MS)
        start = time.perf_counter()
        panel.model_bar.cancel_button.click()
        qtbot.waitUntil(lambda: not panel.jobs.busy, timeout=5000)
        assert time.perf_counter() - start < 2.0
        assert "cancelled" in panel.message.text() and not panel.opened.loaded.pretrained
    finally:
        slow_server.shutdown()
