"""Fetch one weights file: streamed, cancellable, checked, and only then visible under its final name.

The bytes go to a hidden temporary file in the cache folder while their sha256 is computed; the file is
renamed over its final name only when the size matches the server's Content-Length and the hash starts
with the prefix torchvision embeds in the file name. Any failure removes the temporary file, so the cache
never holds half a model (which would otherwise fail later, far from its cause, inside torch.load).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from visionlab.core.vision.weights_card import DownloadCancelled, WeightsError

Progress = Callable[[float, str], None]
CHUNK_BYTES = 1 << 16
REPORT_EVERY_BYTES = 1 << 20  # progress at most once per MiB: a 180 MB file gives ~180 updates
MIB = float(1 << 20)


def _never() -> bool:
    return False


def _ignore(fraction: float, message: str) -> None:
    pass


def fetch(url: str, target: Path, sha256_prefix: str | None, *, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None, size_hint: int | None = None,
          timeout: float = 30.0) -> Path:
    """Download `url` to `target` atomically; `size_hint` gives a fraction when the server sends no length."""
    progress = progress or _ignore
    should_stop = should_stop or _never
    target.parent.mkdir(parents=True, exist_ok=True)
    if should_stop():
        raise DownloadCancelled(f"download of {target.name} cancelled before it started")
    progress(0.0, f"connecting to {_host(url)}")
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            received, total, digest = _stream(url, out, progress, should_stop, size_hint, timeout, target.name)
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise WeightsError(f"the download of {target.name} stopped after {received / MIB:.1f} of "
                               f"{total / MIB:.1f} MB; try again")
        if sha256_prefix and not digest.startswith(sha256_prefix):
            raise WeightsError(f"{target.name} arrived damaged or is a different file: its sha256 starts with "
                               f"{digest[:len(sha256_prefix)]}, expected {sha256_prefix}; try again")
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    progress(1.0, f"{target.name}: {received / MIB:.1f} MB, sha256 checked")
    return target


def _stream(url: str, out, progress: Progress, should_stop: Callable[[], bool], size_hint: int | None,
            timeout: float, label: str) -> tuple[int, int | None, str]:
    """Copy the response body into `out`; returns (bytes received, Content-Length or None, sha256 hex)."""
    digest = hashlib.sha256()
    received = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "VisionLab"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            expected = total or size_hint
            last_report = 0
            while True:
                if should_stop():
                    raise DownloadCancelled(f"download of {label} cancelled; nothing was kept")
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if received - last_report >= REPORT_EVERY_BYTES:
                    last_report = received
                    fraction = min(received / expected, 0.99) if expected else 0.0
                    of_total = f" of {expected / MIB:.1f}" if expected else ""
                    progress(fraction, f"{label}: {received / MIB:.1f}{of_total} MB")
    except http.client.IncompleteRead as exc:
        raise WeightsError(f"the connection closed early: {label} stopped after "
                           f"{(received + len(exc.partial)) / MIB:.1f} MB; try again") from None
    except urllib.error.HTTPError as exc:
        raise WeightsError(f"the server refused {label}: HTTP {exc.code} {exc.reason} ({url})") from None
    except urllib.error.URLError as exc:
        raise WeightsError(f"cannot reach {_host(url)} ({exc.reason}). Offline? Download {label} on another "
                           "machine and use 'Import file...'") from None
    except (socket.timeout, TimeoutError):
        raise WeightsError(f"{_host(url)} stopped sending {label} for {timeout:.0f} s; try again") from None
    except ValueError as exc:  # urllib: "unknown url type"
        raise WeightsError(f"'{url}' is not a download address: {exc}") from None
    except (ConnectionError, http.client.HTTPException) as exc:
        raise WeightsError(f"the download of {label} failed: {exc}; try again") from None
    except OSError as exc:  # writing: disk full, permission denied
        raise WeightsError(f"cannot write {label} into the cache: {exc.strerror or exc}") from None
    return received, total, digest.hexdigest()


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url
