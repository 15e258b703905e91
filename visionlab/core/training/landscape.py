"""Sharp vs flat minima: the loss along a filter-normalized random direction, and between two solutions.

Li et al. 2018 ("Visualizing the Loss Landscape of Neural Nets"): draw a Gaussian direction d with the
shape of the weights, then rescale each filter (each slice along the output dimension) of d to the norm of
the same filter of θ, so that networks of different weight scale are compared fairly; biases and batch-norm
parameters get d = 0. The curve L(θ + α·d) is wide around a flat minimum and narrow around a sharp one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn

from visionlab.core.i18n import _
from visionlab.core.jobs import JobCancelled


def filter_normalized_direction(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    direction = {}
    for name, weight in model.named_parameters():
        if weight.dim() <= 1:
            direction[name] = torch.zeros_like(weight)
            continue
        d = torch.randn(weight.shape, generator=generator).to(weight)
        d_flat, w_flat = d.view(d.shape[0], -1), weight.detach().view(weight.shape[0], -1)
        scale = w_flat.norm(dim=1, keepdim=True) / d_flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
        direction[name] = (d_flat * scale).view_as(weight)
    return direction


@torch.no_grad()
def _loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return nn.functional.cross_entropy(model(images), labels).item()


@torch.no_grad()
def loss_along_direction(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, alphas: list[float],
                         seed: int = 0) -> list[float]:
    """L(θ + α·d) for each α (images already normalized); the model's weights are restored afterwards."""
    direction = filter_normalized_direction(model, seed)
    original = {name: p.detach().clone() for name, p in model.named_parameters()}
    losses = []
    try:
        for alpha in alphas:
            for name, p in model.named_parameters():
                p.copy_(original[name] + alpha * direction[name])
            losses.append(_loss(model, images, labels))
    finally:
        for name, p in model.named_parameters():
            p.copy_(original[name])
    return losses


@torch.no_grad()
def interpolate(model_a: nn.Module, model_b: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                alphas: list[float]) -> list[float]:
    """L((1−α)·θ_a + α·θ_b) for each α: α = 0 is run A, α = 1 is run B (batch-norm statistics mixed too)."""
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    probe = copy.deepcopy(model_a)
    losses = []
    for alpha in alphas:
        mixed = {key: (1 - alpha) * state_a[key] + alpha * state_b[key] if state_a[key].is_floating_point()
                 else state_a[key] for key in state_a}
        probe.load_state_dict(mixed)
        losses.append(_loss(probe, images, labels))
    return losses


@dataclass
class SharpFlat:
    alphas: list[float]
    small_batch: int
    large_batch: int
    small_losses: list[float]  # along each run's own filter-normalized direction (same seed)
    large_losses: list[float]
    interpolation_alphas: list[float]
    interpolation: list[float]  # from the small-batch solution (α = 0) to the large-batch one (α = 1)
    small_val_acc: float
    large_val_acc: float


def sharp_vs_flat(config, data, small_batch: int = 16, large_batch: int = 1024, points: int = 21,
                  max_large_epochs: int = 300, progress: Callable[[float, str], None] | None = None,
                  should_stop: Callable[[], bool] = lambda: False) -> SharpFlat:
    """Train the same model (same seed) with a small and a large batch, then probe both minima.

    The small batch trains for config.epochs. A large batch takes far fewer steps per epoch, so it trains
    until its training loss is as low as the small batch's (at most `max_large_epochs`): comparing a
    converged run with a barely started one would show the starting point's shape, not a minimum's.
    """
    from visionlab.core.training.trainer import EpochReport, Finished, StepReport, Trainer

    models, accuracies, target = [], [], None
    for number, batch in enumerate((small_batch, large_batch)):
        epochs = config.epochs if target is None else max_large_epochs
        run = config.with_change("batch_size", batch).with_change("early_stopping", False)
        trainer = Trainer(run.with_change("epochs", epochs).with_change("restore_best", False), data)
        # A generator (closed below), though Trainer.events is annotated as a plain Iterator.
        events = cast("Generator[StepReport | EpochReport | Finished, None, None]", trainer.events(should_stop))
        last = None
        for event in events:
            if isinstance(event, EpochReport):
                last = event
                if progress is not None:
                    progress(0.45 * number + 0.45 * event.epoch / epochs,
                             _("batch {batch}: epoch {epoch}, train loss {loss:.3f}").format(
                                 batch=batch, epoch=event.epoch, loss=event.train_loss))
                if target is not None and event.train_loss <= target:
                    break
        events.close()  # ends the generator now (it restores the torch thread count)
        if should_stop():
            raise JobCancelled()
        if last is None:
            raise ValueError(_("the batch-{batch} run ended before its first epoch").format(batch=batch))
        target = last.train_loss if target is None else target
        accuracies.append(trainer.evaluate(trainer.val_x, trainer.val_y)[1])
        models.append(trainer.model.cpu())
    images, labels = data.normalize(data.train_x[:1000]), data.train_y[:1000]
    alphas = torch.linspace(-1, 1, points).tolist()
    small = loss_along_direction(models[0], images, labels, alphas, config.seed)
    large = loss_along_direction(models[1], images, labels, alphas, config.seed)
    between = torch.linspace(-0.5, 1.5, points).tolist()
    return SharpFlat(alphas, small_batch, large_batch, small, large, between,
                     interpolate(models[0], models[1], images, labels, between), accuracies[0], accuracies[1])


SAME_SHARPNESS = 0.1  # relative difference of the two rises below which neither minimum is called sharper


def sharp_flat_summary(result: SharpFlat) -> str:
    """How much each loss curve rises from its minimum (α = 0) to the ends α = ±1, on average."""
    middle = len(result.alphas) // 2
    rise_small = float(np.mean([result.small_losses[0], result.small_losses[-1]]) - result.small_losses[middle])
    rise_large = float(np.mean([result.large_losses[0], result.large_losses[-1]]) - result.large_losses[middle])
    sharper = result.small_batch if rise_small > rise_large else result.large_batch
    low, high = sorted((rise_small, rise_large))
    # A rise within SAME_SHARPNESS of the other is no contrast worth a word: say so instead of naming one.
    verdict = _("the batch-{batch} minimum is sharper").format(batch=sharper) \
        if high > (1 + SAME_SHARPNESS) * max(low, 0.0) else \
        _("the two minima are about as sharp (within {share:.0%})").format(share=SAME_SHARPNESS)
    return _("From α = 0 to α = ±1 the training loss rises by {small_rise:.2f} on average (batch {small}) and "
             "{large_rise:.2f} (batch {large}): {verdict}. Validation accuracy {small_acc:.1%} (batch {small}) vs "
             "{large_acc:.1%} (batch {large}).").format(
        small_rise=rise_small, large_rise=rise_large, small=result.small_batch, large=result.large_batch,
        verdict=verdict, small_acc=result.small_val_acc, large_acc=result.large_val_acc)
