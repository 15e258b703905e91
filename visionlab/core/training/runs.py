"""The run manager: every run is a folder in the user data folder, written atomically as it trains.

    runs/<run id>/run.json      config, status, label, parameter count, parent run and changed setting (A/B),
                                and when it ended the final weights' train / val / test numbers ("final")
                 name.txt       the name the student gave the run (its own file: renaming a run that is
                                training never races the trainer's rewrites of run.json)
                 metrics.json   step and epoch histories (while training rewritten after an epoch at most
                                once a second, and always when the run ends)
                 best.pt        checkpoint of the best validation epoch (checkpoint.py format; while
                                training rewritten at most every 5 s, and always when the run ends)
                 resume.pt      last epoch's weights + optimizer state, to resume a stopped run
                 events.out.tfevents.*   TensorBoard events written live (flushed every second): "step/<field>"
                                at the optimizer step, "epoch/<field>" at the epoch (what export_tensorboard writes)

`create_run(..., folder=...)` puts a run in a folder of the caller's choosing (`visionlab train --out`).
Runs can be listed, deleted, resumed and exported as CSV or TensorBoard event files. While a run trains,
its files are written by a BackgroundWriter, so the disk never pauses the training loop; a run's end
(finished, stopped, diverged) waits until everything is on disk.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from visionlab.core import paths
from visionlab.core.atomic import write_text
from visionlab.core.i18n import N_, _
from visionlab.core.training.checkpoint import checkpoint_bytes
from visionlab.core.training.config import TrainConfig

# How the runs list and legends name the settings (run_settings.py), importable from here with the runs.
from visionlab.core.training.run_settings import SETTING_LABELS as SETTING_LABELS
from visionlab.core.training.run_settings import config_difference as config_difference
from visionlab.core.training.run_settings import overlay_label as overlay_label
from visionlab.core.training.run_settings import setting_label as setting_label
from visionlab.core.training.run_settings import settings_text as settings_text
from visionlab.core.training.run_settings import varying_settings as varying_settings
from visionlab.core.training.trainer import EpochReport, Finished, StepReport, Trainer
from visionlab.core.training.writer import BackgroundWriter

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

BEST_EVERY_S = 5.0  # while training, best.pt is rewritten at most this often (and always at the end)
# metrics.json and run.json are rewritten after an epoch at most this often while training (and always when
# the run ends or its thread exits): each atomic write (temp file, fsync, rename) wakes the writer thread,
# which then competes with the training loop for the interpreter lock. A 60 ms digits epoch wrote two files
# 16 times a second (~2 % of the run); a 20 s CIFAR epoch still writes after every epoch.
FILES_EVERY_S = 1.0
RESUME_EVERY = 10  # epochs between resume snapshots while training (one is always written on a stop)
STEP_TAGS = ("train_loss", "train_acc", "lr")  # written as "step/<name>" at the optimizer step
EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "train_eval_loss", "train_eval_acc")
FINAL_FIELDS = ("weights_epoch", "restored", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                "test_count")
NAME_LIMIT = 80


def runs_dir() -> Path:
    return paths.subdir("runs")


class Run:
    """One run's folder; `record` is fed every trainer event and keeps the files current."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.info = json.loads((self.folder / "run.json").read_text(encoding="utf-8"))
        metrics = self.folder / "metrics.json"
        self.metrics = json.loads(metrics.read_text(encoding="utf-8")) if metrics.exists() else \
            {"steps": [], "epochs": []}
        name = self.folder / "name.txt"
        self.custom_name = name.read_text(encoding="utf-8").strip() if name.is_file() else ""
        self._writer: BackgroundWriter | None = None
        self._events: SummaryWriter | None = None  # opened at the first recorded event
        self._best: tuple[dict, dict, dict] | None = None  # best weights not yet on disk
        self._best_written = self._files_written = time.monotonic()
        self._unsaved = False  # metrics / info changed since they were last handed to the writer

    @property
    def run_id(self) -> str:
        return self.folder.name

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.info["config"])

    @property
    def label(self) -> str:
        """The label the run was created with; shown in the current language when it is the usual one."""
        stored = self.info.get("label", self.run_id)
        try:
            usual = run_label(self.config, self.info.get("parent"), self.info.get("change"), translate=False)
        except (KeyError, TypeError, ValueError):  # an old or hand-edited run.json: its label as written
            return stored
        if stored != usual:
            return stored
        return run_label(self.config, self.info.get("parent"), self.info.get("change"))

    @property
    def name(self) -> str:
        """The student's name for the run, else the number and label it was created with."""
        if self.custom_name:
            return self.custom_name
        number = self.info.get("number")
        return f"#{number} {self.label}" if number else self.label

    @property
    def short_name(self) -> str:
        """The student's name for the run, else its number ("#3"): for lines that must stay short."""
        number = self.info.get("number")
        return self.custom_name or (f"#{number}" if number else self.label)

    def _write(self, name: str, data: bytes) -> None:
        if self._writer is None:
            self._writer = BackgroundWriter()
        self._writer.submit(self.folder / name, data)

    def _save_info(self) -> None:
        self._write("run.json", json.dumps(self.info, indent=1).encode("utf-8"))

    def _save_files(self) -> None:
        self._save_metrics()
        self._save_info()
        self._unsaved, self._files_written = False, time.monotonic()

    def _save_metrics(self) -> None:
        self._write("metrics.json", json.dumps(self.metrics).encode("utf-8"))

    def _event_file(self) -> SummaryWriter:
        # SummaryWriter queues each scalar and writes it on its own thread; flush_secs=1 keeps a watcher
        # within a second of the run (its default, 120 s, would leave the live curves minutes behind).
        if self._events is None:
            from torch.utils.tensorboard import SummaryWriter

            self._events = SummaryWriter(log_dir=str(self.folder), flush_secs=1)
        return self._events

    def record(self, event, trainer: Trainer) -> None:
        if isinstance(event, StepReport):
            self.metrics["steps"].append({"step": event.step, "epoch": event.epoch, "train_loss": event.train_loss,
                                          "train_acc": event.train_acc, "lr": event.lr})
            events = self._event_file()
            for key in STEP_TAGS:
                events.add_scalar(f"step/{key}", getattr(event, key), event.step)
        elif isinstance(event, EpochReport):
            self.metrics["epochs"].append({key: getattr(event, key) for key in EPOCH_FIELDS})
            events = self._event_file()
            for key in EPOCH_FIELDS[1:]:
                events.add_scalar(f"epoch/{key}", getattr(event, key), event.epoch)
            extra = {"epoch": event.epoch, "metrics": {key: getattr(event, key) for key in EPOCH_FIELDS}}
            if event.improved:
                self._best = (trainer.best_state, trainer.model_config(), extra)
            if self._best is not None and time.monotonic() - self._best_written >= BEST_EVERY_S:
                self._write_best()
            # Also written when the run is stopped; this covers a crash. Not after the last epoch: a finished
            # run cannot be resumed, so that snapshot would never be read.
            snapshot = event.epoch % RESUME_EVERY == 0 and event.epoch < trainer.config.epochs
            if snapshot:
                self._save_resume(trainer)
            self.info.update(status="running", epochs_done=event.epoch, best_epoch=event.best_epoch,
                             best_val_acc=max(e["val_acc"] for e in self.metrics["epochs"]))
            self._unsaved = True
            # With a resume snapshot the metrics are written too, so a resumed run's history reaches it.
            if snapshot or time.monotonic() - self._files_written >= FILES_EVERY_S:
                self._save_files()
        elif isinstance(event, Finished):
            if self._best is not None:
                self._write_best()
            if event.status == "stopped" and trainer.epoch > trainer.start_epoch:
                self._save_resume(trainer)  # the weights now, so nothing trained is lost
            final = {key: getattr(event, key) for key in FINAL_FIELDS}
            # JSON has no NaN: a number that could not be measured (diverged weights) is null.
            final = {key: None if isinstance(v, float) and not math.isfinite(v) else v for key, v in final.items()}
            self.info.update(status=event.status, message=event.message, best_epoch=event.best_epoch, final=final)
            self._save_files()
            self.close()

    def fail(self, message: str) -> None:
        """The run ended on an error (e.g. another process of a distributed run died): say so in run.json."""
        if self._best is not None:  # the best epoch so far, not yet on disk
            self._write_best()
        self.info.update(status="failed", message=message)
        self._unsaved = True
        self.close()

    def close(self) -> None:
        """Wait until every file of this run is on disk; a write that failed is noted in run.json."""
        if self._events is not None:
            events, self._events = self._events, None
            events.close()  # flushes the queued scalars and joins its thread
        if self._unsaved:  # e.g. the training thread failed: keep every epoch recorded so far
            self._save_files()
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        writer.close()
        if writer.errors:
            self.info["write_errors"] = writer.errors
            write_text(self.folder / "run.json", json.dumps(self.info, indent=1))

    def _write_best(self) -> None:
        assert self._best is not None  # called only when best weights are waiting
        state, config, extra = self._best
        self._write("best.pt", checkpoint_bytes(state, config, extra))
        self._best, self._best_written = None, time.monotonic()

    def _save_resume(self, trainer: Trainer) -> None:
        buffer = io.BytesIO()
        torch.save(trainer.resume_state(), buffer)  # serializing copies: no snapshot kept in memory
        self._write("resume.pt", buffer.getvalue())

    def resume_state(self) -> tuple[int, dict] | None:
        """(epochs done, {"model", "optimizer"}) of the last saved epoch, or None if none was saved."""
        path = self.folder / "resume.pt"
        if not path.exists():
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
        # Drop what came after the saved epoch, so the resumed curves continue without a duplicate.
        self.metrics["epochs"] = self.metrics["epochs"][:state["epoch"]]
        self.metrics["steps"] = [s for s in self.metrics["steps"] if s["epoch"] < state["epoch"]]
        return int(state["epoch"]), state

    def export_csv(self, path: str | Path) -> Path:
        """One row per epoch: epoch, train/val loss and accuracy, learning rate."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(EPOCH_FIELDS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.metrics["epochs"])
        write_text(path, out.getvalue())
        return Path(path)

    def export_tensorboard(self, folder: str | Path) -> Path:
        """TensorBoard event files (torch.utils.tensorboard): per-step train loss, per-epoch everything."""
        from torch.utils.tensorboard import SummaryWriter

        folder = Path(folder)
        writer = SummaryWriter(log_dir=str(folder))
        try:
            for step in self.metrics["steps"]:
                for key in STEP_TAGS:
                    if key in step:
                        writer.add_scalar(f"step/{key}", step[key], step["step"])
            for epoch in self.metrics["epochs"]:
                for key in EPOCH_FIELDS[1:]:
                    if key in epoch:  # runs recorded before the eval-mode train fields lack them
                        writer.add_scalar(f"epoch/{key}", epoch[key], epoch["epoch"])
        finally:
            writer.close()
        return folder


def create_run(config: TrainConfig, parameter_count: int = 0, parent: str | None = None,
               change: str | None = None, folder: str | Path | None = None) -> Run:
    """A new run in the user's runs folder, or in `folder` (ValueError if it holds a run already)."""
    explicit = folder
    if folder is not None:
        folder = Path(folder)
        if (folder / "run.json").exists():
            raise ValueError(_("{folder} already holds a run: choose another folder").format(folder=folder))
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = _new_run_folder(config)
    label = run_label(config, parent, change, translate=False)  # stored in English, shown translated
    # Numbered, so runs with the same settings still have different names until the student renames them.
    number = 1 + max((run.info.get("number", 0) for run in list_runs()), default=0) if explicit is None else 1
    info = {"config": config.to_dict(), "created": time.time(), "status": "new", "label": label,
            "number": number, "parameter_count": parameter_count, "parent": parent, "change": change}
    write_text(folder / "run.json", json.dumps(info, indent=1))
    return Run(folder)


def run_label(config: TrainConfig, parent: str | None, change: str | None, translate: bool = True) -> str:
    """"MLP on digits, Adam lr 0.001", or "A/B: model.dropout = 0.5 (of <parent>)"."""
    tr = _ if translate else (lambda text: text)
    if change:
        return tr(N_("A/B: {change} (of {parent})")).format(change=change, parent=parent)
    return tr(N_("{model} on {dataset}, {optimizer} lr {lr:g}")).format(
        model=config.model.name, dataset=tr(config.dataset), optimizer=config.optimizer, lr=config.learning_rate)


def _new_run_folder(config: TrainConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{config.model.name}-{config.dataset}".replace(" ", "_")
    folder = runs_dir() / base
    number = 1
    while folder.exists():
        number += 1
        folder = runs_dir() / f"{base}-{number}"
    folder.mkdir(parents=True)
    return folder


def list_runs() -> list[Run]:
    """Every readable run, newest first (a folder with a broken run.json is skipped, not fatal)."""
    runs = []
    for folder in runs_dir().iterdir():
        if (folder / "run.json").is_file():
            try:
                runs.append(Run(folder))
            except (OSError, ValueError):
                continue
    return sorted(runs, key=lambda run: run.info.get("created", 0), reverse=True)


def rename_run(run: Run, name: str) -> str:
    """Give `run` the name `name` (one line, at most NAME_LIMIT characters); returns the name kept."""
    name = " ".join(name.split())
    if not name:
        raise ValueError(_("a run's name cannot be empty"))
    if len(name) > NAME_LIMIT:
        raise ValueError(_("a run's name can have at most {count} characters").format(count=NAME_LIMIT))
    write_text(run.folder / "name.txt", name)
    run.custom_name = name
    return name


def delete_run(run: Run) -> None:
    if run.folder.parent.resolve() != runs_dir().resolve():
        raise ValueError(_("refusing to delete a folder outside the runs folder"))
    shutil.rmtree(run.folder)
