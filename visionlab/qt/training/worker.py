"""The QThread that runs one training run (core's `monitor.train_run`) and collects its events.

Every event (a dataclass: DataProgress, RunStarted, StepReport, EpochReport, Finished, RunFailed) goes
into a deque the panel drains on a timer (≤25 Hz): curves need every point, so events are never dropped,
but the GUI is never woken per step either. Pause blocks the thread between steps (inside `should_stop`);
stop and shutdown use requestInterruption, which the trainer polls every step, so the run ends with its
metrics and last good checkpoint written.
"""

from __future__ import annotations

import collections
import logging
import threading
import traceback

from PySide6.QtCore import QThread

from visionlab.core.i18n import N_, _
from visionlab.core.training import monitor
from visionlab.qt.common import threads

log = logging.getLogger(__name__)


class TrainingWorker(QThread):
    def __init__(self, config: monitor.TrainConfig, resume_run: monitor.Run | None = None,
                 parent_run: str | None = None, change: str | None = None) -> None:
        super().__init__()  # no parent: a run still finishing a step when the panel closes is retired
        self.setObjectName("training")
        self.config = config
        self.resume_run = resume_run
        self.parent_run, self.change = parent_run, change
        self.outbox: collections.deque = collections.deque()
        self._running = threading.Event()
        self._running.set()
        self.run_record: monitor.Run | None = None
        self.trainer = None
        self.train_seconds = 0.0  # from the first step to the final report (what the bench divides by)
        self._stop_reason = N_("stopped by the user")

    # -- controls, called from the GUI thread -------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop_and_wait(self, msecs: int = 2000, reason: str = N_("stopped by the user")) -> bool:
        """Stop within `msecs`; a step still running then (a big model) is retired and ends on its own.

        `reason` words the run's end message ("stopped by the user", "stopped: the window was closed").
        """
        self._stop_reason = reason
        self.requestInterruption()
        self._running.set()  # a paused run must wake up to stop
        return threads.stop(self, msecs)

    # -- the thread ---------------------------------------------------------------------------------
    def _should_stop(self) -> bool:
        while not self._running.is_set() and not self.isInterruptionRequested():
            self._running.wait(0.05)
        return self.isInterruptionRequested()

    def _on_trainer(self, trainer, run: monitor.Run) -> None:
        self.trainer, self.run_record = trainer, run

    def run(self) -> None:
        try:
            self.train_seconds = monitor.train_run(
                self.config, self.outbox.append, self._should_stop, resume=self.resume_run,
                parent_run=self.parent_run, change=self.change, on_trainer=self._on_trainer,
                loading_should_stop=self.isInterruptionRequested, stop_reason=lambda: self._stop_reason)
        except (monitor.DatasetError, ValueError, KeyError) as exc:  # bad settings or data: a clear message
            self.outbox.append(monitor.RunFailed(str(exc)))
        except Exception as exc:  # never a crash: logged with the traceback, shown as one line
            log.error("training failed:\n%s", traceback.format_exc())
            error = f"{type(exc).__name__}: {exc}"
            self.outbox.append(monitor.RunFailed(_("training failed: {error}").format(error=error)))
