"""`visionlab bench training`: what live monitoring costs the training, and what training costs the GUI.

throughput_ratio: samples/s of a run in the Training Monitor (panel offscreen, every plot live, run files
written) over a bare PyTorch loop on the same model, data, batch size, steps and seed (both evaluate the
validation set once per epoch, as any training loop does); median of interleaved pairs.
gui_stall_p99_ms: the 99th percentile lateness of a 10 ms precise QTimer on the GUI thread during
--stall-runs further monitored runs of --stall-epochs epochs (separate, because the probe itself is a
Python callback 100 times a second that would take the GIL from the training thread and lower the
measured throughput; longer, because a training session is mostly steady state, not start and finish).
Both sides use the same number of torch threads (--threads).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import tempfile
import time


def bare_loop(config, data) -> float:
    """Plain PyTorch: same model, seed, data order and batches as the trainer; returns samples/s."""
    import torch
    from torch import nn

    from visionlab.core.training.models import build_model
    from visionlab.core.training.optimizers import build_optimizer

    torch.manual_seed(config.seed)
    model = build_model(config.model, data.input_shape, len(data.class_names))
    optimizer = build_optimizer(config.optimizer, model.parameters(), config.optimizer_params, config.weight_decay)
    order = torch.Generator().manual_seed(config.seed)
    val_x = data.normalize(data.val_x)
    seen = 0
    started = time.perf_counter()
    for _ in range(config.epochs):
        perm = torch.randperm(len(data.train_y), generator=order)
        model.train()
        for start in range(0, len(perm), config.batch_size):
            index = perm[start:start + config.batch_size]
            loss = nn.functional.cross_entropy(model(data.normalize(data.train_x[index])), data.train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(index)
        model.eval()
        with torch.no_grad():
            nn.functional.cross_entropy(model(val_x), data.val_y).item()
    return seen / (time.perf_counter() - started)


def monitored_run(panel, app, config, lateness: list[float] | None = None) -> float:
    """One run in the offscreen panel; with `lateness`, a 10 ms timer records how late the GUI thread answers
    (the probe is a Python callback 100 times a second, so throughput runs go without it)."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000.0 - 10.0))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    loop = QEventLoop()  # like app.exec(): the GUI thread sleeps in Qt until an event is due
    assert panel.start_training(config)
    panel.worker.finished.connect(loop.quit)
    if lateness is not None:
        timer.start()
    last[0] = time.perf_counter()
    if panel.worker.isRunning():
        loop.exec()
    timer.stop()
    app.processEvents()
    epochs = len(panel.curves.epochs["x"])
    if panel.last_finished is None or panel.last_finished.status != "finished" or epochs != config.epochs:
        raise RuntimeError(f"the monitored run did not finish: {panel.status_label.text()}")
    samples = config.epochs * len(panel.worker.trainer.train_y)
    return samples / panel.worker.train_seconds


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="visionlab bench training")
    parser.add_argument("--pairs", type=int, default=7, help="interleaved bare/monitored pairs (at least 7)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default="LeNet-5")
    parser.add_argument("--dataset", default="digits", choices=("digits", "shapes"))
    parser.add_argument("--stall-runs", type=int, default=2, help="monitored runs with the 10 ms probe timer")
    parser.add_argument("--stall-epochs", type=int, default=40, help="epochs of each of those runs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both sides")
    args = parser.parse_args(argv)
    if args.pairs < 7:
        raise ValueError("--pairs must be at least 7")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # The ~20 benchmark runs go to a throwaway data folder, never into the user's run list.
    bench_home = tempfile.mkdtemp(prefix="visionlab-bench-")
    os.environ["VISIONLAB_HOME"] = bench_home
    import torch

    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.datasets import load_splits
    from visionlab.core.training.models import ModelSpec
    from visionlab.qt.app import create_application
    from visionlab.qt.training.panel import TrainingPanel

    torch.set_num_threads(args.threads)
    app = create_application()
    config = TrainConfig(dataset=args.dataset, shapes_count=1000, shapes_size=28, epochs=args.epochs,
                         batch_size=args.batch_size, seed=0, device="cpu", cpu_threads=args.threads,
                         model=ModelSpec(args.model))
    data = load_splits(config)
    panel = TrainingPanel()
    panel.resize(1400, 900)
    panel.show()
    app.processEvents()
    bare_loop(config, data)  # warm-up both paths once
    monitored_run(panel, app, config)
    bare, monitored, ratios, lateness = [], [], [], []
    for pair in range(args.pairs):
        if pair % 2:  # alternate which side goes first, so drift in machine load hits both alike
            monitored.append(monitored_run(panel, app, config))
            bare.append(bare_loop(config, data))
        else:
            bare.append(bare_loop(config, data))
            monitored.append(monitored_run(panel, app, config))
        ratios.append(monitored[-1] / bare[-1])
    stall_config = config.with_change("epochs", args.stall_epochs)  # minutes-long sessions are mostly steady state
    for _ in range(args.stall_runs):
        monitored_run(panel, app, stall_config, lateness)
    panel.shutdown()
    panel.close()
    shutil.rmtree(bench_home, ignore_errors=True)
    lateness.sort()
    p99 = lateness[min(len(lateness) - 1, math.ceil(0.99 * len(lateness)) - 1)] if lateness else float("nan")
    return {
        "throughput_ratio": round(statistics.median(ratios), 3),
        "gui_stall_p99_ms": round(p99, 2),
        "gui_stall_median_ms": round(statistics.median(lateness), 2) if lateness else None,
        "bare_samples_per_s": round(statistics.median(bare)),
        "monitored_samples_per_s": round(statistics.median(monitored)),
        "ratios": [round(r, 3) for r in ratios],
        "pairs": args.pairs, "model": args.model, "dataset": args.dataset, "train_images": len(data.train_y),
        "input_shape": list(data.input_shape), "batch_size": args.batch_size,
        "epochs_per_run": args.epochs, "steps_per_run": args.epochs * math.ceil(len(data.train_y) / args.batch_size),
        "torch_threads": args.threads, "timer_ticks": len(lateness),
        "stall_runs": args.stall_runs, "stall_epochs_per_run": args.stall_epochs,
    }
