"""`visionlab bench training`: what live monitoring costs the training, and what training costs the GUI.

throughput_ratio: samples/s of a run in the Training Monitor (panel offscreen, every plot live, run files
written) over a bare PyTorch loop on the same model, data, batch size, steps and seed that does the same
evaluations (validation and the eval-mode training sample each epoch, the test share once at the end);
median of interleaved pairs, after one warm-up run of each. Both run on a
QThread of the same kind while the GUI thread waits in an event loop (`reference: "worker thread"`): the
same loop on the main thread ran 1.5-5x slower here, which made a main-thread reference meaningless.
redraws_per_s: how often the panel redrew its plots during those runs (every plot each time).
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

from PySide6.QtCore import QEventLoop, Qt, QThread, QTimer


def bare_loop(config, data) -> float:
    """Plain PyTorch doing the trainer's work, not its monitoring; returns samples/s.

    Same model, seed, data order and batches. Per epoch, like the trainer, it evaluates the validation set
    and the fixed eval-mode sample of training images the diagnosis compares it with; at the end, like the
    trainer's final report, it evaluates that sample and the held-out test share once. What it leaves out is
    what the Monitor adds (step reports, gradient norms, histograms, run files, plots): the ratio's subject.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(config.cpu_threads)  # per thread, as Trainer.events sets it on its own thread
    try:
        return _bare_run(config, data)
    finally:
        torch.set_num_threads(threads)


def _bare_run(config, data) -> float:
    import torch
    from torch import nn

    from visionlab.core.training.models import build_model
    from visionlab.core.training.optimizers import build_optimizer
    from visionlab.core.training.trainer import EVAL_BATCH, TRAIN_EVAL_MAX, TRAIN_EVAL_MIN

    torch.manual_seed(config.seed)
    model = build_model(config.model, data.input_shape, len(data.class_names))
    optimizer = build_optimizer(config.optimizer, model.parameters(), config.optimizer_params, config.weight_decay)
    order = torch.Generator().manual_seed(config.seed)
    val_x = data.normalize(data.val_x)
    size = min(len(data.train_y), max(len(data.val_y), TRAIN_EVAL_MIN), TRAIN_EVAL_MAX)
    sample = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(config.seed))[:size]
    sample_x, sample_y = data.normalize(data.train_x[sample]), data.train_y[sample]

    def evaluate(images, labels) -> float:
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(images[i:i + EVAL_BATCH]) for i in range(0, len(images), EVAL_BATCH)])
            nn.functional.cross_entropy(logits, labels).item()
            accuracy = (logits.argmax(1) == labels).float().mean().item()
        model.train()
        return accuracy

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
        evaluate(val_x, data.val_y)
        evaluate(sample_x, sample_y)  # the eval-mode train accuracy of the diagnosis
    evaluate(sample_x, sample_y)  # the final report: train sample and the test share, once
    if len(data.test_y):
        evaluate(data.normalize(data.test_x), data.test_y)
    return seen / (time.perf_counter() - started)


class _WorkerCall(QThread):
    """Runs one function on a QThread, as the TrainingWorker runs the monitored loop."""

    def __init__(self, function) -> None:
        super().__init__()
        self.function, self.result = function, None

    def run(self) -> None:
        self.result = self.function()


def on_worker_thread(function):
    """`function()` on a worker QThread while the GUI thread waits in an event loop, as in a monitored run."""
    call = _WorkerCall(function)
    loop = QEventLoop()
    call.finished.connect(loop.quit)
    call.start()
    if call.isRunning():
        loop.exec()
    call.wait(60000)  # it has finished (the loop quit on `finished`); the bound only guards a broken Qt
    return call.result


def monitored_run(panel, app, config, lateness: list[float] | None = None) -> float:
    """One run in the offscreen panel; with `lateness`, a 10 ms timer records how late the GUI thread answers
    (the probe is a Python callback 100 times a second, so throughput runs go without it)."""
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
    redraws: list[float] = []
    redraw = panel._redraw

    def counted_redraw() -> None:  # every redraw updates all four plots; count them to show they were live
        redraws.append(time.perf_counter())
        redraw()

    panel._redraw = counted_redraw
    on_worker_thread(lambda: bare_loop(config, data))  # warm-up both paths once
    monitored_run(panel, app, config)
    bare, monitored, ratios, lateness, redraw_rates = [], [], [], [], []

    def measured_run() -> float:
        del redraws[:]
        started = time.perf_counter()
        speed = monitored_run(panel, app, config)
        redraw_rates.append(len(redraws) / (time.perf_counter() - started))
        return speed

    for pair in range(args.pairs):
        if pair % 2:  # alternate which side goes first, so drift in machine load hits both alike
            monitored.append(measured_run())
            bare.append(on_worker_thread(lambda: bare_loop(config, data)))
        else:
            bare.append(on_worker_thread(lambda: bare_loop(config, data)))
            monitored.append(measured_run())
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
        "reference": "worker thread",
        "throughput_ratio": round(statistics.median(ratios), 3),
        "gui_stall_p99_ms": round(p99, 2),
        "gui_stall_median_ms": round(statistics.median(lateness), 2) if lateness else None,
        "bare_samples_per_s": round(statistics.median(bare)),
        "monitored_samples_per_s": round(statistics.median(monitored)),
        "ratios": [round(r, 3) for r in ratios],
        "redraws_per_s": round(statistics.median(redraw_rates), 2),
        "pairs": args.pairs, "model": args.model, "dataset": args.dataset, "train_images": len(data.train_y),
        "input_shape": list(data.input_shape), "batch_size": args.batch_size,
        "epochs_per_run": args.epochs, "steps_per_run": args.epochs * math.ceil(len(data.train_y) / args.batch_size),
        "torch_threads": args.threads, "timer_ticks": len(lateness),
        "stall_runs": args.stall_runs, "stall_epochs_per_run": args.stall_epochs,
    }
