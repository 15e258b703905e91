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
