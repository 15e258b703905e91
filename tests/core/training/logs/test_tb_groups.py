"""Grouping repeats and their mean ± std bands, against numpy computed here on hand-built histories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from visionlab.core.errors import UserError
from visionlab.core.training.logs import WatchedRun, band, final_table, group_runs


def _runs(*names: str, hparams: dict | None = None) -> dict[str, WatchedRun]:
    return {n: WatchedRun(name=n, folder=Path(n), hparams=(hparams or {}).get(n, {})) for n in names}


def _history(val_losses: list[float], val_accs: list[float] | None = None) -> dict:
    accs = val_accs or [math.nan] * len(val_losses)
    rows = [{"epoch": i + 1, "val_loss": v, "val_acc": a, "train_loss": 2 * v, "train_acc": math.nan, "lr": 0.1}
            for i, (v, a) in enumerate(zip(val_losses, accs, strict=True))]
    return {"epochs": rows, "steps": [], "x_label": "epoch"}


def test_band_is_numpys_mean_and_population_std_where_two_runs_reached():
    curves = [[1.0, 0.8, 0.6, 0.5], [1.2, 0.7, 0.65], [0.9, 0.85, math.nan, 0.4, 0.3]]
    x, mean, std, count = band([_history(c) for c in curves], "val_loss")
    assert x.tolist() == [1, 2, 3, 4]  # epoch 5 was reached by one run only
    columns = [[1.0, 1.2, 0.9], [0.8, 0.7, 0.85], [0.6, 0.65], [0.5, 0.4]]  # NaN is a missing point
    assert mean == pytest.approx([np.mean(c) for c in columns])
    assert std == pytest.approx([np.std(c) for c in columns])
    assert count.tolist() == [3, 3, 2, 2]


def test_group_by_pattern_with_and_without_a_group():
    runs = _runs("adam_seed1", "adam_seed2", "sgd_seed1", "baseline")
    assert group_runs(runs, "pattern", r"_seed\d+$") == {"adam": ["adam_seed1", "adam_seed2"], "baseline": ["baseline"],
                                                          "sgd": ["sgd_seed1"]}
    assert group_runs(runs, "pattern", r"^(\w+?)_") == {"adam": ["adam_seed1", "adam_seed2"], "baseline": ["baseline"],
                                                        "sgd": ["sgd_seed1"]}
    folds = _runs("cv/fold0", "cv/fold1", "cv/fold2")
    assert group_runs(folds, "pattern", r"fold\d+") == {"cv": ["cv/fold0", "cv/fold1", "cv/fold2"]}
    assert group_runs(runs, "none") == {n: [n] for n in sorted(runs)}


def test_an_invalid_pattern_says_where():
    with pytest.raises(UserError, match="character 5"):
        group_runs(_runs("a"), "pattern", r"seed(\d+")


def test_group_by_hparams_ignores_the_seed_and_named_keys():
    hparams = {"a": {"lr": 0.1, "seed": 1, "host": "x"}, "b": {"lr": 0.1, "seed": 2, "host": "y"},
               "c": {"lr": 0.01, "seed": 1, "host": "x"}, "d": {}}
    groups = group_runs(_runs(*hparams, hparams=hparams), "hparams", "host")
    assert groups == {"d": ["d"], "lr=0.01": ["c"], "lr=0.1": ["a", "b"]}


def test_final_table_is_mean_and_std_of_last_and_best_values():
    histories = {"a": _history([1.0, 0.5, 0.7], [0.5, 0.8, 0.75]), "b": _history([0.9, 0.6], [0.6, 0.7])}
    (row,) = final_table({"g": ["a", "b"]}, histories)
    assert row["runs"] == ["a", "b"]
    assert row["final"]["val_loss"] == pytest.approx((np.mean([0.7, 0.6]), np.std([0.7, 0.6])))
    assert row["final"]["val_acc"] == pytest.approx((np.mean([0.75, 0.7]), np.std([0.75, 0.7])))
    assert row["best_val_loss"] == pytest.approx((np.mean([0.5, 0.6]), np.std([0.5, 0.6])))
    assert all(math.isnan(v) for v in row["final"]["train_acc"])
