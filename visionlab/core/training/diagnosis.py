"""Underfitting / overfitting / good fit, decided from the epoch history with the evidence spelled out.

The rules follow the lecture (overfitting: good on train, poor on validation; underfitting: poor on both)
and the order a teacher reads the curves in:

1. fewer than 3 epochs: too early to tell;
2. the validation loss climbed from its minimum and stayed up: overfitting, when the training loss went
   lower since or the training set is fit (with a noisy optimizer the training loss need not end below
   its value at the best epoch; early stopping fires on exactly this rise, so the verdict must not
   contradict it); a model poor on both whose losses bounce is left to the underfitting rule;
3. poor training accuracy while both losses still fall: still improving, no verdict yet (train longer or
   raise η); a wide gap is named as something to watch;
4. a wide train − validation gap once the training set is fit: overfitting (even if the validation loss
   still creeps down: the model memorizes faster than it generalizes);
5. poor training accuracy that no longer improves: underfitting;
6. the training set is not yet fit (below FIT_TRAIN_ACC) and the validation loss still falls clearly
   (see CLEARLY_FALLING): still improving, even above 90 % (train longer or raise η);
7. otherwise a good fit (noting when both losses still fall).

A watched log may hold no accuracy (a regression script, a run that logs losses only). Then only the loss
rules can speak: rule 2 (with "the training loss went lower since" as its only proof of fit), and both losses
still falling (still improving); anything else is "losses only", saying what cannot be told without accuracy,
never a good fit or an underfit the numbers do not show.

The training numbers compared with validation are the eval-mode ones (`train_eval_loss` /
`train_eval_acc`: no dropout, no augmentation, measured after the epoch like validation). The running
means over the epoch's steps are measured with dropout on and weights still moving, so a dropout-0.5 model
at 95 % validation accuracy would look like underfitting by them. Histories without the eval-mode fields
(runs recorded before they existed) fall back to the running means and say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from visionlab.core.i18n import N_, _

GAP_POINTS = 0.08  # train − val accuracy above this is a generalization gap worth naming
RISE = 0.15  # validation loss this far (relative) above its minimum counts as climbing
GOOD_TRAIN_ACC = 0.9
# "Still falling": over the last TREND_EPOCHS epochs the training loss's fitted line falls by more than
# twice the scatter around it (a trend, not a wobble: an η that makes the loss bounce does not count), and
# at least this share of its average drop per epoch over the whole run. A learning curve that flattened out
# drops far less at the end than on average; one that learns slowly (a small η) drops about as fast as before.
STILL_FALLING = 0.4
TREND_EPOCHS = 5
MIN_EPOCHS = 3
# "Clearly falling": the validation loss fell in each of the last CLEAR_EPOCHS epochs, on average by at least
# this share per epoch (measured: a tiny MLP with η = 0.001 on digits, 12 epochs, falls 9 % per epoch; a fit
# dropout-0.5 MLP 3 %). Only while the training set is not fit: above FIT_TRAIN_ACC the loss falls mostly
# because images already right become more confident (an MLP at 99.7 % still drops 8 % per epoch).
CLEARLY_FALLING = 0.05
CLEAR_EPOCHS = 3
FIT_TRAIN_ACC = 0.98


# The verdicts diagnose() returns: compared and stored in English, translated where shown (`_(verdict)`).
VERDICTS = (N_("too early"), N_("still improving"), N_("overfitting"), N_("underfitting"), N_("good fit"),
            N_("losses only"))


@dataclass
class Diagnosis:
    verdict: str  # "too early", "still improving", "overfitting", "underfitting", "good fit", "losses only"
    evidence: str

    def line(self) -> str:
        return f"{_(self.verdict).capitalize()}: {self.evidence}"


def _epoch_at(number: int) -> str:
    return _("epoch {number}").format(number=number)


def _epoch_count(count: int) -> str:
    return _("{count} epochs").format(count=count)


def _epochs_so_far(count: int) -> str:
    return _("{count} epoch(s) so far").format(count=count)


@dataclass(frozen=True)
class Units:
    """How the evidence names the history's rows: "epoch 3" (the row at a 1-based position), "in 4 epochs",
    "2 epoch(s) so far", "per epoch". A watched log names them by its own x values (logs/tags.py)."""

    at: Callable[[int], str] = _epoch_at
    count: Callable[[int], str] = _epoch_count
    so_far: Callable[[int], str] = _epochs_so_far
    per: Callable[[], str] = field(default=lambda: _("per epoch"))


EPOCHS = Units()


def _train_values(epoch: dict) -> tuple[float, float, bool]:
    """(train loss, train accuracy, measured in eval mode) of one epoch."""
    loss, acc = epoch.get("train_eval_loss", math.nan), epoch.get("train_eval_acc", math.nan)
    if isinstance(loss, float) and isinstance(acc, float) and math.isfinite(loss) and math.isfinite(acc):
        return loss, acc, True
    return epoch["train_loss"], epoch["train_acc"], False


def _still_falling(losses: list[float]) -> bool:
    """Does the training loss still fall, as a teacher reads the curve's end (see STILL_FALLING)?"""
    window = losses[-TREND_EPOCHS:]
    k = len(window)
    x_mean, y_mean = (k - 1) / 2, sum(window) / k
    slope = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(window)) / \
        sum((x - x_mean) ** 2 for x in range(k))
    residuals = [y - (y_mean + slope * (x - x_mean)) for x, y in enumerate(window)]
    scatter = math.sqrt(sum(r * r for r in residuals) / (k - 2)) if k > 2 else 0.0
    average_drop = (losses[0] - losses[-1]) / (len(losses) - 1)
    return slope < 0 and -slope * (k - 1) > 2 * scatter and -slope >= STILL_FALLING * average_drop


def _clear_drop(val_losses: list[float]) -> float | None:
    """The validation loss's mean relative drop per epoch over the last CLEAR_EPOCHS, when it clearly falls."""
    window = val_losses[-CLEAR_EPOCHS - 1:]
    falls = all(b < a for a, b in zip(window[:-1], window[1:], strict=True))
    if len(window) <= CLEAR_EPOCHS or not falls or window[-1] <= 0:
        return None
    drop = 1 - (window[-1] / window[0]) ** (1 / CLEAR_EPOCHS)
    return drop if drop >= CLEARLY_FALLING else None


def _accuracies(last: dict) -> str:
    _loss, train_acc, eval_mode = _train_values(last)
    missing = tuple(name for name, value in (("train", train_acc), ("validation", last["val_acc"]))
                    if not math.isfinite(value))
    if missing:
        return {("train",): _("no train accuracy logged"), ("validation",): _("no validation accuracy logged"),
                ("train", "validation"): _("no train or validation accuracy logged")}[missing]
    if not eval_mode:
        text = _("train acc {train:.1%} (measured while training), val acc {val:.1%}")
    elif abs(last["train_acc"] - train_acc) >= 0.02:  # dropout, augmentation or noise make the two differ
        text = _("train acc {train:.1%} in eval mode ({running:.1%} while training), val acc {val:.1%}")
    else:
        text = _("train acc {train:.1%} in eval mode, val acc {val:.1%}")
    return text.format(train=train_acc, running=last["train_acc"], val=last["val_acc"])


def diagnose(epochs: list[dict], units: Units = EPOCHS) -> Diagnosis:
    """`epochs`: dicts with train_loss, train_acc, val_loss, val_acc and, when measured, train_eval_loss and
    train_eval_acc (one per epoch, oldest first). `units` names the rows in the evidence."""
    if len(epochs) < MIN_EPOCHS:
        return Diagnosis("too early", _("{so_far}; the verdict needs at least {minimum}").format(
            so_far=units.so_far(len(epochs)), minimum=MIN_EPOCHS))
    at = units.at
    train = [_train_values(e) for e in epochs]
    losses = [loss for loss, _acc, _eval in train]
    last, train_acc = epochs[-1], train[-1][1]
    gap = train_acc - last["val_acc"]
    accuracies = _accuracies(last)
    best = min(range(len(epochs)), key=lambda i: epochs[i]["val_loss"])
    best_val = epochs[best]["val_loss"]
    # A rise counts only if it lasts (both of the last two epochs) and is not a wobble of a tiny loss.
    recent = min(e["val_loss"] for e in epochs[-2:])
    rise = (recent - best_val) / max(best_val, 1e-12)
    lasting = len(epochs) - 1 - best >= 2 and recent - best_val > 0.02
    # With the train loss no lower since, a rise is overfitting only if the training set is fit (a model poor
    # on both that bounces, e.g. momentum with η = 1, is underfitting).
    lower_since = min(losses[best + 1:], default=math.inf) < losses[best]
    has_accuracy = math.isfinite(train_acc) and math.isfinite(last["val_acc"])
    if rise > RISE and lasting and (lower_since or train_acc >= GOOD_TRAIN_ACC):
        lowest_after = min(range(best + 1, len(losses)), key=lambda i: losses[i])
        after = losses[lowest_after]
        train_text = _("while train loss went lower ({before:.3f} → {after:.3f} by {epoch})").format(
            before=losses[best], after=after, epoch=at(lowest_after + 1)) if after < losses[best] else \
            _("though train loss is no lower since ({before:.3f} → {after:.3f}: a smaller η may steady it)").format(
                before=losses[best], after=losses[-1])
        return Diagnosis("overfitting", _("val loss {recent:.3f} is {rise:.0%} above its minimum {best:.3f} ({epoch}) "
                                          "{train_text}; {accuracies}").format(
            recent=recent, rise=rise, best=best_val, epoch=at(best + 1), train_text=train_text, accuracies=accuracies))
    train_falling = _still_falling(losses)
    val_falling = best >= len(epochs) - 2  # its lowest value is one of the last two
    span = min(TREND_EPOCHS, len(losses)) - 1
    falling = _("train loss {first:.3f} → {last:.3f} in {epochs}").format(first=losses[-span - 1], last=losses[-1],
                                                                          epochs=units.count(span))
    lowest = _("val loss is at its lowest ({value:.3f}, {epoch})").format(value=best_val, epoch=at(best + 1))
    above = _("val loss {recent:.3f}, {rise:.0%} above its best ({best:.3f}, {epoch})").format(
        recent=recent, rise=rise, best=best_val, epoch=at(best + 1))
    if not has_accuracy:
        if train_falling and val_falling:
            return Diagnosis("still improving", _("{falling}, {lowest}; {accuracies}: train longer").format(
                falling=falling, lowest=lowest, accuracies=accuracies))
        where = lowest if val_falling else above
        return Diagnosis("losses only", _("{falling}, {where}; {accuracies}, so a good fit and an underfit look alike "
                                          "here (map both accuracy tags to tell them apart)").format(
            falling=falling, where=where, accuracies=accuracies))
    if train_falling and val_falling and train_acc < GOOD_TRAIN_ACC:
        watch = _("; watch the {gap:.1f}-point gap").format(gap=gap * 100) if gap > GAP_POINTS else ""
        return Diagnosis("still improving", _("{falling}, {lowest}; {accuracies}: train longer or raise η").format(
            falling=falling, lowest=lowest, accuracies=accuracies) + watch)
    if gap > GAP_POINTS:
        since = _("though {lowest}").format(lowest=lowest) if val_falling else \
            _("and val loss is no better since {epoch}").format(epoch=at(best + 1))
        return Diagnosis("overfitting", _("{accuracies}: a {gap:.1f}-point gap, the training images fit far better "
                                          "than new ones, {since}").format(accuracies=accuracies, gap=gap * 100,
                                                                           since=since))
    if train_acc < GOOD_TRAIN_ACC:
        hint = _("still falling slowly: train longer or raise η") if train_falling else \
            _("no longer improving: try a bigger model, less regularization or another η")
        return Diagnosis("underfitting", _("{accuracies}; {falling}, {hint}").format(accuracies=accuracies,
                                                                                    falling=falling, hint=hint))
    drop = _clear_drop([e["val_loss"] for e in epochs])
    if train_acc < FIT_TRAIN_ACC and drop is not None:
        start = epochs[-CLEAR_EPOCHS - 1]["val_loss"]
        return Diagnosis("still improving", _("val loss {first:.3f} → {last:.3f} in {epochs} ({drop:.0%} {per}), at "
                                              "its lowest; {accuracies}: train longer or raise η").format(
            first=start, last=last["val_loss"], epochs=units.count(CLEAR_EPOCHS), drop=drop, per=units.per(),
            accuracies=accuracies))
    if train_falling and val_falling:
        return Diagnosis("good fit", _("{accuracies}; both losses still falling: more epochs may help a little").format(
            accuracies=accuracies))
    where = lowest if rise < 0.005 else above
    return Diagnosis("good fit", f"{accuracies}; {where}")
