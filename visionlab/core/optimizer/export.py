"""Exports of a race: CSV of the paths and a runnable torch.optim snippet that reproduces them."""

from __future__ import annotations

import csv
import io
import os
import textwrap
from pathlib import Path

from visionlab.core.i18n import _
from visionlab.core.optimizer.engine import Racer, Trajectory
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.surfaces import Surface


def export_problem(path: str, suffixes: tuple[str, ...]) -> str:
    """Why `path` cannot take an export, in one line ("" when it can). Checked before the job starts so that a
    mistyped folder is refused, not created."""
    target = Path(path)
    if target.is_dir():
        return _("{path} is a folder: add a file name").format(path=target)
    if target.suffix.lower() not in suffixes:
        return _("choose a {suffixes} file name (not '{given}')").format(suffixes=_(" or ").join(suffixes),
                                                                         given=target.suffix or target.name)
    if not target.parent.is_dir():
        return _("the folder {folder} does not exist").format(folder=target.parent)
    if not os.access(target.parent, os.W_OK):
        return _("the folder {folder} is not writable").format(folder=target.parent)
    return ""


def trajectories_csv(trajectories: list[Trajectory]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["racer", "optimizer", "step", "x", "y", "loss", "status"])
    for traj in trajectories:
        # One loss per position: run_racer appends x and y together, loss_along maps them one to one.
        for step, (x, y, loss) in enumerate(zip(traj.xs, traj.ys, traj.losses, strict=True)):
            writer.writerow([traj.racer.title(), OPTIMIZERS[traj.racer.key].name, step, repr(float(x)),
                             repr(float(y)), repr(float(loss)), traj.status()])
    return out.getvalue()


def _gradient_code(surface: Surface, racer: Racer, noise: bool, noise_scale: float) -> str:
    data = getattr(surface, "data", None)
    if data is not None:
        count = len(data.x)
        if 0 < racer.batch_size < count:
            return f"grad_from_batch(theta, t, batch_size={racer.batch_size})"
        return "grad_from_batch(theta, t, batch_size=None)"
    if noise and racer.batch_size > 0:
        return f"grad_with_noise(theta, t, sigma={noise_scale!r} / math.sqrt({racer.batch_size}))"
    return "grad_exact(theta)"


def python_snippet(surface: Surface, racers: list[Racer], start: tuple[float, float], steps: int, *,
                   seed: int = 0, noise: bool = False, noise_scale: float = 1.0) -> str:
    """A self-contained script (torch + numpy) that runs the same race with torch.optim."""
    for racer in racers:
        if racer.key == "adam" and not racer.settings().get("bias_correction", 1):
            raise ValueError(_("torch's Adam always applies bias correction: switch it back on to export"))
    lines = [
        "# Reproduces a VisionLab Optimizer Lab race with torch.optim (float64).",
        "import math", "", "import numpy as np", "import torch", "",
        "torch.set_default_dtype(torch.float64)  # also keeps optimizer state (NAdam's μ product) in float64",
        f"START, STEPS, SEED = ({start[0]!r}, {start[1]!r}), {int(steps)}, {int(seed)}", "",
    ]
    data = getattr(surface, "data", None)
    if data is not None:
        p = surface.params
        lines += [textwrap.dedent(f"""\
            # The data: y = 2x − 1 plus noise, exactly as VisionLab generates it.
            rng = np.random.default_rng({int(p['seed'])})
            X_np = rng.uniform(0.0, 2.0, {int(p['count'])})
            Y_np = 2.0 * X_np + -1.0 + rng.normal(0.0, {p['noise']!r}, {int(p['count'])})
            X, Y = torch.from_numpy(X_np), torch.from_numpy(Y_np)


            def batches(batch_size):
                # Shuffled epochs, partial batches dropped (like DataLoader(shuffle=True, drop_last=True)).
                rng = np.random.default_rng(SEED)
                rows = []
                while len(rows) < STEPS:
                    order = rng.permutation(len(X_np))
                    rows += [order[i * batch_size:(i + 1) * batch_size] for i in range(len(X_np) // batch_size)]
                return [torch.from_numpy(r) for r in rows[:STEPS]]


            def loss_fn(theta, rows=None):
                x, y = (X, Y) if rows is None else (X[rows], Y[rows])
                return ((theta[0] * x + theta[1] - y) ** 2).mean()


            def grad_from_batch(theta, t, batch_size):
                if batch_size is None:
                    loss_fn(theta).backward()
                else:
                    if batch_size not in BATCHES:
                        BATCHES[batch_size] = batches(batch_size)
                    loss_fn(theta, BATCHES[batch_size][t]).backward()


            BATCHES = {{}}
            """)]
    else:
        lines += [textwrap.dedent(f"""\
            def loss_fn(theta):
                x, y = theta[0], theta[1]
                return {surface.python_expr}


            def grad_exact(theta):
                loss_fn(theta).backward()


            NOISE = {{}}


            def grad_with_noise(theta, t, sigma):
                # Mini-batch-like gradient noise: exact gradient + N(0, sigma²), seeded.
                if sigma not in NOISE:
                    NOISE[sigma] = torch.from_numpy(np.random.default_rng(SEED).standard_normal((STEPS, 2)) * sigma)
                loss_fn(theta).backward()
                theta.grad += NOISE[sigma][t]
            """)]
    lines += ["", "results = {}"]
    for racer in racers:
        lines += [
            "theta = torch.tensor(START, requires_grad=True)",
            f"optimizer = {OPTIMIZERS[racer.key].torch_call(racer.settings())}",
            "path = [theta.detach().clone()]",
            "for t in range(STEPS):",
            "    optimizer.zero_grad()",
            f"    {_gradient_code(surface, racer, noise, noise_scale)}",
            "    optimizer.step()",
            "    path.append(theta.detach().clone())",
            f"results[{racer.title()!r}] = torch.stack(path)",
            "",
        ]
    lines += ["for name, path in results.items():",
              "    print(f\"{name}: final x = {path[-1, 0].item()!r}, y = {path[-1, 1].item()!r}\")"]
    return "\n".join(lines) + "\n"
