"""The shared downloader against a real HTTP server on 127.0.0.1: hashes, cancel, resume, stall, progress.

The server misbehaves on request (closes mid-body, ignores Range, goes silent, never answers) so every path
that a classroom network takes is run for real, through urllib and sockets, not mocked.
"""

from __future__ import annotations

import ast
import hashlib
import http.server
import random
import re
import socket
import threading
import time
from pathlib import Path

import pytest

import visionlab.core.download as download_module
from visionlab.core.download import DownloadCancelled, DownloadError, fetch
from visionlab.core.jobs import JobCancelled

DATA = random.Random(0).randbytes(3 * (1 << 20) + 12345)  # 3 MiB and a bit: several chunks, several reports
SHA256 = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


class Behaviour:
    """How the server sends one path; `requested_from` records the first byte of every request (Range)."""

    def __init__(self, close_at: int | None = None, close_once: bool = True, ranges: bool = True,
                 silent_at: int | None = None, delay: float = 0.0, chunk: int = 1 << 16) -> None:
        self.close_at, self.close_once, self.ranges = close_at, close_once, ranges
        self.silent_at, self.delay, self.chunk = silent_at, delay, chunk
        self.requested_from: list[int] = []


@pytest.fixture
def serve():
    paths: dict[str, Behaviour] = {}
    teardown = threading.Event()  # wakes a handler that is being silent

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            how = paths.get(self.path)
            if how is None:
                self.send_error(404, "Not Found")
                return
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "")) if how.ranges else None
            first = int(wanted.group(1)) if wanted else 0
            how.requested_from.append(first)
            self.send_response(206 if wanted else 200)
            if wanted:
                self.send_header("Content-Range", f"bytes {first}-{len(DATA) - 1}/{len(DATA)}")
            self.send_header("Content-Length", str(len(DATA) - first))  # the whole rest, even when closing early
            self.end_headers()
            end = len(DATA) if how.close_at is None else max(how.close_at, first)
            if how.close_once:
                how.close_at = None
            try:
                for start in range(first, end, how.chunk):
                    if how.silent_at is not None and start >= how.silent_at:
                        teardown.wait(60)
                    if teardown.is_set():
                        return
                    self.wfile.write(DATA[start:min(start + how.chunk, end)])
                    self.wfile.flush()
                    time.sleep(how.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client cancelled or gave up

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def add(name: str, how: Behaviour | None = None) -> tuple[str, Behaviour]:
        paths["/" + name] = how = how or Behaviour()
        return f"http://127.0.0.1:{server.server_address[1]}/{name}", how

    yield add
    teardown.set()
    server.shutdown()
    server.server_close()


def files_in(folder: Path) -> list[str]:
    """Every entry, hidden temporary files included."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# ---- hash checks -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("hash_name, expected", [("sha256", SHA256[:8]), ("sha256", SHA256), ("md5", MD5),
                                                 ("md5", MD5.upper())], ids=["prefix", "full", "md5", "MD5"])
def test_the_right_bytes_are_accepted(serve, tmp_path, hash_name, expected):
    url, _ = serve("blob.bin")
    path = fetch(url, tmp_path / "out" / "blob.bin", hash_name=hash_name, expected=expected)
    assert path == tmp_path / "out" / "blob.bin" and path.read_bytes() == DATA
    assert files_in(tmp_path / "out") == ["blob.bin"]


def test_a_wrong_sha256_prefix_is_refused_and_leaves_nothing(serve, tmp_path):
    url, _ = serve("blob.bin")
    with pytest.raises(DownloadError, match=f"blob.bin arrived damaged.*sha256 starts with {SHA256[:8]}, "
                                            "expected 0badc0de; try again"):
        fetch(url, tmp_path / "blob.bin", hash_name="sha256", expected="0badc0de")
    assert files_in(tmp_path) == []


def test_a_wrong_md5_is_refused_and_leaves_nothing(serve, tmp_path):
    url, _ = serve("blob.bin")
    with pytest.raises(DownloadError, match=f"damaged.*its md5 is {MD5}, expected {'0' * 32}"):
        fetch(url, tmp_path / "blob.bin", hash_name="md5", expected="0" * 32)
    assert files_in(tmp_path) == []


def test_an_unknown_hash_is_a_programming_error_before_any_network(tmp_path):
    with pytest.raises(ValueError, match="unknown hash 'sha257'"):
        fetch("http://127.0.0.1:9/never", tmp_path / "x", hash_name="sha257", expected="00")
    assert files_in(tmp_path) == []


# ---- cancel ----------------------------------------------------------------------------------------------
def test_cancel_mid_download_removes_everything(serve, tmp_path):
    url, _ = serve("slow.bin", Behaviour(delay=0.01))
    stop = threading.Event()
    fractions: list[float] = []

    def progress(fraction: float, message: str) -> None:
        fractions.append(fraction)
        if fraction > 0:  # the first real report: the user presses Cancel
            stop.set()

    with pytest.raises(DownloadCancelled, match="cancelled; nothing was kept") as cancelled:
        fetch(url, tmp_path / "slow.bin", expected=SHA256[:8], progress=progress, should_stop=stop.is_set)
    assert isinstance(cancelled.value, JobCancelled)  # a JobWorker reports it as cancelled, not failed
    assert isinstance(cancelled.value, DownloadError) and 0 < max(fractions) < 1
    assert files_in(tmp_path) == []
    with pytest.raises(DownloadCancelled, match="before it started"):
        fetch(url, tmp_path / "never.bin", should_stop=lambda: True)
    assert files_in(tmp_path) == []


def test_cancel_is_quick_while_the_server_trickles(serve, tmp_path):
    # A few bytes every 50 ms: the socket never times out, so only reading what arrives lets cancel work.
    url, _ = serve("trickle.bin", Behaviour(delay=0.05, chunk=16))
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.perf_counter()
    with pytest.raises(DownloadCancelled):
        fetch(url, tmp_path / "trickle.bin", should_stop=stop.is_set)
    assert time.perf_counter() - started < 1.5
    assert files_in(tmp_path) == []


# ---- a connection that stops ---------------------------------------------------------------------------
def test_a_server_that_closes_mid_body_is_resumed_with_a_range_request(serve, tmp_path):
    half = len(DATA) // 2
    url, how = serve("blob.bin", Behaviour(close_at=half))
    messages: list[str] = []
    path = fetch(url, tmp_path / "blob.bin", expected=MD5, hash_name="md5",
                 progress=lambda fraction, message: messages.append(message))
    assert path.read_bytes() == DATA and files_in(tmp_path) == ["blob.bin"]
    assert how.requested_from == [0, half]  # the second request asked only for the rest
    assert any("closed early, resuming" in message for message in messages)


def test_a_server_without_range_support_is_read_again_from_the_start(serve, tmp_path):
    url, how = serve("blob.bin", Behaviour(close_at=len(DATA) // 2, ranges=False))
    path = fetch(url, tmp_path / "blob.bin", expected=SHA256)
    assert path.read_bytes() == DATA and how.requested_from == [0, 0]


def test_a_server_that_always_closes_at_the_same_byte_is_an_error(serve, tmp_path):
    url, how = serve("blob.bin", Behaviour(close_at=len(DATA) // 2, close_once=False))
    with pytest.raises(DownloadError, match=r"blob.bin stopped after 1\.\d of 3\.0 MB; try again"):
        fetch(url, tmp_path / "blob.bin")
    assert files_in(tmp_path) == [] and len(how.requested_from) == 2  # one resume, then no more progress


def test_a_silent_server_hits_the_stall_timeout(serve, tmp_path):
    url, _ = serve("blob.bin", Behaviour(silent_at=len(DATA) // 4))
    outcome: list[Exception] = []

    def attempt() -> None:  # in a thread, so that a downloader that never gives up fails the test, not hangs it
        try:
            fetch(url, tmp_path / "blob.bin", stall_timeout=1.5)
        except Exception as exc:  # handed to the test thread
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "still downloading 10 s after the server went silent"
    assert len(outcome) == 1 and isinstance(outcome[0], DownloadError)
    assert re.fullmatch(r"127\.0\.0\.1:\d+ stopped sending blob.bin for 1.5 s; try again", str(outcome[0]))
    assert 1.5 <= time.monotonic() - started < 4 and files_in(tmp_path) == []


def test_offline_messages_carry_the_callers_hint(tmp_path):
    hint = "Import the file instead."
    with socket.socket() as mute:  # the kernel accepts connections, nobody ever answers them
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        with pytest.raises(DownloadError, match=r"no answer from 127.0.0.1:\d+ for 1 s. A firewall\? Import the"):
            fetch(f"http://127.0.0.1:{mute.getsockname()[1]}/x", tmp_path / "x", stall_timeout=1, offline_hint=hint)
        closed_port = mute.getsockname()[1]
    with pytest.raises(DownloadError, match=r"cannot reach 127.0.0.1:\d+ \(.*\)\. Offline\? Import the file"):
        fetch(f"http://127.0.0.1:{closed_port}/x", tmp_path / "x", offline_hint=hint)
    with pytest.raises(DownloadError, match=r"cannot reach .*Offline\?$"):  # no hint: no trailing text
        fetch(f"http://127.0.0.1:{closed_port}/x", tmp_path / "x")
    assert files_in(tmp_path) == []


# ---- progress --------------------------------------------------------------------------------------------
def test_progress_is_monotone_bounded_and_ends_at_one(serve, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "CHUNK_BYTES", 4096)  # 780 chunks: a report each would flood a GUI
    url, _ = serve("blob.bin")
    reports: list[tuple[float, str]] = []
    fetch(url, tmp_path / "blob.bin", expected=SHA256[:8], progress=lambda f, m: reports.append((f, m)))
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(fraction < 1 for fraction in fractions[:-1])  # 1.0 only once the hash was checked
    assert 50 < len(fractions) <= 100 + 3  # a report per percent here (3 MiB), never one per chunk
    assert "of 3.0 MB" in reports[len(reports) // 2][1] and reports[-1][1] == "blob.bin: 3.0 MB, sha256 checked"


# ---- layering --------------------------------------------------------------------------------------------
def test_the_downloader_imports_neither_weights_nor_training():
    tree = ast.parse(Path(download_module.__file__).read_text(encoding="utf-8"))
    ours = sorted({node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                   and node.module.startswith("visionlab")}
                  | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
                     if alias.name.startswith("visionlab")})
    # small shared modules (errors, the translation function, job callbacks), no feature
    assert ours == ["visionlab.core.errors", "visionlab.core.i18n", "visionlab.core.jobs"]
