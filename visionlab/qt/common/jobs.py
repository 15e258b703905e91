"""The thin QThread that runs one finite job from `core` (a sweep, a basin map, a download...).

The job is a plain function taking `progress(fraction, message)` and `should_stop()` keyword callbacks,
so it is tested without Qt; this worker only turns those callbacks into signals. The worker never touches
widgets.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from visionlab.core.jobs import JobCancelled  # noqa: F401 (re-exported: jobs raise it to stop early)

log = logging.getLogger(__name__)


class JobWorker(QThread):
    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job: Callable[..., Any], *args: Any, parent=None, **kwargs: Any) -> None:
        super().__init__(parent)
        self._job = job
        self._args = args
        self._kwargs = kwargs

    def run(self) -> None:
        try:
            result = self._job(
                *self._args, progress=self._report, should_stop=self.isInterruptionRequested, **self._kwargs
            )
        except JobCancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # shown to the user as a message, never a crash
            log.error("job failed:\n%s", traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        if self.isInterruptionRequested():
            self.cancelled.emit()
        else:
            self.succeeded.emit(result)

    def _report(self, fraction: float, message: str = "") -> None:
        self.progressed.emit(float(fraction), message)

    def cancel_and_wait(self, msecs: int = 2000) -> bool:
        self.requestInterruption()
        return self.wait(msecs)
