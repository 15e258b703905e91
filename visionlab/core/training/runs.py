"""The run manager: every run is a folder in the user data folder, written atomically as it trains.

    runs/<run id>/run.json      config, status, label, parameter count, parent run and changed setting (A/B)
                 metrics.json   step and epoch histories (while training rewritten after an epoch at most
                                once a second, and always when the run ends)
                 best.pt        checkpoint of the best validation epoch (checkpoint.py format; while
                                training rewritten at most every 5 s, and always when the run ends)
                 resume.pt      last epoch's weights + optimizer state, to resume a stopped run

Runs can be listed, deleted, resumed and exported as CSV or TensorBoard event files. While a run trains,
its files are written by a BackgroundWriter, so the disk never pauses the training loop; a run's end
(finished, stopped, diverged) waits until everything is on disk.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch

from visionlab.core import paths
from visionlab.core.atomic import write_text
from visionlab.core.training.checkpoint import checkpoint_bytes
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.trainer import EpochReport, Finished, StepReport, Trainer
from visionlab.core.training.writer import BackgroundWriter

BEST_EVERY_S = 5.0  # while training, best.pt is rewritten at most this often (and always at the end)
# metrics.json and run.json are rewritten after an epoch at most this often while training (and always when
# the run ends or its thread exits): each atomic write (temp file, fsync, rename) wakes the writer thread,
# which then competes with the training loop for the interpreter lock. A 60 ms digits epoch wrote two files
# 16 times a second (~2 % of the run); a 20 s CIFAR epoch still writes after every epoch.
FILES_EVERY_S = 1.0
RESUME_EVERY = 10  # epochs between resume snapshots while training (one is always written on a stop)
EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")


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
        self._writer: BackgroundWriter | None = None
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
        return self.info.get("label", self.run_id)

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

    def record(self, event, trainer: Trainer) -> None:
        if isinstance(event, StepReport):
            self.metrics["steps"].append({"step": event.step, "epoch": event.epoch, "train_loss": event.train_loss,
                                          "train_acc": event.train_acc, "lr": event.lr})
        elif isinstance(event, EpochReport):
            self.metrics["epochs"].append({key: getattr(event, key) for key in EPOCH_FIELDS})
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
            self.info.update(status=event.status, message=event.message, best_epoch=event.best_epoch)
            self._save_files()
            self.close()

    def close(self) -> None:
        """Wait until every file of this run is on disk; a write that failed is noted in run.json."""
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
                writer.add_scalar("step/train_loss", step["train_loss"], step["step"])
                writer.add_scalar("step/lr", step["lr"], step["step"])
            for epoch in self.metrics["epochs"]:
                for key in EPOCH_FIELDS[1:]:
                    writer.add_scalar(f"epoch/{key}", epoch[key], epoch["epoch"])
        finally:
            writer.close()
        return folder


def create_run(config: TrainConfig, parameter_count: int = 0, parent: str | None = None,
               change: str | None = None) -> Run:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{config.model.name}-{config.dataset}".replace(" ", "_")
    folder = runs_dir() / base
    number = 1
    while folder.exists():
        number += 1
        folder = runs_dir() / f"{base}-{number}"
    folder.mkdir(parents=True)
    label = f"{config.model.name} on {config.dataset}, {config.optimizer} lr {config.learning_rate:g}"
    if change:
        label = f"A/B: {change} (of {parent})"
    info = {"config": config.to_dict(), "created": time.time(), "status": "new", "label": label,
            "parameter_count": parameter_count, "parent": parent, "change": change}
    write_text(folder / "run.json", json.dumps(info, indent=1))
    return Run(folder)


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


def delete_run(run: Run) -> None:
    if run.folder.parent.resolve() != runs_dir().resolve():
        raise ValueError("refusing to delete a folder outside the runs folder")
    shutil.rmtree(run.folder)


def config_difference(a: TrainConfig, b: TrainConfig) -> list[str]:
    """The settings that differ between two runs ("model.dropout: 0.0 → 0.5")."""
    flat_a, flat_b = _flatten(asdict(a)), _flatten(asdict(b))
    return [f"{key}: {flat_a.get(key)} → {flat_b.get(key)}" for key in sorted(flat_a.keys() | flat_b.keys())
            if flat_a.get(key) != flat_b.get(key)]


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
