"""The same race run by torch.optim itself: the reference our update rules are tested and benchmarked against.

Imports torch lazily (it takes seconds); the lab's GUI never calls this.
"""

from __future__ import annotations

import math

import numpy as np

from visionlab.core.optimizer.data_surface import batch_indices
from visionlab.core.optimizer.engine import Racer, jitter_signs
from visionlab.core.optimizer.mathns import torch_namespace
from visionlab.core.optimizer.surfaces import Surface


def build_torch_optimizer(racer: Racer, params):
    import torch

    h = racer.settings()
    key, wd = racer.key, h.get("weight_decay", 0.0)
    if key == "sgd":
        return torch.optim.SGD(params, lr=h["lr"], weight_decay=wd)
    if key == "momentum":
        return torch.optim.SGD(params, lr=h["lr"], momentum=h["momentum"], dampening=h["dampening"], weight_decay=wd)
    if key == "nesterov":
        return torch.optim.SGD(params, lr=h["lr"], momentum=h["momentum"], nesterov=True, weight_decay=wd)
    if key == "adagrad":
        return torch.optim.Adagrad(params, lr=h["lr"], lr_decay=h["lr_decay"], weight_decay=wd, eps=h["eps"],
                                   initial_accumulator_value=h["initial_accumulator_value"])
    if key == "rmsprop":
        return torch.optim.RMSprop(params, lr=h["lr"], alpha=h["alpha"], eps=h["eps"], weight_decay=wd,
                                   momentum=h["momentum"], centered=bool(h["centered"]))
    if key == "adadelta":
        return torch.optim.Adadelta(params, lr=h["lr"], rho=h["rho"], eps=h["eps"], weight_decay=wd)
    betas = (h["beta1"], h["beta2"])
    if key == "adam":
        if not h.get("bias_correction", 1):
            raise ValueError("torch's Adam always applies bias correction")
        return torch.optim.Adam(params, lr=h["lr"], betas=betas, eps=h["eps"], weight_decay=wd)
    if key == "adamw":
        return torch.optim.AdamW(params, lr=h["lr"], betas=betas, eps=h["eps"], weight_decay=wd)
    if key == "nadam":
        return torch.optim.NAdam(params, lr=h["lr"], betas=betas, eps=h["eps"], weight_decay=wd,
                                 momentum_decay=h["momentum_decay"])
    if key == "radam":
        return torch.optim.RAdam(params, lr=h["lr"], betas=betas, eps=h["eps"], weight_decay=wd)
    raise KeyError(key)


def torch_path(surface: Surface, racer: Racer, start: tuple[float, float], steps: int, *, seed: int = 0,
               noise: bool = False, noise_scale: float = 1.0, jitter: float = 0.0) -> np.ndarray:
    """Positions (steps + 1, 2) of torch.optim in float64, with autograd gradients.

    jitter = d: every gradient is taken at θ ± d (engine.jitter_signs), a rounding-sized disturbance at every
    step (chaos.py uses it to find paths that amplify last-bit differences).

    The default dtype is float64 while the optimizer is built: torch keeps some optimizer state (NAdam's
    running product of momentum factors, step counters) in the default dtype, float32 otherwise.
    """
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_path(surface, racer, start, steps, seed, noise, noise_scale, jitter)
    finally:
        torch.set_default_dtype(previous)


def _torch_path(surface, racer, start, steps, seed, noise, noise_scale, jitter) -> np.ndarray:
    import torch

    xp = torch_namespace()
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = build_torch_optimizer(racer, [theta])
    data = getattr(surface, "data", None)
    minibatch = data is not None and 0 < racer.batch_size < len(data.x)
    if data is not None and minibatch:  # `data is not None`: already in minibatch, repeated for mypy
        rows = torch.from_numpy(batch_indices(len(data.x), racer.batch_size, steps, seed))
        data_x, data_y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    extra = None
    if noise and racer.batch_size > 0 and not minibatch and data is None:
        rng = np.random.default_rng(seed)
        extra = torch.from_numpy(rng.standard_normal((steps, 2)) * (noise_scale / math.sqrt(racer.batch_size)))
    shifts = torch.from_numpy(jitter_signs(steps) * jitter) if jitter else None
    path = [theta.detach().clone()]
    for t in range(steps):
        optimizer.zero_grad()
        at = theta + shifts[t] if shifts is not None else theta
        if minibatch:
            batch_x, batch_y = data_x[rows[t]], data_y[rows[t]]
            loss = ((at[0] * batch_x + at[1] - batch_y) ** 2).mean()
        else:
            loss = surface.value(at[0], at[1], xp)
        loss.backward()
        if extra is not None:
            assert theta.grad is not None  # loss.backward() above filled it
            theta.grad += extra[t]
        optimizer.step()
        path.append(theta.detach().clone())
    return torch.stack(path).numpy()
