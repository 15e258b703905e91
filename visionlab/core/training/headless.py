"""`visionlab train`: the Training Monitor's trainer without a window, on this machine or under torchrun.

    visionlab train --task classify --data digits --epochs 20 --out runs/lenet [--json]
    torchrun --nproc_per_node=2 visionlab train --task classify --data digits --epochs 2 --out runs/ddp --json
    visionlab train --task segment|detect --data shapes|COCO_DIR --epochs 5 --time-budget 300 --out runs/fcn --json

The scene tasks (segment, detect) run through scenes/cli.py on one process; under torchrun they refuse.

The run folder is the GUI's (run.json, metrics.json, best.pt, resume.pt) plus live TensorBoard event files,
so the desktop app, TensorBoard or `visionlab monitor` can watch it while it trains. Under torchrun every
process trains its share of each batch (distributed.py) and rank 0 alone writes the folder and prints.
A bad option is one line on stderr and exit status 2; data that cannot be used, or a process of the run that
died, is one line and status 1; SIGINT / SIGTERM stop the run cleanly (resume.pt kept) with 128 + signal.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from visionlab.core.errors import UserError
from visionlab.core.training import distributed
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import DOWNLOAD_SETS, OFFLINE_SETS, DatasetError
from visionlab.core.training.models import MODEL_NAMES, ModelSpec
from visionlab.core.training.optimizers import OPTIMIZERS, SCHEDULES
from visionlab.core.training.scenes import cli as scene_cli
from visionlab.core.training.scenes.events import TASKS as SCENE_TASKS
from visionlab.core.training.scenes.events import SceneConfig


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one sentence on stderr (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_Number = TypeVar("_Number", int, float)


def _scene_defaults(field: str) -> str:
    """'8 (segment), 8 (detect)': the per-task defaults the scene trainer really starts from (the help
    text is read from them, so it cannot drift from what runs)."""
    return ", ".join(f"{getattr(SceneConfig.for_task(task), field):g} ({task})" for task in SCENE_TASKS)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="visionlab train", description="Train a model without the window (also under "
                           "torchrun, with DistributedDataParallel).")
    parser.add_argument("--task", choices=["classify", *SCENE_TASKS], default="classify",
                        help="what the model learns (segment / detect: on shape scenes)")
    parser.add_argument("--data", required=True, metavar="SET|FOLDER",
                        help=f"{', '.join(OFFLINE_SETS + DOWNLOAD_SETS)}, or a folder with one sub-folder per class")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder to create")
    parser.add_argument("--epochs", type=int, help=f"default: 20 (classify), {_scene_defaults('epochs')}")
    parser.add_argument("--batch-size", type=int, help="global batch (split over the processes); default: 64 "
                        f"(classify), {_scene_defaults('batch_size')}")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="Adam")
    parser.add_argument("--lr", type=float, help="learning rate; default: the optimizer's (classify), "
                        f"{_scene_defaults('lr')}")
    parser.add_argument("--momentum", type=float, help="Momentum / Nesterov: α")
    parser.add_argument("--weight-decay", type=float,
                        help=f"default: 0 (classify), {_scene_defaults('weight_decay')}")
    parser.add_argument("--schedule", choices=SCHEDULES, default="none")
    parser.add_argument("--model", choices=MODEL_NAMES, default="LeNet-5")
    parser.add_argument("--width", type=int,
                        help=f"channels of the first layer; default: 16 (classify), {_scene_defaults('width')}")
    parser.add_argument("--frames", type=int, help="segment / detect: training scenes to generate (default "
                        f"{SceneConfig.train_frames})")
    parser.add_argument("--frame-size", type=scene_cli.frame_size, metavar="WxH",
                        help="segment / detect: generated scenes' size (default "
                        f"{SceneConfig.frame_width}x{SceneConfig.frame_height})")
    parser.add_argument("--time-budget", type=float, metavar="S", help="segment / detect: stop training after S s")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                        help="stop after this many epochs without a lower validation loss")
    parser.add_argument("--no-restore-best", action="store_true", help="keep the last weights, not the best")
    parser.add_argument("--image-size", type=int, default=32, help="image folders: resized to this square")
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    parser.add_argument("--collective-timeout", type=float, default=distributed.DEFAULT_TIMEOUT_S, metavar="S",
                        help="under torchrun: seconds to wait for a silent process before giving up")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON: the final numbers")
    return parser


def config_from(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the options describe; ValueError with a sentence for values that cannot work,
    DatasetError for a data folder that is not there."""
    params = {key: value for key, value in (("lr", args.lr), ("momentum", args.momentum)) if value is not None}
    if args.data in OFFLINE_SETS + DOWNLOAD_SETS:
        dataset, folder = args.data, ""
    else:
        path = Path(args.data).expanduser()
        if not path.is_dir():
            raise DatasetError(f"the data folder {args.data} does not exist (--data takes "
                               f"{', '.join(OFFLINE_SETS + DOWNLOAD_SETS)} or a folder with one sub-folder per class)")
        dataset, folder = "image folder", str(path.resolve())
    config = TrainConfig(dataset=dataset, folder=folder, folder_size=args.image_size,
                         val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                         model=ModelSpec(args.model, _given(args.width, 16), args.depth, args.batch_norm,
                                         args.dropout),
                         optimizer=args.optimizer, optimizer_params=params,
                         weight_decay=_given(args.weight_decay, 0.0),
                         schedule=args.schedule, batch_size=_given(args.batch_size, 64),
                         epochs=_given(args.epochs, 20),
                         early_stopping=args.early_stopping is not None, patience=args.early_stopping or 5,
                         restore_best=not args.no_restore_best, seed=args.seed, device=args.device,
                         cpu_threads=args.threads)
    config.validate()
    distributed.local_batch_size(config.batch_size, distributed.launched_world_size())
    return config


class StopSignals:
    """SIGINT / SIGTERM ask the run to stop at the next step (files complete, resume.pt kept) instead of
    killing it mid-write; torchrun sends SIGTERM to every process when one of them fails."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signum

    def reason(self) -> str:
        if self.received is None:
            return "stopped because another process of the run was stopped"
        return f"stopped by {signal.Signals(self.received).name}"

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.task in SCENE_TASKS:
        return scene_cli.main(args)
    rank = distributed.launched_rank()
    prefix = f"visionlab train (rank {rank}): " if distributed.launched_world_size() > 1 else "visionlab train: "
    try:
        config = config_from(args)
        if rank == 0 and (Path(args.out) / "run.json").exists():
            raise ValueError(f"{args.out} already holds a run: choose another --out")
    except ValueError as exc:
        print(f"{prefix}error: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"{prefix}error: {exc}", file=sys.stderr)
        return 1
    return train_under_signals(lambda signals: _train(args, config, signals, prefix), prefix)


def train_under_signals(train: Callable[[StopSignals], int], prefix: str) -> int:
    """Run `train` with SIGINT / SIGTERM turned into a clean stop; the exit code: `train`'s own, 2 for settings
    the trainer refuses (a learning rate out of range, a model too deep), 1 for data that cannot be used (the
    sentence is for the user)."""
    signals = StopSignals()
    try:
        return train(signals)
    except ValueError as exc:
        print(f"{prefix}error: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"{prefix}error: {exc}", file=sys.stderr)
        return 1
    finally:
        signals.restore()


def _train(args: argparse.Namespace, config: TrainConfig, signals: StopSignals, prefix: str) -> int:
    from visionlab.core.training.datasets import load_splits
    from visionlab.core.training.runs import create_run
    from visionlab.core.training.trainer import EpochReport, Finished, Trainer

    group = distributed.start_group(config.device, args.collective_timeout)
    healthy, run = False, None
    try:
        data = load_splits(config)
        trainer = Trainer(config, data, group=group)
        world_size = group.world_size if group else 1
        if group is None or group.is_main:
            run = create_run(config, trainer.parameter_count, folder=args.out)
            _say(f"training {config.model.name} on {data.name}: {len(data.train_y)} training images, "
                 f"{world_size} process{'es' if world_size > 1 else ''} on {trainer.device}, batch "
                 f"{config.batch_size}, {trainer.steps_per_epoch} steps an epoch; run folder {run.folder}")
        started, finished, seconds = time.perf_counter(), None, 0.0
        for event in trainer.events(lambda: signals.received is not None, signals.reason):
            if isinstance(event, Finished):
                finished, seconds = event, time.perf_counter() - started
            if run is not None:
                run.record(event, trainer)
                if isinstance(event, EpochReport):
                    _say(f"epoch {event.epoch}/{config.epochs}: train loss {event.train_loss:.4f} acc "
                         f"{event.train_acc:.1%} · val loss {event.val_loss:.4f} acc {event.val_acc:.1%}")
        healthy = True
    except (RuntimeError, OSError) as exc:
        if group is None or isinstance(exc, OSError):
            raise
        # A collective failed: another process died or stopped answering within the timeout. gloo raises
        # a plain RuntimeError for it (not torch.distributed.DistError), so any RuntimeError ends up here.
        message = f"another process of the run stopped answering ({_first_sentence(exc)})"
        if run is not None:
            run.fail(message)
        print(f"{prefix}error: {message}; the files in the run folder are complete up to the last epoch",
              file=sys.stderr, flush=True)
        return 1
    finally:
        if run is not None:
            run.close()
        if group is not None:
            group.close(healthy)
    assert finished is not None  # the trainer always ends with Finished
    if run is not None:
        _report(run, finished, seconds, world_size, args.json)
    return _exit_status(finished.status, signals)


def _report(run, finished, seconds: float, world_size: int, as_json: bool) -> None:
    from visionlab.core.training.monitor import final_summary

    _say(f"{finished.status}: {finished.message}")
    _say(final_summary(finished))
    if as_json:
        epochs = run.metrics["epochs"]
        checkpoint = run.folder / "best.pt"
        summary = {"status": finished.status, "message": finished.message, "best_epoch": finished.best_epoch,
                   "epochs_done": len(epochs), "final": run.info.get("final", {}),
                   "last_epoch": epochs[-1] if epochs else None, "seconds": round(seconds, 3),
                   "world_size": world_size, "run_folder": str(run.folder.resolve()),
                   "checkpoint": str(checkpoint.resolve()) if checkpoint.is_file() else None}
        print(json.dumps(_finite(summary)), flush=True)


def _given(value: _Number | None, default: _Number) -> _Number:
    return default if value is None else value


def _first_sentence(exc: BaseException) -> str:
    """What a backend error says, without its source location (gloo: "[.../pair.cc:545] Read error ...")."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip())
    return text.split(". ")[0].splitlines()[0] if text else type(exc).__name__


def _finite(value):
    """JSON has no NaN: a number that could not be measured is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def _exit_status(status: str, signals: StopSignals) -> int:
    if status == "diverged":
        return 1
    if status == "stopped" and signals.received is not None:
        return 128 + signals.received
    return 0


def _say(line: str) -> None:
    print(line, flush=True)  # flushed: under torchrun the lines reach the console as they happen
