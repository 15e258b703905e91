"""Underfitting / overfitting / good fit, decided from the epoch history with the evidence spelled out.

The rules follow the lecture: overfitting = good on train, poor on validation (a large gap, or the
validation loss climbing from its minimum while the training loss still falls); underfitting = poor on
train and validation alike; a good fit = high training accuracy, a small gap, validation loss near its best.
"""

from __future__ import annotations

from dataclasses import dataclass

GAP_POINTS = 0.08  # train − val accuracy above this is a generalization gap worth naming
RISE = 0.15  # validation loss this far (relative) above its minimum counts as climbing
GOOD_TRAIN_ACC = 0.9


@dataclass
class Diagnosis:
    verdict: str  # "too early", "overfitting", "underfitting", "good fit"
    evidence: str

    def line(self) -> str:
        return f"{self.verdict.capitalize()}: {self.evidence}"


def diagnose(epochs: list[dict]) -> Diagnosis:
    """`epochs`: dicts with train_loss, train_acc, val_loss, val_acc (one per epoch, oldest first)."""
    if len(epochs) < 3:
        return Diagnosis("too early", f"{len(epochs)} epoch(s) so far; wait for at least 3")
    last = epochs[-1]
    best = min(range(len(epochs)), key=lambda i: epochs[i]["val_loss"])
    best_val = epochs[best]["val_loss"]
    gap = last["train_acc"] - last["val_acc"]
    # A rise counts only if it lasts (both of the last two epochs) and is not a wobble of a tiny loss.
    recent = min(e["val_loss"] for e in epochs[-2:])
    rise = (recent - best_val) / max(best_val, 1e-12)
    lasting = len(epochs) - 1 - best >= 2 and recent - best_val > 0.02
    train_falling = last["train_loss"] < epochs[best]["train_loss"]
    accuracies = (f"train acc {last['train_acc']:.1%}, val acc {last['val_acc']:.1%} "
                  f"(gap {gap * 100:.1f} points)")
    if rise > RISE and lasting and train_falling:
        return Diagnosis("overfitting", f"val loss {recent:.3f} is {rise:.0%} above its minimum "
                                        f"{best_val:.3f} at epoch {best + 1} while train loss kept falling; "
                                        f"{accuracies}")
    if gap > GAP_POINTS:
        return Diagnosis("overfitting", f"{accuracies}: the model fits the training set much better")
    if last["train_acc"] < GOOD_TRAIN_ACC:
        trend = epochs[-1]["train_loss"] < 0.95 * epochs[-3]["train_loss"]
        hint = "still improving: train longer or raise the learning rate" if trend else \
            "no longer improving: the model lacks capacity or the learning rate is off"
        return Diagnosis("underfitting", f"{accuracies}; train accuracy below {GOOD_TRAIN_ACC:.0%}, {hint}")
    return Diagnosis("good fit", f"{accuracies}; val loss {recent:.3f} within {max(rise, 0):.0%} of "
                                 f"its best {best_val:.3f} (epoch {best + 1})")
