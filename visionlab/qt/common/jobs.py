"""Finite jobs (a sweep, a model build, a download, an export) on worker threads, one owner per panel.

A job is a plain `core` function. If it takes `progress(fraction, message)` and / or `should_stop()`
keyword arguments, the runner passes them (so it reports progress and can be cancelled); a plain callable
is simply called. Core stays testable without Qt; this module only turns the callbacks into signals.

`JobRunner` is the one tracker of a panel's jobs, by kind ("load", "download", "export"...):
- `start(kind, fn, ...)` with `replace=True` cancels the running job of that kind and starts the new one
  at once (the old one is retired: it finishes on its own and its result is dropped, since a model build
  cannot be interrupted); with `replace=False` the new job waits for the running one, and a newer waiting
  request of the same kind replaces the older (scrolling through twenty layers computes two).
- An `exclusive` runner runs one job at a time whatever the kind (the Feature-Map Viewer's jobs share
  one model and hook its modules, so two forward passes must never overlap); it always queues, since a
  retired job would still be using the model.
- `shutdown(timeout_s)` never waits longer than that: a job still busy then is retired.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from visionlab.core.errors import UserError
from visionlab.core.jobs import JobCancelled
from visionlab.qt.common import threads

log = logging.getLogger(__name__)
Callback = Callable[..., Any] | None


def _call(job: Callable[..., Any], args: tuple, kwargs: dict, progress: Callable, should_stop: Callable) -> Any:
    """Call `job`, passing `progress` / `should_stop` only if it accepts them."""
    try:
        parameters = inspect.signature(job).parameters
    except (TypeError, ValueError):  # a builtin without a signature: a plain callable
        parameters = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    extra = {name: value for name, value in (("progress", progress), ("should_stop", should_stop))
             if takes_any or name in parameters}
    return job(*args, **kwargs, **extra)


class JobWorker(QThread):
    """One job on one thread. It never touches widgets: results leave through the signals."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job: Callable[..., Any], *args: Any, parent=None, **kwargs: Any) -> None:
        super().__init__(parent)
        self._job, self._args, self._kwargs = job, args, kwargs
        self.setObjectName(f"job:{getattr(job, '__name__', 'job')}")

    def run(self) -> None:
        job, args, kwargs = self._job, self._args, self._kwargs
        # A finished worker may stay referenced a while (threads.track): it must not keep the job's
        # arguments (a model, an image) alive with it.
        self._job, self._args, self._kwargs = None, (), {}
        try:
            result = _call(job, args, kwargs, self._report, self.isInterruptionRequested)
            del job, args, kwargs
        except JobCancelled:
            self.cancelled.emit()
            return
        except UserError as exc:  # expected (a bad file, a refused download): its sentence, one log line
            log.warning("%s refused: %s", self.objectName(), exc)
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug: shown with its type as a message, never a crash, logged in full
            log.error("job failed:\n%s", traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        if self.isInterruptionRequested():
            self.cancelled.emit()
        else:
            self.succeeded.emit(result)

    def _report(self, fraction: float, message: str = "") -> None:
        self.progressed.emit(float(fraction), message)


@dataclass
class _Request:
    kind: str
    job: Callable[..., Any]
    args: tuple
    kwargs: dict
    on_done: Callback = None
    on_error: Callback = None
    on_progress: Callback = None
    on_cancel: Callback = None
    worker: JobWorker | None = field(default=None, repr=False)


class JobRunner(QObject):
    """The panel's one owner of finite jobs; see the module docstring for the rules."""

    busy_changed = Signal(bool)

    def __init__(self, parent=None, *, exclusive: bool = False, first: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.exclusive = exclusive
        self.first = first  # kinds that jump the queue (the viewer's "model": every other job needs it)
        self._running: dict[str, _Request] = {}
        self._waiting: dict[str, _Request] = {}
        self._closed = False

    # -- asking ---------------------------------------------------------------------------------------
    def start(self, kind: str, job: Callable[..., Any], *args: Any, on_done: Callback = None,
              on_error: Callback = None, on_progress: Callback = None, on_cancel: Callback = None,
              replace: bool = True, **kwargs: Any) -> None:
        """Run `job(*args, **kwargs)` as a job of `kind`; callbacks run on the GUI thread."""
        if self._closed:
            return
        request = _Request(kind, job, args, kwargs, on_done, on_error, on_progress, on_cancel)
        if kind in self._running and replace and not self.exclusive:  # exclusive runners always queue
            self._retire(self._running.pop(kind))
        self._waiting[kind] = request  # a newer request of the same kind replaces a waiting one
        self._start_next()

    def cancel(self, kind: str) -> None:
        """Forget a waiting job of `kind` and ask the running one to stop (its on_cancel will say so)."""
        self._waiting.pop(kind, None)
        request = self._running.get(kind)
        if request is not None and request.worker is not None:
            request.worker.requestInterruption()

    def drop_waiting(self, kind: str) -> None:
        self._waiting.pop(kind, None)

    def is_running(self, kind: str) -> bool:
        return kind in self._running

    def is_pending(self, kind: str) -> bool:
        """A job of `kind` is running or waits for its turn."""
        return kind in self._running or kind in self._waiting

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def close(self) -> None:
        """Start nothing more, forget waiting jobs and ask running ones to stop, without waiting.

        A panel that stops other threads too calls this first, so that all of them stop in parallel
        within one deadline, then `shutdown` with what is left of it.
        """
        self._closed = True
        self._waiting.clear()
        for request in self._running.values():
            if request.worker is not None:
                request.worker.requestInterruption()

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        """Close, then wait for running jobs at most `timeout_s` in all; True when all of them ended."""
        self.close()
        workers = [request.worker for request in self._running.values() if request.worker is not None]
        self._running.clear()
        return threads.stop_all(workers, timeout_s)

    # -- running --------------------------------------------------------------------------------------
    def _start_next(self) -> None:
        was_busy = self.busy
        for kind in self._ready_kinds():
            self._launch(self._waiting.pop(kind))
            if self.exclusive:
                break
        if self.busy != was_busy:
            self.busy_changed.emit(self.busy)

    def _ready_kinds(self) -> list[str]:
        if self.exclusive and self._running:
            return []
        ordered = [kind for kind in self.first if kind in self._waiting]
        ordered += [kind for kind in self._waiting if kind not in ordered]
        return [kind for kind in ordered if kind not in self._running]

    def _launch(self, request: _Request) -> None:
        worker = JobWorker(request.job, *request.args, **request.kwargs)  # no parent: see threads.retire
        request.worker = worker
        current = lambda: self._running.get(request.kind) is request  # noqa: E731 (a retired job is silent)
        if request.on_progress is not None:
            worker.progressed.connect(lambda fraction, text: current() and request.on_progress(fraction, text))
        worker.succeeded.connect(lambda result: current() and request.on_done is not None and request.on_done(result))
        worker.failed.connect(lambda text: current() and self._report_error(request, text))
        worker.cancelled.connect(lambda: current() and request.on_cancel is not None and request.on_cancel())
        worker.finished.connect(lambda: self._finished(request))
        self._running[request.kind] = request
        threads.track(worker)
        worker.start()

    def _report_error(self, request: _Request, text: str) -> None:
        if request.on_error is not None:
            request.on_error(text)
        else:
            log.warning("%s job failed: %s", request.kind, text)

    def _finished(self, request: _Request) -> None:
        if self._running.get(request.kind) is request:
            del self._running[request.kind]
            self._start_next()
            if not self.busy:
                self.busy_changed.emit(False)
        # The worker's connections hold this request: drop what it points at (often a panel's methods), so
        # no reference cycle keeps a closed panel alive until some later collection.
        request.on_done = request.on_error = request.on_progress = request.on_cancel = None
        request.worker, request.args, request.kwargs = None, (), {}

    def _retire(self, request: _Request) -> None:
        if request.worker is not None:
            threads.retire(request.worker)
