"""Runs that are repeats of one setting (seeds, k folds) grouped, and their curves as mean ± std.

Standard deviations are population ones (ddof=0, numpy's default): the spread of these runs, not an estimate
of a larger population's; with 3 seeds the two differ by a factor of 1.22, so the GUI states which it shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

from visionlab.core.errors import UserError
from visionlab.core.i18n import _
from visionlab.core.training.logs.reader import WatchedRun

GROUP_BY = ("none", "pattern", "hparams")
# Hyperparameters that differ between repeats of one setting, so they do not split a group.
REPEAT_KEYS = ("seed", "random_seed", "fold", "repeat", "run", "trial")
FINAL_KEYS = ("val_loss", "val_acc", "train_loss", "train_acc")
_SEPARATORS = "_-/.: "


def group_runs(runs: dict[str, WatchedRun], by: str, pattern: str = "") -> dict[str, list[str]]:
    """Group name -> run names. by="pattern": `pattern`'s first group names the group (or, without a group,
    the run name with the match removed); by="hparams": equal hparams apart from REPEAT_KEYS and the
    comma-separated names in `pattern`; by="none": one group per run."""
    if by not in GROUP_BY:
        raise UserError(_("Runs can be grouped by {choices}, not by '{by}'.").format(choices=", ".join(GROUP_BY),
                                                                                     by=by))
    if by == "none":
        return {name: [name] for name in sorted(runs)}
    key_of = _pattern_key(pattern) if by == "pattern" else _hparams_key(pattern)
    groups: dict[str, list[str]] = {}
    for name in sorted(runs):
        groups.setdefault(key_of(runs[name]), []).append(name)
    return dict(sorted(groups.items()))


def _pattern_key(pattern: str):
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise UserError(_("The pattern {pattern!r} is not a valid regular expression: {reason} at character "
                          "{position}.").format(pattern=pattern, reason=exc.msg,
                                                position=(exc.pos or 0) + 1)) from None  # 1-based, as students count

    def key(run: WatchedRun) -> str:
        match = compiled.search(run.name)
        if match is None:
            return run.name
        if compiled.groups and match.group(1) is not None:
            return match.group(1)
        rest = (run.name[:match.start()] + run.name[match.end():]).strip(_SEPARATORS)
        return rest or run.name
    return key


def _hparams_key(extra_names: str):
    ignored = set(REPEAT_KEYS) | {name.strip().lower() for name in extra_names.split(",") if name.strip()}

    def key(run: WatchedRun) -> str:
        kept = {k: v for k, v in sorted(run.hparams.items()) if k.lower() not in ignored}
        if not kept:
            return run.name  # nothing to compare: a group of its own
        return ", ".join(f"{k}={v}" for k, v in kept.items())
    return key


def band(histories: list[dict], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x (epoch), mean, std (ddof=0) and run count per x of `key` over the runs' epoch rows, at the x
    values at least 2 runs reached (a lone run's tail is not a band)."""
    values_at: dict[float, list[float]] = {}
    for one in histories:
        for row in one.get("epochs", []):
            value, x = row.get(key, math.nan), row.get("epoch", math.nan)
            if _finite(value) and _finite(x):
                values_at.setdefault(float(x), []).append(float(value))
    xs = np.array(sorted(x for x, values in values_at.items() if len(values) >= 2), dtype=np.float64)
    columns = [np.array(values_at[x]) for x in xs]
    mean = np.array([c.mean() for c in columns], dtype=np.float64)
    std = np.array([c.std(ddof=0) for c in columns], dtype=np.float64)
    count = np.array([len(c) for c in columns], dtype=np.int64)
    return xs, mean, std, count


def final_table(groups: dict[str, list[str]], histories: dict[str, dict],
                finals: dict[str, dict] | None = None) -> list[dict]:
    """Per group: the mean and std (ddof=0) over its runs of the last epoch's values and of the best val loss.

    `finals` holds run_finals() of runs whose history has not changed since (the watcher keeps them: a
    5000-epoch run scanned again for every live point of another run cost 2 s per poll with 200 runs)."""
    finals = finals or {}
    table = []
    for group, names in groups.items():
        per_run = [finals.get(name) or run_finals(histories[name]) for name in names if name in histories]
        final = {key: _mean_std(one["final"][key] for one in per_run) for key in FINAL_KEYS}
        best = _mean_std(one["best_val_loss"] for one in per_run)
        table.append({"group": group, "runs": list(names), "final": final, "best_val_loss": best})
    return table


def run_finals(history: dict) -> dict:
    """One run's part of the table: its last finite value of each FINAL_KEYS and its best (lowest) val loss."""
    epochs = history.get("epochs", [])
    return {"final": {key: _last_finite(epochs, key) for key in FINAL_KEYS},
            "best_val_loss": min((r["val_loss"] for r in epochs if _finite(r.get("val_loss"))), default=math.nan)}


def _last_finite(epochs: list[dict], key: str) -> float:
    """The newest epoch's value (a run still going has its last epoch, not a blank)."""
    return next((float(r[key]) for r in reversed(epochs) if _finite(r.get(key))), math.nan)


def _mean_std(values: Iterable[float]) -> tuple[float, float]:
    finite = np.array([v for v in values if _finite(v)], dtype=np.float64)
    if not len(finite):
        return math.nan, math.nan
    return float(finite.mean()), float(finite.std(ddof=0))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
