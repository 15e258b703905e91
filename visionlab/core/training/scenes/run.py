"""One scene-task run from settings to a run folder: the data, the task's trainer, and the files it leaves.

The GUI's "Detect & segment" tab and `visionlab train --task segment|detect` both call `run_scene_task`, so
a run trained either way leaves the same folder, shaped like the classifier's (runs.py):

    <run folder>/run.json     the config, the data's size, status, message, best epoch and metric at the end
                 metrics.json step and epoch histories (rewritten after every epoch and at the end)
                 best.pt      the best epoch's weights with everything that rebuilds the model
                              (scenes/checkpoint.py; `load_scene_model` opens it)
                 events.out.tfevents.*   TensorBoard: step/train_loss, step/lr, step/<loss part> at each
                              reported step; epoch/train_loss, epoch/val_loss, epoch/miou or epoch/map50

Every file is written atomically; the JSON files go through a BackgroundWriter so the disk never pauses
the training loop, and the run's end waits until everything is on disk before the last event is passed on
(whoever reads SceneFinished may open best.pt at once).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visionlab.core.errors import UserError
from visionlab.core.i18n import _
from visionlab.core.training.runs import runs_dir
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished, SceneStep
from visionlab.core.training.scenes.run_preview import ScenePreview, draw_preview
from visionlab.core.training.writer import BackgroundWriter

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

METRIC_TAGS = {"segment": "miou", "detect": "map50"}  # TensorBoard's "epoch/<tag>" of each task's metric
CHECKPOINT_NAME = "best.pt"

Event = SceneStep | SceneEpoch | SceneFinished
Trainer = Callable[..., Iterator[Event]]


@dataclass
class SceneRunStarted:
    """The first event of a run: where its files go and what it trains on (the config as actually run: a
    COCO folder sets the frame size)."""

    folder: Path
    config: SceneConfig
    train_count: int
    val_count: int


RunEvent = SceneRunStarted | Event | ScenePreview


def scene_runs_dir() -> Path:
    """Scene runs live beside the classifier's, in their own sub-folder: the classifier's run list reads
    every run.json in runs/ as a classification run."""
    folder = runs_dir() / "scenes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_scene_task(config: SceneConfig, out_dir: str | Path | None = None,
                   should_stop: Callable[[], bool] = lambda: False,
                   progress: Callable[[float, str], Any] = lambda fraction, message: None,
                   previews: int = 0, trainer: Trainer | None = None) -> Iterator[RunEvent]:
    """Make or read the scenes, train the task and keep its run folder current; yields SceneRunStarted,
    then the trainer's events as they come (SceneFinished last, once every file is on disk).

    `out_dir` None: a new folder under the app's runs folder. `previews` > 0: after each SceneEpoch a
    ScenePreview of that many validation frames (drawn here, in the training thread). `trainer` replaces
    the task's own training generator (same signature; tests use it). ValueError for settings that cannot
    work, SceneDataError (a UserError) for data that cannot be used."""
    config.validate()
    if out_dir is not None and (Path(out_dir) / "run.json").exists():  # before minutes of scene making
        raise ValueError(_("{folder} already holds a run: choose another folder").format(folder=out_dir))
    train_fn = trainer or task_trainer(config.task)
    train, val, config = load_scenes(config, progress)
    folder = _new_folder(config) if out_dir is None else _explicit_folder(Path(out_dir))
    record = SceneRunRecord(folder, config, len(train), len(val))
    yield SceneRunStarted(folder, config, len(train), len(val))
    finished = None
    try:
        if should_stop():  # stopped while the scenes were made: a run folder that says so, nothing trained
            events: Iterator[Event] = iter([SceneFinished("stopped", "stopped before training began", 0, math.nan,
                                                          config.metric_name)])
        else:
            events = train_fn(config, train, val, should_stop)
        for event in events:
            if isinstance(event, SceneFinished):
                finished = event
                record.finish(event)
                continue
            record.record(event)
            yield event
            if isinstance(event, SceneEpoch) and previews > 0:
                preview = _preview(event, config, val[:previews])
                if preview is not None:
                    yield preview
    except BaseException as exc:  # a failed or abandoned run still says so in run.json
        record.fail("abandoned" if isinstance(exc, GeneratorExit) else
                    str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
        raise
    finally:
        record.close()
    if finished is None:
        raise RuntimeError("the trainer ended without a SceneFinished event")
    finished.extra["run_folder"] = str(folder.resolve())
    finished.extra["checkpoint_path"] = str(record.checkpoint.resolve()) if record.checkpoint else None
    yield finished


def _preview(event: SceneEpoch, config: SceneConfig, scenes: list) -> ScenePreview | None:
    from visionlab.core.shapes.scenes import CLASSES

    if event.model is None or not scenes:  # a stand-in trainer without a model: nothing to draw
        return None
    return draw_preview(event.model, config.task, scenes, ["background", *CLASSES], event.epoch)


def task_trainer(task: str) -> Trainer:
    """The training generator of `task` (imported here: torchvision loads only for detection)."""
    if task == "segment":
        from visionlab.core.training.scenes.segment import train_segmenter

        return train_segmenter
    if task == "detect":
        from visionlab.core.training.scenes.detect import train_detector

        return train_detector
    raise ValueError(_("there is no scene task '{task}'").format(task=task))


def load_scenes(config: SceneConfig, progress: Callable[[float, str], Any] = lambda fraction, message: None,
                ) -> tuple[list, list, SceneConfig]:
    """(training scenes, validation scenes, the config with the data's frame size): scene_data's rule
    (generated from the seed, validation from seed + 1_000_003; or a COCO folder, split), and for a folder
    the frame size its images have, which the detector's transform and the checkpoint must know."""
    from visionlab.core.training.scenes.scene_data import SceneDataError
    from visionlab.core.training.scenes.scene_data import load_scenes as scene_sets

    if config.data == "shapes":
        progress(0.0, _("Making {train} training and {val} validation scenes…").format(train=config.train_frames,
                                                                                        val=config.val_frames))
    else:
        progress(0.0, _("Reading the scenes in {folder}…").format(folder=config.data))
    train, val = scene_sets(config)
    sizes = {scene.image.shape[:2] for scene in [*train, *val]}
    if len(sizes) != 1:
        raise SceneDataError(_("the frames in {folder} have {count} different sizes; a run needs frames of one size "
                               "(write them with `visionlab shapes`)").format(folder=config.data, count=len(sizes)))
    if len(train) < config.batch_size:
        raise SceneDataError(_("there are {count} training frames, fewer than one batch of {batch}").format(
            count=len(train), batch=config.batch_size))
    height, width = sizes.pop()
    progress(1.0, _("{train} training and {val} validation frames ready.").format(train=len(train), val=len(val)))
    return train, val, dataclasses.replace(config, frame_width=width, frame_height=height,
                                           train_frames=len(train), val_frames=len(val))


class SceneRunRecord:
    """A scene run's folder, kept current as the trainer's events arrive (see the module docstring)."""

    def __init__(self, folder: Path, config: SceneConfig, train_count: int, val_count: int) -> None:
        self.folder = folder
        self.config = config
        self.metric_tag = METRIC_TAGS[config.task]
        self.checkpoint: Path | None = None
        self.metrics: dict[str, list] = {"steps": [], "epochs": []}
        self.info: dict[str, Any] = {
            "kind": "scenes", "task": config.task, "config": config.to_dict(), "created": time.time(),
            "status": "running", "label": f"{config.task} on {config.data}, lr {config.lr:g}",
            "metric_name": config.metric_name, "train_frames": train_count, "val_frames": val_count}
        self._writer = BackgroundWriter()
        self._events: SummaryWriter | None = None
        self._save_info()

    def _event_file(self) -> SummaryWriter:
        if self._events is None:
            from torch.utils.tensorboard import SummaryWriter

            # flush_secs=1: a watcher (the Watched logs tab, TensorBoard) sees each point within a second.
            self._events = SummaryWriter(log_dir=str(self.folder), flush_secs=1)
        return self._events

    def _save_info(self) -> None:
        self._writer.submit(self.folder / "run.json", json.dumps(_finite(self.info), indent=1).encode("utf-8"))

    def _save_metrics(self) -> None:
        self._writer.submit(self.folder / "metrics.json", json.dumps(_finite(self.metrics)).encode("utf-8"))

    def record(self, event: SceneStep | SceneEpoch) -> None:
        events = self._event_file()
        if isinstance(event, SceneStep):
            self.metrics["steps"].append({"step": event.step, "epoch": event.epoch, "lr": event.lr,
                                          **{key: float(value) for key, value in event.losses.items()}})
            events.add_scalar("step/train_loss", event.losses["loss"], event.step)
            events.add_scalar("step/lr", event.lr, event.step)
            for part, value in event.losses.items():
                if part != "loss":
                    events.add_scalar(f"step/{part}", value, event.step)
        elif isinstance(event, SceneEpoch):
            self.metrics["epochs"].append({"epoch": event.epoch, "train_loss": event.train_loss,
                                           "val_loss": event.val_loss, "metric": event.metric,
                                           self.metric_tag: event.metric, "seconds": event.seconds,
                                           **{f"train_{part}": value for part, value in event.losses.items()}})
            for key, value in (("train_loss", event.train_loss), ("val_loss", event.val_loss),
                               (self.metric_tag, event.metric)):
                events.add_scalar(f"epoch/{key}", value, event.epoch)
            # max() over a NaN (a diverged epoch) depends on the order: only measured metrics compete.
            scored = [row["metric"] for row in self.metrics["epochs"] if math.isfinite(row["metric"])]
            self.info.update(epochs_done=event.epoch, best_metric=max(scored) if scored else math.nan)
            self._save_metrics()
            self._save_info()

    def finish(self, event: SceneFinished) -> None:
        """The run's end: best.pt (when the trainer kept weights), final run.json and metrics.json."""
        if event.checkpoint is not None:
            from visionlab.core.training.scenes.checkpoint import save_scene_checkpoint

            path = self.folder / CHECKPOINT_NAME
            save_scene_checkpoint(path, event.checkpoint["state_dict"], event.checkpoint["config"],
                                  {"epoch": event.best_epoch, "metric": event.metric,
                                   "metric_name": event.metric_name, "status": event.status})
            self.checkpoint = path
        self.info.update(status=event.status, message=event.message, best_epoch=event.best_epoch,
                         metric=event.metric, seconds=event.seconds,
                         checkpoint=CHECKPOINT_NAME if self.checkpoint else None)
        self._save_metrics()
        self._save_info()

    def fail(self, message: str) -> None:
        self.info.update(status="failed", message=message)
        self._save_metrics()
        self._save_info()

    def close(self) -> None:
        """Wait until every file is on disk; a write that failed is noted in run.json."""
        if self._events is not None:
            events, self._events = self._events, None
            events.close()
        self._writer.close()
        if self._writer.errors:
            from visionlab.core.atomic import write_text

            self.info["write_errors"] = self._writer.errors
            write_text(self.folder / "run.json", json.dumps(_finite(self.info), indent=1))


def _new_folder(config: SceneConfig) -> Path:
    base = scene_runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{config.task}"
    folder, number = base, 1
    while folder.exists():
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    folder.mkdir(parents=True)
    return folder


def _explicit_folder(folder: Path) -> Path:
    if (folder / "run.json").exists():
        raise ValueError(_("{folder} already holds a run: choose another folder").format(folder=folder))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _finite(value: Any) -> Any:
    """JSON has no NaN: a number that could not be measured (a diverged run's loss) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
