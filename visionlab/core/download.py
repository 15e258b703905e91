"""Fetch one weights file: streamed, cancellable, checked, and only then visible under its final name.

The bytes go to a hidden temporary file in the cache folder while their sha256 is computed; the file is
renamed over its final name only when the size matches the server's Content-Length and the hash starts
with the prefix torchvision embeds in the file name. Any failure removes the temporary file, so the cache
never holds half a model (which would otherwise fail later, far from its cause, inside torch.load).

Cancel must work within a second even when the network goes silent (a panel's thread has 2 s to stop),
so sockets wait at most POLL_S; a silent connection is then dropped and, unless the user cancelled, resumed
with an HTTP Range request, until nothing has arrived for `stall_timeout` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Callable

from visionlab.core.weights.card import DownloadCancelled, WeightsError

Progress = Callable[[float, str], None]
CHUNK_BYTES = 1 << 16
REPORT_EVERY_BYTES = 1 << 20  # progress at most once per MiB: a 180 MB file gives ~180 updates
POLL_S = 1.0  # longest wait on a silent socket before looking at should_stop() again
MIB = float(1 << 20)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+)")


class _Transfer:
    """The bytes received so far: into `out`, through the hash, counted."""

    def __init__(self, out: IO[bytes], label: str) -> None:
        self.out, self.label = out, label
        self.digest = hashlib.sha256()
        self.received = 0
        self.total: int | None = None
        self.answered = False  # the server sent a response at least once
        self.last_data = time.monotonic()

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.digest = hashlib.sha256()
        self.received = 0

    def add(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.digest.update(chunk)
        self.received += len(chunk)
        self.last_data = time.monotonic()


def fetch(url: str, target: Path, sha256_prefix: str | None, *, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None, size_hint: int | None = None,
          stall_timeout: float = 30.0) -> Path:
    """Download `url` to `target` atomically; `size_hint` gives a fraction when the server sends no length."""
    progress = progress or (lambda fraction, message: None)
    should_stop = should_stop or (lambda: False)
    if should_stop():
        raise DownloadCancelled(f"download of {target.name} cancelled before it started")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise WeightsError(f"cannot write into {target.parent}: {exc.strerror or exc}") from None
    progress(0.0, f"connecting to {_host(url)}")
    try:
        with os.fdopen(fd, "wb") as out:
            transfer = _Transfer(out, target.name)
            _receive(url, transfer, progress, should_stop, size_hint, stall_timeout)
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:  # a full disk may only show here
                raise WeightsError(f"cannot write {target.name}: {exc.strerror or exc}") from None
        received, total, digest = transfer.received, transfer.total, transfer.digest.hexdigest()
        if total is not None and received != total:
            raise WeightsError(f"the download of {target.name} stopped after {received / MIB:.1f} of "
                               f"{total / MIB:.1f} MB; try again")
        if sha256_prefix and not digest.startswith(sha256_prefix):
            raise WeightsError(f"{target.name} arrived damaged or is a different file: its sha256 starts with "
                               f"{digest[:len(sha256_prefix)]}, expected {sha256_prefix}; try again")
        try:
            os.replace(temp_name, target)
        except OSError as exc:
            raise WeightsError(f"cannot store {target.name} in {target.parent}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    progress(1.0, f"{target.name}: {received / MIB:.1f} MB, sha256 checked")
    return target


def _receive(url: str, transfer: _Transfer, progress: Progress, should_stop: Callable[[], bool],
             size_hint: int | None, stall_timeout: float) -> None:
    """Connect (again, after a silence) until the body is complete; translate errors into WeightsError."""
    label = transfer.label
    while True:
        try:
            _copy_body(url, transfer, progress, should_stop, size_hint)
            return
        except (urllib.error.URLError, TimeoutError) as exc:
            if not _is_timeout(exc):
                raise _network_error(exc, url, label) from None
        except http.client.IncompleteRead as exc:
            raise WeightsError(f"the connection closed early: {label} stopped after "
                               f"{(transfer.received + len(exc.partial)) / MIB:.1f} MB; try again") from None
        except ValueError as exc:  # urllib: "unknown url type"
            raise WeightsError(f"'{url}' is not a download address: {exc}") from None
        except (ConnectionError, http.client.HTTPException) as exc:
            raise WeightsError(f"the download of {label} failed: {exc}; try again") from None
        except OSError as exc:  # writing: disk full, permission denied
            raise WeightsError(f"cannot write {label} into the cache: {exc.strerror or exc}") from None
        # A silence: the user may have pressed cancel meanwhile; otherwise resume where the data stopped.
        if transfer.total is not None and transfer.received >= transfer.total:
            return  # all bytes were here, only the end of the stream was late
        if should_stop():
            raise DownloadCancelled(f"download of {label} cancelled; nothing was kept")
        if time.monotonic() - transfer.last_data > stall_timeout:
            if not transfer.answered:
                raise WeightsError(f"no answer from {_host(url)} for {stall_timeout:g} s. A firewall? Download "
                                   f"{label} on another machine and import it ('Import file...')")
            raise WeightsError(f"{_host(url)} stopped sending {label} for {stall_timeout:g} s; try again")
        progress(_fraction(transfer, size_hint), f"{label}: the connection went silent, reconnecting")


def _copy_body(url: str, transfer: _Transfer, progress: Progress, should_stop: Callable[[], bool],
               size_hint: int | None) -> None:
    headers = {"User-Agent": "VisionLab"}
    if transfer.received:
        headers["Range"] = f"bytes={transfer.received}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=POLL_S) as response:
        transfer.answered = True
        resumed = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if transfer.received and not (response.status == 206 and resumed
                                      and int(resumed.group(1)) == transfer.received):
            transfer.restart()  # the server cannot resume: start over
        if resumed:
            transfer.total = int(resumed.group(2))
        elif transfer.total is None:
            length = response.headers.get("Content-Length", "")
            transfer.total = int(length) if length.isdigit() else None
        last_report = transfer.received
        while True:
            if should_stop():
                raise DownloadCancelled(f"download of {transfer.label} cancelled; nothing was kept")
            chunk = response.read(CHUNK_BYTES)
            if not chunk:
                return
            transfer.add(chunk)
            if transfer.received - last_report >= REPORT_EVERY_BYTES:
                last_report = transfer.received
                expected = transfer.total or size_hint
                of_total = f" of {expected / MIB:.1f}" if expected else ""
                progress(_fraction(transfer, size_hint), f"{transfer.label}: {transfer.received / MIB:.1f}"
                                                         f"{of_total} MB")


def _fraction(transfer: _Transfer, size_hint: int | None) -> float:
    expected = transfer.total or size_hint
    return min(transfer.received / expected, 0.99) if expected else 0.0  # 1.0 only once checked


def _is_timeout(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason)


def _network_error(exc: BaseException, url: str, label: str) -> WeightsError:
    if isinstance(exc, urllib.error.HTTPError):
        return WeightsError(f"the server refused {label}: HTTP {exc.code} {exc.reason} ({url})")
    reason = getattr(exc, "reason", exc)
    return WeightsError(f"cannot reach {_host(url)} ({reason}). Offline? Download {label} on another machine "
                        "and import it ('Import file...')")


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url
