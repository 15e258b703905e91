"""The one HTTP downloader of VisionLab (weights files, data sets): streamed, cancellable, checked, and only
then visible under its final name.

    fetch(url, target, hash_name="sha256", expected="f37072fd", progress=..., should_stop=..., offline_hint=...)

The bytes go to a hidden temporary file next to `target` while their hash is computed; the file is renamed
over its final name only when the size matches the server's Content-Length and the hash matches. `expected`
may be a prefix of the hex digest (torchvision embeds the first sha256 digits in weight file names) or the
whole digest (torchvision's md5 of the MNIST / CIFAR archives): a full digest is its own prefix. Any failure
removes the temporary file, so a cache never holds half a file (which would otherwise fail later, far from
its cause, inside torch.load or an archive reader).

Cancel must work within a second even when the network goes silent (a panel's thread has 2 s to stop),
so sockets wait at most POLL_S; a silent connection is then dropped and, unless the user cancelled, resumed
with an HTTP Range request, until nothing has arrived for `stall_timeout` seconds. A connection the server
closes before the end is resumed the same way, as long as each attempt brings new bytes.

Errors are DownloadError with a message meant for a status bar; callers re-raise them as their own error
type (WeightsError, DatasetError), and pass `offline_hint` to say what the user can do without a network.
This module knows nothing of weights or training: they import it, never the reverse.
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
from collections.abc import Callable
from pathlib import Path
from typing import IO

from visionlab.core.errors import UserError
from visionlab.core.i18n import _
from visionlab.core.jobs import JobCancelled

Progress = Callable[[float, str], None]
CHUNK_BYTES = 1 << 16
REPORT_EVERY_BYTES = 1 << 20  # a report per MiB or per percent, whichever comes first: never a flood of signals
POLL_S = 1.0  # longest wait on a silent socket before looking at should_stop() again
MIB = float(1 << 20)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+)")


class DownloadError(UserError):
    """Anything about a download the user can cause or fix (network, disk, damaged bytes); says what to do."""


class DownloadCancelled(DownloadError, JobCancelled):
    """`should_stop()` turned true during a download; nothing was kept.

    A JobCancelled too, so a JobWorker reports it as `cancelled`, not as a failure.
    """


class HashMismatch(DownloadError):
    """The bytes arrived whole but are not the file asked for; `found` / `expected` are hex digits."""

    def __init__(self, message: str, found: str, expected: str) -> None:
        super().__init__(message)
        self.found, self.expected = found, expected


class _Transfer:
    """The bytes received so far: into `out`, through the hash, counted."""

    def __init__(self, out: IO[bytes], label: str, hash_name: str) -> None:
        self.out, self.label, self.hash_name = out, label, hash_name
        self.digest = _new_hash(hash_name)
        self.received = 0
        self.total: int | None = None
        self.answered = False  # the server sent a response at least once
        self.last_data = time.monotonic()

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.digest = _new_hash(self.hash_name)
        self.received = 0

    def add(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.digest.update(chunk)
        self.received += len(chunk)
        self.last_data = time.monotonic()


def fetch(url: str, target: Path, *, hash_name: str = "sha256", expected: str | None = None,
          progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
          size_hint: int | None = None, stall_timeout: float = 30.0, offline_hint: str = "") -> Path:
    """Download `url` to `target` atomically, refusing bytes whose `hash_name` digest does not start with `expected`.

    `size_hint` gives a fraction when the server sends no length; `offline_hint` is appended to the messages
    that mean "no network" (what to do instead, e.g. import a file fetched elsewhere).
    """
    target = Path(target)
    _new_hash(hash_name)  # an unknown algorithm is the caller's bug: say so before touching the network
    expected = expected.lower() if expected else None
    progress = progress or (lambda fraction, message: None)
    should_stop = should_stop or (lambda: False)
    if should_stop():
        raise DownloadCancelled(_("download of {file} cancelled before it started").format(file=target.name))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise DownloadError(_("cannot write into {folder}: {error}").format(folder=target.parent,
                                                                            error=exc.strerror or exc)) from None
    progress(0.0, _("connecting to {host}").format(host=_host(url)))
    try:
        with os.fdopen(fd, "wb") as out:
            transfer = _Transfer(out, target.name, hash_name)
            _receive(url, transfer, progress, should_stop, size_hint, stall_timeout, offline_hint)
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:  # a full disk may only show here
                raise DownloadError(_("cannot write {file}: {error}").format(file=target.name,
                                                                         error=exc.strerror or exc)) from None
        received, total, digest = transfer.received, transfer.total, transfer.digest.hexdigest()
        if total is not None and received != total:
            raise DownloadError(_("the download of {file} stopped after {received:.1f} of {total:.1f} MB; "
                                  "try again").format(file=target.name, received=received / MIB, total=total / MIB))
        if expected and not digest.startswith(expected):
            whole = len(expected) >= len(digest)
            sentence = (_("{file} arrived damaged or is a different file: its {hash} is {found}, expected "
                          "{expected}; try again") if whole else
                        _("{file} arrived damaged or is a different file: its {hash} starts with {found}, expected "
                          "{expected}; try again"))
            raise HashMismatch(sentence.format(file=target.name, hash=hash_name, expected=expected,
                                               found=digest if whole else digest[:len(expected)]),
                               digest[:max(len(expected), 8)], expected)
        try:
            os.replace(temp_name, target)
        except OSError as exc:
            raise DownloadError(_("cannot store {file} in {folder}: {error}").format(
                file=target.name, folder=target.parent, error=exc.strerror or exc)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    progress(1.0, (_("{file}: {size:.1f} MB, {hash} checked") if expected else _("{file}: {size:.1f} MB")).format(
        file=target.name, size=received / MIB, hash=hash_name))
    return target


def _receive(url: str, transfer: _Transfer, progress: Progress, should_stop: Callable[[], bool],
             size_hint: int | None, stall_timeout: float, offline_hint: str) -> None:
    """Connect (again, after a silence or an early close) until the body is complete; errors -> DownloadError."""
    label = transfer.label
    while True:
        before = transfer.received
        try:
            _copy_body(url, transfer, progress, should_stop, size_hint)
            if transfer.total is None or transfer.received >= transfer.total or transfer.received <= before:
                return  # complete, or closed early twice at the same byte: fetch() says "stopped after"
            progress(_fraction(transfer, size_hint), _("{file}: the connection closed early, resuming").format(
                file=label))
            continue
        except (urllib.error.URLError, TimeoutError) as exc:
            if not _is_timeout(exc):
                raise _network_error(exc, url, label, offline_hint) from None
        except http.client.IncompleteRead as exc:
            raise DownloadError(_("the connection closed early: {file} stopped after {size:.1f} MB; try again").format(
                file=label, size=(transfer.received + len(exc.partial)) / MIB)) from None
        except ValueError as exc:  # urllib: "unknown url type"
            raise DownloadError(_("'{url}' is not a download address: {error}").format(url=url, error=exc)) from None
        except (ConnectionError, http.client.HTTPException) as exc:
            raise DownloadError(_("the download of {file} failed: {error}; try again").format(
                file=label, error=exc)) from None
        except OSError as exc:  # writing: disk full, permission denied
            raise DownloadError(_("cannot write {file}: {error}").format(
                file=label, error=exc.strerror or exc)) from None
        # A silence: the user may have pressed cancel meanwhile; otherwise resume where the data stopped.
        if transfer.total is not None and transfer.received >= transfer.total:
            return  # all bytes were here, only the end of the stream was late
        if should_stop():
            raise DownloadCancelled(_("download of {file} cancelled; nothing was kept").format(file=label))
        if time.monotonic() - transfer.last_data > stall_timeout:
            if not transfer.answered:
                raise DownloadError(_with_hint(_("no answer from {host} for {seconds:g} s. A firewall?").format(
                    host=_host(url), seconds=stall_timeout), offline_hint))
            raise DownloadError(_("{host} stopped sending {file} for {seconds:g} s; try again").format(
                host=_host(url), file=label, seconds=stall_timeout))
        progress(_fraction(transfer, size_hint), _("{file}: the connection went silent, reconnecting").format(
            file=label))


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
        expected = transfer.total or size_hint
        step = max(min(REPORT_EVERY_BYTES, expected // 100), 1) if expected else REPORT_EVERY_BYTES
        last_report = transfer.received
        while True:
            if should_stop():
                raise DownloadCancelled(f"download of {transfer.label} cancelled; nothing was kept")
            # read1: whatever one socket read brings (≤ CHUNK_BYTES). read() would wait for a full chunk, and a
            # server trickling a byte every 0.2 s would keep it (and a cancel) waiting for hours.
            chunk = response.read1(CHUNK_BYTES)
            if not chunk:
                return
            transfer.add(chunk)
            if transfer.received - last_report >= step:
                last_report = transfer.received
                of_total = f" of {expected / MIB:.1f}" if expected else ""
                progress(_fraction(transfer, size_hint), f"{transfer.label}: {transfer.received / MIB:.1f}"
                                                         f"{of_total} MB")


def _new_hash(hash_name: str) -> hashlib._Hash:
    # usedforsecurity=False: md5 only detects damage here, and FIPS builds of OpenSSL refuse it otherwise.
    try:
        return hashlib.new(hash_name, usedforsecurity=False)
    except ValueError:
        known = ", ".join(sorted(hashlib.algorithms_available))
        raise ValueError(f"unknown hash '{hash_name}': use one of {known}") from None


def _fraction(transfer: _Transfer, size_hint: int | None) -> float:
    expected = transfer.total or size_hint
    return min(transfer.received / expected, 0.99) if expected else 0.0  # 1.0 only once checked


def _is_timeout(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason)


def _network_error(exc: BaseException, url: str, label: str, offline_hint: str) -> DownloadError:
    if isinstance(exc, urllib.error.HTTPError):
        return DownloadError(_("the server refused {file}: HTTP {code} {reason} ({url})").format(
            file=label, code=exc.code, reason=exc.reason, url=url))
    reason = getattr(exc, "reason", exc)
    return DownloadError(_with_hint(_("cannot reach {host} ({reason}). Offline?").format(host=_host(url),
                                                                                       reason=reason), offline_hint))


def _with_hint(message: str, hint: str) -> str:
    return f"{message} {hint}" if hint else message


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url
