"""Shared pieces of the weights-store tests: a tiny model with its own card, and a real HTTP server on
127.0.0.1 that serves bytes the way a mirror (or a broken one) would."""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import threading
import time
from collections.abc import Callable

import pytest
import torch

from visionlab.core.weights.store import ModelCard, WeightsStore


def tiny_net(num_classes: int = 3) -> torch.nn.Module:
    """About 3 MB of float32: big enough for several progress reports, small enough to be instant."""
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 30 * 30, 100),
                               torch.nn.ReLU(), torch.nn.Linear(100, num_classes))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory) -> tuple[bytes, dict]:
    """The bytes of the tiny model's "published" file, and the state dict they hold."""
    torch.manual_seed(0)
    state = tiny_net().state_dict()
    path = tmp_path_factory.mktemp("tiny") / "tiny.pth"
    torch.save(state, path)
    return path.read_bytes(), state


@pytest.fixture
def tiny_card(tiny_file) -> ModelCard:
    """A card like torchvision's: its file name carries the first sha256 digits of the published bytes."""
    data = tiny_file[0]
    file_name = f"tiny_net-{sha256(data)[:8]}.pth"
    return ModelCard(name="tiny_net", task="classification", weights_name="TinyNet_Weights.IMAGENET1K_V1",
                     url=f"http://0.0.0.0/{file_name}", file_name=file_name,
                     num_params=sum(p.numel() for p in tiny_net().parameters()), file_size_mb=len(data) / 2**20,
                     gflops=None, metrics={}, categories=("a", "b", "c"), min_size=None, trained_on="ImageNet")


@pytest.fixture
def tiny_store_at(tiny_card) -> Callable[[os.PathLike], WeightsStore]:
    """A store in any folder that knows the tiny model besides torchvision's."""
    return lambda folder: WeightsStore(folder, extra_models=[(tiny_card, tiny_net)])


@pytest.fixture
def tiny_store(tmp_path, tiny_store_at) -> WeightsStore:
    return tiny_store_at(tmp_path / "cache")


@pytest.fixture
def cache_files() -> Callable[[WeightsStore], list[str]]:
    """Every file under the cache, hidden temporary files and the imported folder included."""
    def listing(store: WeightsStore) -> list[str]:
        root = store.cache_dir
        if not root.exists():
            return []
        return sorted(os.path.relpath(os.path.join(folder, name), root)
                      for folder, _, names in os.walk(root) for name in names)
    return listing


class Served:
    """What the server sends for one path, and how: slowly, truncated, or going silent at some offset."""

    def __init__(self, data: bytes, chunk: int = 1 << 16, delay: float = 0.0, stop_after: int | None = None,
                 silent_at: int | None = None, silent_s: float = 60.0, silent_once: bool = True):
        self.data, self.chunk, self.delay, self.stop_after = data, chunk, delay, stop_after
        self.silent_at, self.silent_s, self.silent_once = silent_at, silent_s, silent_once
        self.sent = 0
        self.requested_from: list[int] = []  # the first byte of each request (Range resumes)
        self.url = ""


@pytest.fixture
def server():
    """serve(path, data, **how) -> Served (with .url); serve.folder is the server's root URL, serve.asked
    every path that was requested (found or not)."""
    files: dict[str, Served] = {}
    asked: list[str] = []
    teardown = threading.Event()  # wakes handlers that are being silent

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            asked.append(self.path)
            served = files.get(self.path)
            if served is None:
                self.send_error(404, "Not Found")
                return
            size = len(served.data)
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            first = int(wanted.group(1)) if wanted else 0
            served.requested_from.append(first)
            self.send_response(206 if wanted else 200)
            if wanted:
                self.send_header("Content-Range", f"bytes {first}-{size - 1}/{size}")
            self.send_header("Content-Length", str(size - first))  # the full size, even when truncating
            self.end_headers()
            end = size if served.stop_after is None else served.stop_after
            try:
                for start in range(first, end, served.chunk):
                    if served.silent_at is not None and start >= served.silent_at:
                        if served.silent_once:
                            served.silent_at = None
                        teardown.wait(served.silent_s)
                    self.wfile.write(served.data[start:min(start + served.chunk, end)])
                    served.sent = min(start + served.chunk, end)
                    time.sleep(served.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client cancelled or reconnected

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{httpd.server_address[1]}/"

    def serve(path: str, data: bytes, **how) -> Served:
        served = Served(data, **how)
        served.url = root + path
        files["/" + path] = served
        return served

    serve.folder = root  # type: ignore[attr-defined]
    serve.asked = asked  # type: ignore[attr-defined]
    yield serve
    teardown.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def random_resnet18(tmp_path_factory) -> bytes:
    """A random-init resnet18 saved with torch.save: the right keys and shapes, not torchvision's file."""
    from torchvision.models import resnet18

    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("random") / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), path)
    return path.read_bytes()
