"""The QThread that runs one training run: loads the data, drives the core trainer, records the run.

Every trainer event goes into a deque the panel drains on a timer (≤30 Hz): curves need every point, so
events are never dropped, but the GUI is never woken per step either. Pause blocks the thread between
steps (the generator simply is not advanced); stop and shutdown use requestInterruption, which the trainer
polls every step, so the run ends with its metrics and last good checkpoint written.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import traceback

from PySide6.QtCore import QThread

from visionlab.core.training.config import TrainConfig, load_splits
from visionlab.core.training.datasets import DatasetError
from visionlab.core.training.runs import Run, create_run
from visionlab.core.training.trainer import Finished, Trainer

log = logging.getLogger(__name__)


class TrainingWorker(QThread):
    """Messages in `outbox`: ("progress", (fraction, text)), ("started", dict), ("event", trainer event),
    ("error", text). The thread's `finished` signal marks the end."""

    def __init__(self, config: TrainConfig, resume_run: Run | None = None, parent=None,
                 parent_run: str | None = None, change: str | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.resume_run = resume_run
        self.parent_run, self.change = parent_run, change
        self.outbox: collections.deque = collections.deque()
        self._running = threading.Event()
        self._running.set()
        self.run_record: Run | None = None
        self.trainer: Trainer | None = None
        self.train_seconds = 0.0  # from the first step to the final report (what the bench divides by)

    # -- controls, called from the GUI thread -------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop_and_wait(self, msecs: int = 2000) -> bool:
        self.requestInterruption()
        self._running.set()  # a paused run must wake up to stop
        return self.wait(msecs)

    # -- the thread ---------------------------------------------------------------------------------
    def _should_stop(self) -> bool:
        while not self._running.is_set() and not self.isInterruptionRequested():
            self._running.wait(0.05)
        return self.isInterruptionRequested()

    def run(self) -> None:
        try:
            self._train()
        except (DatasetError, ValueError, KeyError) as exc:  # bad settings or data: a clear message
            self.outbox.append(("error", str(exc)))
        except Exception as exc:  # never a crash: logged with the traceback, shown as one line
            log.error("training failed:\n%s", traceback.format_exc())
            self.outbox.append(("error", f"training failed: {type(exc).__name__}: {exc}"))

    def _train(self) -> None:
        data = load_splits(self.config, progress=lambda f, m: self.outbox.append(("progress", (f, m))),
                           should_stop=self.isInterruptionRequested)
        start_epoch, state = 0, None
        if self.resume_run is not None:
            saved = self.resume_run.resume_state()
            if saved is not None:
                start_epoch, state = saved
        trainer = Trainer(self.config, data, start_epoch=start_epoch, state=state)
        self.trainer = trainer
        run = self.resume_run or create_run(self.config, trainer.parameter_count, self.parent_run, self.change)
        self.run_record = run
        self.outbox.append(("started", {"run": run, "parameter_count": trainer.parameter_count,
                                        "class_names": data.class_names, "steps_per_epoch": trainer.steps_per_epoch,
                                        "start_epoch": start_epoch,
                                        "history": {key: list(value) for key, value in run.metrics.items()}}))
        started = time.perf_counter()
        try:
            for event in trainer.events(self._should_stop):
                if isinstance(event, Finished):
                    # Training, its per-epoch files and the final evaluation are done; what follows is
                    # waiting for the disk to confirm the last files, which is not training time.
                    self.train_seconds = time.perf_counter() - started
                run.record(event, trainer)
                self.outbox.append(("event", event))
        finally:
            run.close()  # whatever happened, the files written so far are complete on disk
