"""Confusion matrix and misclassified examples from a validation pass; the smoothing of the live step curves."""

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
    """The weight of the newest step for an EMA spanning about `window` steps: α = 2 / (window + 1)."""
    return 2.0 / (max(int(window), 1) + 1.0)


class StepSmoother:
    """TensorBoard's debiased EMA over optimizer steps, fed with reports that each cover several steps.

    A report is the mean of `steps` consecutive steps; it counts as that many steps of its mean value, so
    the window is in steps whatever the reporting interval (every 5 steps, or once per epoch on a tiny
    data set). Per step the running sum decays by β = 1 − α and the result is divided by 1 − β^(steps so
    far), TensorBoard's debiasing: the first value gets no extra weight and there is no start-up bias
    toward zero or toward the first point.

    Each smoothed value is placed at the same weighted mean of the reports' positions (x), not at the
    newest report: a moving average describes the stretch it averages, so on a straight trend the smoothed
    curve lies on the trend instead of trailing it by about a window. `xs` / `ys` hold the whole series.
    """

    def __init__(self, window: int) -> None:
        self.decay = 1.0 - ema_alpha(window)
        self._value = self._position = 0.0
        self._steps = 0
        self.xs: list[float] = []
        self.ys: list[float] = []

    def add(self, value: float, position: float, steps: int = 1) -> tuple[float, float]:
        """Take a report (its mean over `steps` steps, centred at `position`); return (x, smoothed value)."""
        steps = max(int(steps), 1)
        keep = self.decay ** steps
        self._value = keep * self._value + (1.0 - keep) * value
        self._position = keep * self._position + (1.0 - keep) * position
        self._steps += steps
        debias = 1.0 - self.decay ** self._steps  # > 0: at least one step was added (β < 1)
        self.xs.append(self._position / debias)
        self.ys.append(self._value / debias)
        return self.xs[-1], self.ys[-1]
