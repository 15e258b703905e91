"""Confusion matrix and misclassified examples, computed from a validation pass."""

from __future__ import annotations

import torch


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> list[list[int]]:
    """matrix[true][predicted] = count (rows: the truth, as in scikit-learn)."""
    flat = labels.long() * num_classes + predictions.long()
    counts = torch.bincount(flat, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes).tolist()


def misclassified(images: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor, limit: int = 24) -> list[dict]:
    """The most confident mistakes first: {"image": (C, H, W) in [0, 1], "true", "predicted", "confidence"}."""
    probabilities = logits.softmax(1)
    confidence, predicted = probabilities.max(1)
    wrong = (predicted != labels).nonzero().flatten()
    wrong = wrong[confidence[wrong].argsort(descending=True)][:limit]
    return [{"image": images[i].clone(), "true": int(labels[i]), "predicted": int(predicted[i]),
             "confidence": float(confidence[i])} for i in wrong.tolist()]


def ema_alpha(window: int) -> float:
    """The weight of the newest point for an EMA spanning about `window` points: α = 2 / (window + 1)."""
    return 2.0 / (max(int(window), 1) + 1.0)


def ema(values: list[float], window: int, start: float | None = None) -> list[float]:
    """Exponential moving average s_t = (1 − α)·s_{t−1} + α·x_t, s_0 = x_0 (window 1 = the raw values).

    `start` continues an earlier smoothing (the last smoothed value), so a live curve is smoothed
    incrementally instead of from scratch at every redraw.
    """
    alpha = ema_alpha(window)
    out, level = [], start
    for value in values:
        level = value if level is None else (1.0 - alpha) * level + alpha * value
        out.append(level)
    return out
