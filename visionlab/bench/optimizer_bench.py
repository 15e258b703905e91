"""`visionlab bench optimizer`: the lab's engine against torch.optim, and the basin map's speed.

speedup_vs_torch_optim: six optimizers × 1000 steps on Rosenbrock from (−1.5, 2), torch.optim's loop time
over the engine's (medians of interleaved repeats, same process). max_abs_diff: between the two sets of
paths. basin_seconds: 256×256 starts × 500 Adam steps on Himmelblau.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.presets import PRESETS_BY_KEY
from visionlab.core.optimizer.sweeps import basin_map
from visionlab.core.optimizer.torch_reference import torch_path


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="visionlab bench optimizer")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--basin-resolution", type=int, default=256)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # a 2-element problem: threads only add overhead
    surface = get_surface("rosenbrock")
    racers = list(PRESETS_BY_KEY["six_on_rosenbrock"].racers)
    start = (-1.5, 2.0)

    def engine_run():
        return [run_racer(surface, r, start, args.steps) for r in racers]

    def torch_run():
        return [torch_path(surface, r, start, args.steps) for r in racers]

    engine_times, torch_times = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = engine_run()
        engine_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = torch_run()
        torch_times.append(time.perf_counter() - t0)
    diff = max(float(np.abs(np.stack([o.xs, o.ys], 1) - t).max()) for o, t in zip(ours, theirs, strict=True))
    himmelblau = get_surface("himmelblau")
    basin_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        basin_map(himmelblau, Racer("adam", {"lr": 0.05}), himmelblau.bounds, args.basin_resolution, 500)
        basin_times.append(time.perf_counter() - t0)
    engine_s, torch_s = statistics.median(engine_times), statistics.median(torch_times)
    slider_ms = _slider_frame_ms()
    return {
        "optimizers": {r.title(): r.settings()["lr"] for r in racers},
        "steps": args.steps,
        "engine_ms": round(engine_s * 1000, 3),
        "torch_optim_ms": round(torch_s * 1000, 1),
        "speedup_vs_torch_optim": round(torch_s / engine_s, 1),
        "speedup_target": 150,
        "max_abs_diff": diff,
        "max_abs_diff_target": 1e-6,
        "basin_seconds": round(statistics.median(basin_times), 3),
        "basin_target_seconds": 2.0,
        "basin_grid": f"{args.basin_resolution}x{args.basin_resolution}x500",
        "slider_frame_ms": slider_ms,
    }


def _slider_frame_ms() -> float | None:
    """Median time from one learning-rate slider movement to the repainted panel (offscreen, 1400×900):
    six racers × 1000 steps recomputed, every plot updated and painted. None without Qt."""
    try:
        import os

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from visionlab.qt.optimizer.panel import OptimizerPanel
    except ImportError:
        return None
    app = QApplication.instance() or QApplication([])
    panel = OptimizerPanel()
    panel.resize(1400, 900)
    panel.show()
    app.processEvents()
    panel.controls.racer_list.setCurrentRow(5)
    slider = panel.controls.params.rows["lr"].slider
    times = []
    for position in range(300, 700, 10):
        start = time.perf_counter()
        slider.setValue(position)
        panel.repaint()
        app.processEvents()
        times.append(time.perf_counter() - start)
    panel.close()
    return round(statistics.median(times) * 1000, 1)
