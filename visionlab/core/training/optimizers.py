"""The real torch.optim optimizers behind the Optimizer Lab's names, and the learning-rate schedules.

Each name maps to a torch.optim class plus the hyperparameters a student may change, with defaults and
valid ranges (used by the panel's form and checked here). The schedule is computed by `lr_at` and written
into the optimizer every step, so a resumed run continues exactly; tests check it against torch's own
schedulers (StepLR, CosineAnnealingLR, OneCycleLR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from visionlab.core.i18n import N_, _

# Schedule names: stored in configs in English, shown translated.
SCHEDULES = (N_("none"), N_("step"), N_("cosine"), N_("one-cycle"))


@dataclass(frozen=True)
class HyperParam:
    name: str  # the keyword in our config
    label: str  # English (N_), translated where shown
    default: float
    low: float
    high: float
    log_scale: bool = False


LR = lambda default: HyperParam("lr", N_("learning rate η"), default, 1e-5, 10.0, True)  # noqa: E731
MOMENTUM = HyperParam("momentum", N_("momentum α"), 0.9, 0.0, 0.999)
BETA1 = HyperParam("beta1", "β1", 0.9, 0.0, 0.999)
BETA2 = HyperParam("beta2", "β2", 0.999, 0.5, 0.99999)

OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], tuple[HyperParam, ...]]] = {
    "SGD": (torch.optim.SGD, (LR(0.05),)),
    "Momentum": (torch.optim.SGD, (LR(0.05), MOMENTUM)),
    "Nesterov": (torch.optim.SGD, (LR(0.05), MOMENTUM)),
    "Adagrad": (torch.optim.Adagrad, (LR(0.01),)),
    "RMSprop": (torch.optim.RMSprop, (LR(0.001), HyperParam("alpha", N_("decay γ"), 0.99, 0.5, 0.9999))),
    "Adam": (torch.optim.Adam, (LR(0.001), BETA1, BETA2)),
    "AdamW": (torch.optim.AdamW, (LR(0.001), BETA1, BETA2)),
    "NAdam": (torch.optim.NAdam, (LR(0.002), BETA1, BETA2)),
    "RAdam": (torch.optim.RAdam, (LR(0.001), BETA1, BETA2)),
    "Adadelta": (torch.optim.Adadelta, (LR(1.0), HyperParam("rho", N_("decay ρ"), 0.9, 0.5, 0.9999))),
}


def hyperparameters(name: str) -> tuple[HyperParam, ...]:
    if name not in OPTIMIZERS:
        raise ValueError(_("unknown optimizer '{name}' (choose one of {choices})").format(name=name,
                                                                                        choices=", ".join(OPTIMIZERS)))
    return OPTIMIZERS[name][1]


def default_params(name: str) -> dict[str, float]:
    return {p.name: p.default for p in hyperparameters(name)}


def learning_rate(name: str, params: dict[str, float] | None = None) -> float:
    """The base learning rate η a run of optimizer `name` starts with (its default unless given)."""
    return float((default_params(name) | dict(params or {}))["lr"])


def build_optimizer(name: str, parameters, params: dict[str, float] | None = None,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The torch optimizer for `name`; missing hyperparameters take their defaults, out-of-range ones raise."""
    values = default_params(name) | dict(params or {})
    for spec in hyperparameters(name):
        if not spec.low <= float(values[spec.name]) <= spec.high:
            raise ValueError(_("{optimizer}: {setting} must be between {low:g} and {high:g}").format(
                optimizer=name, setting=_(spec.label), low=spec.low, high=spec.high))
    if not 0.0 <= weight_decay <= 1.0:
        raise ValueError(_("weight decay must be between 0 and 1"))
    cls = OPTIMIZERS[name][0]
    kwargs: dict = {"lr": learning_rate(name, params), "weight_decay": float(weight_decay)}
    if name in ("Momentum", "Nesterov"):
        kwargs.update(momentum=float(values["momentum"]), nesterov=name == "Nesterov")
    elif name == "RMSprop":
        kwargs["alpha"] = float(values["alpha"])
    elif name == "Adadelta":
        kwargs["rho"] = float(values["rho"])
    elif "beta1" in values:
        kwargs["betas"] = (float(values["beta1"]), float(values["beta2"]))
    return cls(parameters, **kwargs)


def lr_at(step: int, total_steps: int, base_lr: float, schedule: str, step_every: int = 1,
          gamma: float = 0.5) -> float:
    """The learning rate for optimizer step `step` (0-based) of `total_steps`.

    step: η·γ^⌊step / step_every⌋ (torch's StepLR). cosine: η·(1 + cos(π·step/T))/2 (CosineAnnealingLR,
    η_min = 0). one-cycle: cosine warm-up from η/25 to η over the first 30 % of steps, then cosine
    annealing down to η/(25·10⁴) (OneCycleLR's defaults).
    """
    if schedule == "none":
        return base_lr
    if schedule == "step":
        return base_lr * gamma ** (step // max(step_every, 1))
    if schedule == "cosine":
        return base_lr * (1 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1))) / 2
    if schedule == "one-cycle":
        initial, final = base_lr / 25.0, base_lr / 25.0 / 1e4
        peak_step = float(0.3 * total_steps) - 1
        end_step = float(total_steps) - 1
        if step <= peak_step:
            start, end, pct = initial, base_lr, step / peak_step if peak_step > 0 else 1.0
        else:
            start, end, pct = base_lr, final, (step - peak_step) / max(end_step - peak_step, 1e-12)
        return end + (start - end) / 2.0 * (math.cos(math.pi * min(pct, 1.0)) + 1)
    raise ValueError(_("unknown schedule '{name}' (choose one of {choices})").format(name=schedule,
                                                                                      choices=", ".join(SCHEDULES)))
