"""`visionlab bench optimizer`: the lab's engine against torch.optim, path agreement, and the lab's speed.

Speed: the lecture's six optimizers × `--steps` steps on Rosenbrock from (−1.5, 2), medians of interleaved
repeats in one process, against two references:
- speedup_vs_autograd_loop: torch.optim driven the way a student writes it, the loss by autograd every step
  (zero_grad, loss.backward(), step); mostly it measures autograd.
- speedup_vs_torch_optim_step: torch.optim.step() alone, fed the engine's analytic gradients along the
  engine's path (precomputed tensors): the update rules themselves against torch's.
Agreement (chaos.py): over every path (every racer of every preset over its own steps, all ten optimizers at
defaults on every built-in surface), the largest engine–torch difference on paths that are not chaotic
(max_abs_diff_regular), the paths measured chaotic, and the largest difference on all (max_abs_diff).
basin_seconds: 256×256 starts × 500 Adam steps on Himmelblau. slider_frame_ms: see _slider_frame_ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from visionlab.core.optimizer import chaos
from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.mathns import SCALAR
from visionlab.core.optimizer.presets import PRESETS_BY_KEY
from visionlab.core.optimizer.sweeps import basin_map
from visionlab.core.optimizer.torch_reference import build_torch_optimizer, torch_path


def _torch_steps_fed(racer: Racer, start: tuple[float, float], grads) -> np.ndarray:
    """torch.optim.step() alone: p.grad set to the given gradient (a (steps, 2) float64 tensor) each step."""
    import torch

    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = build_torch_optimizer(racer, [theta])
    path = [theta.detach().clone()]
    for grad in grads:
        theta.grad = grad
        optimizer.step()
        path.append(theta.detach().clone())
    return torch.stack(path).numpy()


def _speed(args) -> dict:
    import torch

    surface = get_surface("rosenbrock")
    racers = list(PRESETS_BY_KEY["six_on_rosenbrock"].racers)
    start = (-1.5, 2.0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # as torch_path does: torch's optimizer state in float64
    try:
        engine_times, autograd_times, step_times = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ours = [run_racer(surface, r, start, args.steps) for r in racers]
            engine_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            [torch_path(surface, r, start, args.steps) for r in racers]
            autograd_times.append(time.perf_counter() - t0)
            grads = [torch.tensor([surface.grad(float(x), float(y), SCALAR) for x, y in zip(o.xs[:-1], o.ys[:-1],
                                                                                             strict=True)])
                     for o in ours]  # the engine's own gradients along its path, built outside the timing
            t0 = time.perf_counter()
            fed = [_torch_steps_fed(r, start, g) for r, g in zip(racers, grads, strict=True)]
            step_times.append(time.perf_counter() - t0)
    finally:
        torch.set_default_dtype(previous)
    fed_diff = max(float(np.abs(np.stack([o.xs, o.ys], 1) - f).max()) for o, f in zip(ours, fed, strict=True))
    engine_s = statistics.median(engine_times)
    return {
        "optimizers": {r.title(): r.settings()["lr"] for r in racers},
        "steps": args.steps,
        "engine_ms": round(engine_s * 1000, 3),
        "autograd_loop_ms": round(statistics.median(autograd_times) * 1000, 1),
        "torch_optim_step_ms": round(statistics.median(step_times) * 1000, 1),
        "speedup_vs_autograd_loop": round(statistics.median(autograd_times) / engine_s, 1),
        "speedup_vs_autograd_loop_target": 150,
        "speedup_vs_torch_optim_step": round(statistics.median(step_times) / engine_s, 1),
        "speedup_vs_torch_optim_step_target": 40,
        "max_abs_diff_fed_same_gradient": fed_diff,
    }


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="visionlab bench optimizer")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000, help="steps of the speed comparison")
    parser.add_argument("--basin-resolution", type=int, default=256)
    parser.add_argument("--paths", type=int, default=0,
                        help="compare only the first N of every path (0: all; a small check)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # a 2-element problem: threads only add overhead
    result = _speed(args)
    cases = chaos.every_path()
    total = len(cases)
    if args.paths > 0:
        cases = cases[:args.paths]
    t0 = time.perf_counter()
    agreement = chaos.summarize(chaos.compare_all(cases))
    result.update({
        "max_abs_diff_regular": agreement["max_abs_diff_regular"],
        "max_abs_diff_regular_target": 1e-6,
        "chaotic": agreement["chaotic"],
        "max_abs_diff": agreement["max_abs_diff"],
        "paths_compared": f"{agreement['paths']} of {total}",
        "paths_skipped": agreement["skipped"],
        "agreement_reference": "torch.optim float64 with autograd gradients; chaotic: a 1e-12 disturbance "
                               "(start moved, or every gradient's point jittered) moves torch's own path > 1e-6",
        "agreement_seconds": round(time.perf_counter() - t0, 1),
    })
    himmelblau = get_surface("himmelblau")
    basin_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        basin_map(himmelblau, Racer("adam", {"lr": 0.05}), himmelblau.bounds, args.basin_resolution, 500)
        basin_times.append(time.perf_counter() - t0)
    result.update({
        "basin_seconds": round(statistics.median(basin_times), 3),
        "basin_target_seconds": 1.0,
        "basin_grid": f"{args.basin_resolution}x{args.basin_resolution}x500",
        "slider_frame_ms": _slider_frame_ms(),
        "slider_frame_target_ms": 20,
    })
    return result


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
