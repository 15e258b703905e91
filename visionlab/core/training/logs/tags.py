"""Which tag is the train loss, the validation accuracy, the learning rate: guessed from common names, and
a watched run turned into the Training Monitor's metrics format (so its curves and diagnosis work on it).

Epoch numbers are 1-based, as in the Training Monitor: VisionLab writes epoch/* tags at step = epoch,
Keras writes epoch_* at step = epoch - 1, and Lightning logs an "epoch" scalar (0-based) against the global
step. Without any of these the x axis counts validation points instead, and says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

from visionlab.core.i18n import N_, _
from visionlab.core.training.diagnosis import Units, diagnose
from visionlab.core.training.logs.reader import Series, WatchedRun

ROLES = ("train_loss", "val_loss", "train_acc", "val_acc", "lr")
LIGHTNING_EPOCH_TAG = "epoch"
_TRAIN_WORDS = {"train", "training"}
_VAL_WORDS = {"val", "valid", "validation", "eval", "evaluation", "dev", "test"}
_LOSS_WORDS = {"loss"}
_ACC_WORDS = {"acc", "accuracy"}
_PER_EPOCH_WORDS = {"epoch"}
_PER_BATCH_WORDS = {"step", "batch", "iter", "iteration"}


def _words(tag: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", tag)  # valLoss -> val_Loss
    return [word for word in re.split(r"[/_\-\s.:]+", spaced.lower()) if word]


def _role_and_score(tag: str) -> tuple[str, float] | None:
    words = _words(tag)
    found = set(words)
    if "lr" in found or {"learning", "rate"} <= found:
        role, score = "lr", 1.0
    else:
        kind = "loss" if found & _LOSS_WORDS else "acc" if found & _ACC_WORDS else None
        if kind is None or (found & _LOSS_WORDS and found & _ACC_WORDS):
            return None
        # "train_eval_*" (VisionLab: the training set measured like the validation set) is train, and the best.
        is_train = bool(found & _TRAIN_WORDS)
        is_val = bool(found & _VAL_WORDS) and not is_train
        role = f"{'val' if is_val else 'train'}_{kind}"
        score = 1.0 + (is_train or is_val) + ("eval" in found and is_train)
        score -= 0.5 * ("test" in found)  # a validation tag beside a test tag is the one to watch
    # Per-epoch aggregates beat per-batch values (diagnosis works on epochs).
    score += 2 * bool(found & _PER_EPOCH_WORDS) - bool(found & _PER_BATCH_WORDS)
    return role, score


def guess_roles(tags: Iterable[str]) -> dict[str, str]:
    """Role -> tag for the tags whose names say what they are; unknown tags are left for the user to map."""
    best: dict[str, tuple[float, int, str]] = {}
    for tag in tags:
        guessed = _role_and_score(tag)
        if guessed is None or tag == LIGHTNING_EPOCH_TAG:
            continue
        role, score = guessed
        rank = (score, -len(tag), tag)
        if role not in best or rank > best[role]:
            best[role] = rank
    return {role: best[role][2] for role in ROLES if role in best}


def _at_or_before(series: Series | None, steps: np.ndarray) -> np.ndarray:
    """The series' value at each step, or at the nearest earlier step (never a later one); NaN before it."""
    if series is None or not len(series.steps):
        return np.full(len(steps), math.nan)
    index = np.searchsorted(series.steps, steps, side="right") - 1
    values = series.values[np.clip(index, 0, None)].astype(np.float64)
    values[index < 0] = math.nan
    return values


def _epochs_of(run: WatchedRun, roles: dict[str, str], val_steps: np.ndarray) -> tuple[np.ndarray, str]:
    val_tags = [roles[r] for r in ("val_loss", "val_acc") if r in roles]
    lightning = run.scalars.get(LIGHTNING_EPOCH_TAG)
    if lightning is not None and len(lightning.steps):
        return _at_or_before(lightning, val_steps) + 1, "epoch"
    if val_tags and all(tag.startswith("epoch/") for tag in val_tags):
        return val_steps.astype(np.float64), "epoch"
    if val_tags and all("epoch" in _words(tag) for tag in val_tags):
        return val_steps.astype(np.float64) + 1, "epoch"  # Keras: step 0 is the first epoch
    return np.arange(1, len(val_steps) + 1, dtype=np.float64), N_("validation point")


def _fractional_epochs(steps: np.ndarray, anchor_steps: np.ndarray, anchor_epochs: np.ndarray) -> np.ndarray:
    """Interpolate between the validation points; before the first, count back from step 0; past the last,
    go on at the last interval's pace."""
    if not len(anchor_steps):
        return np.full(len(steps), math.nan)
    xs, ys = anchor_steps.astype(np.float64), anchor_epochs
    if xs[0] > 0:
        xs, ys = np.append(0.0, xs), np.append(ys[0] - 1, ys)
    epochs = np.interp(steps, xs, ys)
    if len(xs) >= 2 and xs[-1] > xs[-2]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        beyond = steps > xs[-1]
        epochs[beyond] = ys[-1] + slope * (steps[beyond] - xs[-1])
    return epochs


def history(run: WatchedRun, roles: dict[str, str]) -> dict:
    """The Training Monitor's metrics: {"steps": [...], "epochs": [...], "x_label": "epoch" | ...}."""
    series = {role: run.scalars[tag] for role, tag in roles.items() if role in ROLES and tag in run.scalars}
    val_parts = [series[r].steps for r in ("val_loss", "val_acc") if r in series]
    val_steps = np.unique(np.concatenate(val_parts)) if val_parts else np.zeros(0, np.int64)
    epochs, x_label = _epochs_of(run, roles, val_steps)
    columns = {role: _at_or_before(series.get(role), val_steps) for role in ROLES}
    # Rows built from whole columns (tolist() gives Python ints and floats at C speed): a 5 000-step run
    # of a 200-run folder is rebuilt in a few ms, not in a per-cell Python loop.
    epoch_keys = ("epoch", "step", *ROLES)
    epoch_rows = [dict(zip(epoch_keys, row, strict=True)) for row in
                  zip([_number(e) for e in epochs.tolist()], val_steps.tolist(),
                      *(columns[role].tolist() for role in ROLES), strict=True)]
    train = series.get("train_loss")
    train_steps = train.steps if train is not None else np.zeros(0, np.int64)
    fractional = _fractional_epochs(train_steps, val_steps, epochs)
    step_columns = {role: _at_or_before(series.get(role), train_steps) for role in ("train_loss", "train_acc", "lr")}
    step_keys = ("step", "epoch", *step_columns)
    step_rows = [dict(zip(step_keys, row, strict=True)) for row in
                 zip(np.asarray(train_steps).tolist(), fractional.tolist(),
                     *(values.tolist() for values in step_columns.values()), strict=True)]
    # x_label is English ("epoch", "validation point", "step"), translated where it is shown.
    return {"steps": step_rows, "epochs": epoch_rows, "x_label": x_label if len(val_steps) else N_("step")}


def _number(value: float) -> int | float:
    """Whole epochs as int (as the Training Monitor writes them); anything else as it is."""
    return int(value) if math.isfinite(value) and value == int(value) else float(value)


def watched_diagnosis(history: dict) -> str:
    """core's diagnose() line for a watched run, in the run's own units.

    diagnose() names epochs by their position in the list ("epoch 3" is the third row), which holds for the
    app's own runs. A watched log may validate every few epochs, count validation points instead, or miss
    a loss the verdicts compare (the user can map a role to "(none)"); so the rows without both losses are
    left out, and positions and counts are turned into the log's own x values."""
    rows = history.get("epochs", [])
    missing = tuple(role for role in ("train_loss", "val_loss") if not any(_is_finite(row.get(role)) for row in rows))
    if missing:
        without = {("train_loss",): _("not possible without a train loss"),
                   ("val_loss",): _("not possible without a validation loss"),
                   ("train_loss", "val_loss"): _("not possible without a train loss or a validation loss")}[missing]
        return without + _(": the verdicts compare the two losses (map the tag that holds it under Tag roles)")
    usable = [row for row in rows if _is_finite(row.get("train_loss")) and _is_finite(row.get("val_loss"))]
    xs = [row["epoch"] for row in usable]
    unit = str(history.get("x_label", "epoch"))
    if unit == "epoch" and xs == list(range(1, len(xs) + 1)):
        return diagnose(usable).line()  # one row per epoch from the first: diagnose()'s own numbers are right
    units = Units(at=lambda number: f"{_(unit)} {_x_text(xs[number - 1])}",
                  count=lambda count: _("{count} validation points").format(count=count),
                  so_far=lambda count: _("{count} validation point(s) so far").format(count=count),
                  per=lambda: _("per validation point"))
    return diagnose(usable, units).line()


def _x_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
