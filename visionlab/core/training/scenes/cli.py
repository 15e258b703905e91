"""`visionlab train --task segment|detect`: a scene task without the window (headless.py parses the options).

    visionlab train --task segment --data shapes --epochs 5 --frames 2000 --time-budget 300 --out runs/fcn --json
    visionlab train --task detect --data scenes/ --out runs/frcnn --json     (a folder `visionlab shapes` wrote)

The run folder is the GUI's (run.py). Each epoch is one line; with --json the last line is
{"task", "metric_name", "metric", "seconds", "checkpoint", "epochs", ...}. A bad option is one line and
status 2, data that cannot be used one line and status 1, SIGINT / SIGTERM stop the run cleanly (best.pt
kept) with 128 + signal. The scene tasks train on one process: under torchrun they refuse (status 2).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from visionlab.core.training.scenes.events import SceneConfig

PREFIX = "visionlab train: "


def frame_size(text: str) -> tuple[int, int]:
    """argparse type of --frame-size: "160x120" -> (160, 120)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a frame size looks like 160x120, not '{text}'") from None
    return width, height


def config_from(args: argparse.Namespace) -> SceneConfig:
    """The SceneConfig the options describe; ValueError with a sentence for values that cannot work."""
    defaults = SceneConfig.for_task(args.task)
    data = args.data
    if data != "shapes":
        folder = Path(data).expanduser()
        if not folder.is_dir():
            raise ValueError(f"--data for --task {args.task} takes shapes (generated scenes) or a folder that "
                             f"`visionlab shapes` wrote, and {data} is neither")
        data = str(folder.resolve())
    if args.time_budget is not None and not args.time_budget > 0:
        raise ValueError("--time-budget must be a positive number of seconds")
    width, height = args.frame_size or (defaults.frame_width, defaults.frame_height)
    config = SceneConfig(
        task=args.task, data=data, seed=args.seed, device=args.device, threads=args.threads,
        epochs=_given(args.epochs, defaults.epochs), batch_size=_given(args.batch_size, defaults.batch_size),
        lr=_given(args.lr, defaults.lr), weight_decay=_given(args.weight_decay, defaults.weight_decay),
        width=_given(args.width, defaults.width),
        train_frames=_given(args.frames, defaults.train_frames), frame_width=width, frame_height=height,
        val_frames=min(defaults.val_frames, max(1, _given(args.frames, defaults.train_frames) // 5)),
        time_budget_s=args.time_budget)
    config.validate()
    if config.width < 1:
        raise ValueError("--width must be at least 1")
    return config


def main(args: argparse.Namespace) -> int:
    from visionlab.core.training import distributed

    if distributed.launched_world_size() > 1:
        print(f"{PREFIX}error: --task {args.task} trains on one process: run it without torchrun", file=sys.stderr)
        return 2
    try:
        config = config_from(args)
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise ValueError(f"{args.out} is a file, not a folder: choose another --out")
        if (Path(args.out) / "run.json").exists():
            raise ValueError(f"{args.out} already holds a run: choose another --out")
        import torch

        if args.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda needs an NVIDIA GPU and its driver, and this machine shows none: "
                             "use --device cpu or auto")
    except ValueError as exc:
        print(f"{PREFIX}error: {exc}", file=sys.stderr)
        return 2
    from visionlab.core.training.headless import train_under_signals

    return train_under_signals(lambda signals: _train(config, args.out, signals, args.json), PREFIX)


def _train(config: SceneConfig, out: str, signals, as_json: bool) -> int:
    from visionlab.core.training.scenes.events import SceneEpoch, SceneFinished
    from visionlab.core.training.scenes.run import SceneRunStarted, run_scene_task

    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    started = time.perf_counter()
    finished, epochs = None, 0
    def progress(fraction: float, message: str) -> None:
        if message:
            _say(message)

    for event in run_scene_task(config, out, lambda: signals.received is not None, progress):
        if isinstance(event, SceneRunStarted):
            _say(f"training {config.task} on {event.train_count} scenes ({event.val_count} held out), "
                 f"{event.config.frame_width}×{event.config.frame_height}; run folder {event.folder}")
        elif isinstance(event, SceneEpoch):
            epochs = event.epoch
            _say(f"epoch {event.epoch}/{config.epochs}: train loss {event.train_loss:.4f} · val loss "
                 f"{event.val_loss:.4f} · {event.metric_name} {event.metric:.3f} ({event.seconds:.0f} s)")
        elif isinstance(event, SceneFinished):
            finished = event
    assert finished is not None  # run_scene_task always ends with SceneFinished
    _say(f"{finished.status}: {finished.message}")
    if as_json:
        summary = {"task": config.task, "metric_name": finished.metric_name, "metric": finished.metric,
                   "seconds": round(finished.seconds, 3), "checkpoint": finished.extra.get("checkpoint_path"),
                   "epochs": epochs, "best_epoch": finished.best_epoch, "status": finished.status,
                   "message": finished.message, "run_folder": finished.extra.get("run_folder"),
                   "wall_seconds": round(time.perf_counter() - started, 3)}
        print(json.dumps({key: None if isinstance(value, float) and not math.isfinite(value) else value
                          for key, value in summary.items()}), flush=True)
    if finished.status == "diverged":
        return 1
    if finished.status == "stopped" and signals.received is not None:
        return 128 + signals.received
    return 0


def _given(value, default):
    return default if value is None else value


def _say(line: str) -> None:
    print(line, flush=True)
