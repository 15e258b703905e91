"""What the Training Monitor asks of core, in one place: one run's whole life, and the numbers it shows.

`train_run` is a training run as a plain function: load the data, build (or resume) the trainer, record
the run folder, and hand every event to `emit`. The panel's QThread only calls it, so the same code runs
headless. Events are dataclasses (the trainer's StepReport / EpochReport / Finished plus the three below),
never string-tagged tuples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from visionlab.core.i18n import N_, _
from visionlab.core.training.config import AB_SETTINGS, TrainConfig, ab_variant, expected_input
from visionlab.core.training.datasets import DatasetError, load_splits
from visionlab.core.training.diagnosis import diagnose
from visionlab.core.training.metrics import ema_alpha
from visionlab.core.training.models import ModelSpec, build_model, parameter_count
from visionlab.core.training.runs import (
    Run,
    create_run,
    delete_run,
    list_runs,
    overlay_label,
    rename_run,
    settings_text,
    varying_settings,
)
from visionlab.core.training.trainer import EpochReport, Finished, StepReport, Trainer

__all__ = ["AB_SETTINGS", "TEST_SHARE_NOTE", "DataProgress", "DatasetError", "EpochReport", "Finished", "ModelSpec",
           "Run", "RunFailed", "RunStarted", "StepReport", "TrainConfig", "ab_variant", "count_parameters",
           "delete_run", "diagnose", "ema_alpha", "final_summary", "list_runs", "overlay_label", "rename_run",
           "settings_text",
           "train_run", "varying_settings"]

# Why the test accuracy appears only when a run ends (for the panel to show beside it).
TEST_SHARE_NOTE = N_("The test share is evaluated once, when the run ends: a number watched during training "
                     "steers choices (early stopping, the best epoch, your next settings) and is no longer a test.")


@dataclass
class DataProgress:
    """Loading (or downloading) the data set."""

    fraction: float
    text: str


@dataclass
class RunStarted:
    """The data is loaded and the run folder exists; training starts now."""

    run: Run
    parameter_count: int
    class_names: list[str]
    steps_per_epoch: int
    start_epoch: int  # > 0 when resuming
    history: dict[str, list] = field(default_factory=dict)  # the metrics recorded before a resume


@dataclass
class RunFailed:
    """The run could not start or stopped on an error; `text` is written for the student."""

    text: str


def count_parameters(config: TrainConfig) -> tuple[int, tuple[int, ...], int | None]:
    """(trainable parameters, input shape, classes) of `config`'s model, without loading the data.

    With an image folder not chosen yet the class count is unknown (None) and 2 classes are assumed.
    Raises ValueError or RuntimeError when the model does not fit the input.
    """
    shape, classes = expected_input(config)
    return parameter_count(build_model(config.model, shape, classes or 2)), shape, classes


def final_summary(finished: Finished) -> str:
    """The final weights' accuracies, all in eval mode (train on the diagnosis's fixed training sample)."""
    if not math.isfinite(finished.val_loss):
        return _("The final weights are not finite: there is nothing to evaluate.")
    if finished.status == "stopped" and not finished.restored:
        which = _("Final weights at the stop in epoch {epoch}").format(epoch=finished.weights_epoch + 1)
    elif finished.restored:
        which = _("Final weights of epoch {epoch} (restored)").format(epoch=finished.weights_epoch)
    else:
        which = _("Final weights of epoch {epoch}").format(epoch=finished.weights_epoch)
    test = _("no test share held out") if finished.test_acc is None else \
        _("test {acc:.1%} on {count} held-out images (evaluated once, at the end)").format(
            acc=finished.test_acc, count=finished.test_count)
    return _("{which}: train {train:.1%} · val {val:.1%} · {test}").format(
        which=which, train=finished.train_acc, val=finished.val_acc, test=test)


def train_run(config: TrainConfig, emit: Callable[[Any], None], should_stop: Callable[[], bool], *,
              resume: Run | None = None, parent_run: str | None = None, change: str | None = None,
              on_trainer: Callable[[Trainer, Run], None] | None = None,
              loading_should_stop: Callable[[], bool] | None = None,
              stop_reason: Callable[[], str] = lambda: N_("stopped by the user")) -> float:
    """Train one run to its end (or until `should_stop`); returns the seconds spent training.

    `should_stop` is polled every step (a paused run simply blocks inside it); loading the data polls
    `loading_should_stop` instead when given (pausing means pausing the training, not the download).
    `stop_reason` words a stop for the run's message ("stopped by the user", "stopped: you left the
    Training panel"); it is asked once, when `should_stop` said yes.
    The run's files are complete on disk whatever happens: `Run.close` runs in a `finally`.
    """
    data = load_splits(config, progress=lambda fraction, text: emit(DataProgress(fraction, text)),
                       should_stop=loading_should_stop or should_stop)
    start_epoch, state = 0, None
    if resume is not None:
        saved = resume.resume_state()
        if saved is not None:
            start_epoch, state = saved
    trainer = Trainer(config, data, start_epoch=start_epoch, state=state)
    run = resume or create_run(config, trainer.parameter_count, parent_run, change)
    if on_trainer is not None:
        on_trainer(trainer, run)
    emit(RunStarted(run, trainer.parameter_count, data.class_names, trainer.steps_per_epoch, start_epoch,
                    {key: list(value) for key, value in run.metrics.items()}))
    started, train_seconds = time.perf_counter(), 0.0
    try:
        for event in trainer.events(should_stop, stop_reason):
            if isinstance(event, Finished):
                # Training, its per-epoch files and the final evaluation are done; what follows is
                # waiting for the disk to confirm the last files, which is not training time.
                train_seconds = time.perf_counter() - started
            run.record(event, trainer)
            emit(event)
    finally:
        run.close()  # whatever happened, the files written so far are complete on disk
    return train_seconds
