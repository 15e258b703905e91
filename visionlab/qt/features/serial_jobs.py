"""Runs the viewer's jobs one at a time, newest request per kind wins.

The viewer's jobs share one model and put hooks on its modules, so two forward passes must never overlap.
While a job runs, a new request only replaces the waiting request of the same kind (a fast scroll through
the layer tree computes the first and the last layer, not every one in between).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from visionlab.qt.common.jobs import JobWorker

log = logging.getLogger(__name__)
_LINGERING: set[JobWorker] = set()  # workers that outlived shutdown's wait, kept alive until they end


@dataclass
class _Request:
    kind: str
    job: Callable[..., Any]
    args: tuple
    kwargs: dict
    on_success: Callable[[Any], None]


class SerialJobs(QObject):
    failed = Signal(str, str)        # kind, message
    cancelled = Signal(str)          # kind
    progressed = Signal(str, float, str)   # kind, fraction, message
    busy_changed = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._waiting: dict[str, _Request] = {}
        self._worker: JobWorker | None = None
        self._running: _Request | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def submit(self, kind: str, job: Callable[..., Any], *args: Any, on_success: Callable[[Any], None],
               **kwargs: Any) -> None:
        if self._closed:
            return
        self._waiting[kind] = _Request(kind, job, args, kwargs, on_success)
        if self._worker is None:
            self._start_next()

    def drop_waiting(self, kind: str) -> None:
        self._waiting.pop(kind, None)

    def cancel(self, kind: str) -> None:
        """Ask the running job of `kind` to stop (a download checks within a second)."""
        self._waiting.pop(kind, None)
        if self._worker is not None and self._running is not None and self._running.kind == kind:
            self._worker.requestInterruption()

    def _start_next(self) -> None:
        if self._closed or not self._waiting:
            if self._worker is None:
                self.busy_changed.emit(False)
            return
        # Models first: every other job needs the newest model.
        kind = "model" if "model" in self._waiting else next(iter(self._waiting))
        request = self._waiting.pop(kind)
        worker = JobWorker(request.job, *request.args, parent=self, **request.kwargs)
        worker.succeeded.connect(lambda result, r=request: self._succeeded(r, result))
        worker.failed.connect(lambda message, r=request: self.failed.emit(r.kind, message))
        worker.cancelled.connect(lambda r=request: self.cancelled.emit(r.kind))
        worker.progressed.connect(lambda fraction, message, r=request: self.progressed.emit(r.kind, fraction, message))
        worker.finished.connect(self._finished)
        self._worker, self._running = worker, request
        self.busy_changed.emit(True)
        worker.start()

    def _succeeded(self, request: _Request, result: Any) -> None:
        if not self._closed:
            request.on_success(result)

    def _finished(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.deleteLater()
        self._start_next()

    def shutdown(self, msecs: int = 2000) -> bool:
        """Forget waiting jobs, ask the running one to stop and wait for it (a forward pass ends on its own)."""
        self._closed = True
        self._waiting.clear()
        if self._worker is None:
            return True
        if self._worker.cancel_and_wait(msecs):
            return True
        # A torchvision builder cannot be interrupted: keep the thread object alive until it ends by itself
        # (destroying a running QThread aborts the process), and let the window close meanwhile.
        log.warning("a feature-viewer job is still finishing after %d ms", msecs)
        worker = self._worker
        worker.setParent(None)
        _LINGERING.add(worker)
        worker.finished.connect(lambda: _LINGERING.discard(worker))
        return False
