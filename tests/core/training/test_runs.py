"""Run manager: runs are saved, listed, named, exported, resumed and deleted; the list says what differs."""

import csv
import json

import pytest

from visionlab.core.training.checkpoint import build_model_from_checkpoint
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.runs import (
    config_difference,
    create_run,
    delete_run,
    list_runs,
    overlay_label,
    rename_run,
    settings_text,
    varying_settings,
)
from visionlab.core.training.trainer import Finished, Trainer


def _train(config, data, run, should_stop=lambda: False, start_epoch=0, state=None):
    trainer = Trainer(config, data, start_epoch=start_epoch, state=state)
    for event in trainer.events(should_stop):
        run.record(event, trainer)
    return trainer


def test_a_stopped_run_is_kept_resumed_and_exported(tmp_path):
    config = TrainConfig(epochs=4, model=ModelSpec("MLP", width=8, depth=1))
    data = load_splits(config)
    run = create_run(config)
    epochs_seen = []
    _train(config, data, run, should_stop=lambda: len(run.metrics["epochs"]) >= 2)
    assert run.info["status"] == "stopped" and len(run.metrics["epochs"]) == 2
    # The best checkpoint opens like any VisionLab checkpoint.
    model, model_config = build_model_from_checkpoint(run.folder / "best.pt")
    assert model_config["class_names"] == [str(d) for d in range(10)]
    # Resume: continue from epoch 2 to 4 with the saved optimizer state; the history is continuous.
    reopened = [r for r in list_runs() if r.run_id == run.run_id][0]
    start, state = reopened.resume_state()
    assert start == 2
    _train(config, data, reopened, start_epoch=start, state=state)
    epochs_seen = [e["epoch"] for e in reopened.metrics["epochs"]]
    assert epochs_seen == [1, 2, 3, 4] and reopened.info["status"] == "finished"
    rows = list(csv.DictReader(reopened.export_csv(tmp_path / "m.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["val_acc"]) == pytest.approx(reopened.metrics["epochs"][-1]["val_acc"])
    events = list((reopened.export_tensorboard(tmp_path / "tb")).glob("events.out.tfevents*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(tmp_path / "tb"))
    accumulator.Reload()
    assert [s.step for s in accumulator.Scalars("epoch/val_acc")] == [1, 2, 3, 4]
    assert json.loads((run.folder / "run.json").read_text())["epochs_done"] == 4
    delete_run(reopened)
    assert list_runs() == []


def test_ab_copy_changes_exactly_one_setting():
    base = TrainConfig(seed=5)
    variant = base.with_change("model.dropout", 0.5)
    assert config_difference(base, variant) == ["model.dropout: 0.0 → 0.5"]
    assert variant.seed == base.seed
    with pytest.raises(KeyError):
        base.with_change("nonsense", 1)


def test_a_finished_run_keeps_its_final_train_val_and_test_numbers():
    config = TrainConfig(epochs=2, model=ModelSpec("MLP", width=8, depth=1))
    run = create_run(config)
    trainer = Trainer(config, load_splits(config))
    finished = None
    for event in trainer.events():
        run.record(event, trainer)
        finished = event if isinstance(event, Finished) else finished
    saved = json.loads((run.folder / "run.json").read_text())["final"]
    assert saved["test_count"] == 180 and saved["test_acc"] == pytest.approx(finished.test_acc)
    assert (saved["train_acc"], saved["val_acc"]) == pytest.approx((finished.train_acc, finished.val_acc))
    assert saved["weights_epoch"] == 2 and saved["restored"] is False
    assert [sorted(e) for e in run.metrics["epochs"]][0] == sorted(
        ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "train_eval_loss", "train_eval_acc"])


def test_runs_with_the_same_settings_get_different_names_and_keep_a_new_one():
    config = TrainConfig(dataset="shapes", model=ModelSpec("MLP"))
    runs = [create_run(config) for _ in range(3)]
    assert len({run.name for run in runs}) == 3 and runs[2].name == "#3 MLP on shapes, Adam lr 0.001"
    assert rename_run(runs[1], "  wide \n MLP  ") == "wide MLP"
    assert {run.run_id: run.name for run in list_runs()}[runs[1].run_id] == "wide MLP"  # read back from disk
    with pytest.raises(ValueError, match="empty"):
        rename_run(runs[0], "   ")
    with pytest.raises(ValueError, match="80"):
        rename_run(runs[0], "x" * 81)


def test_the_list_names_the_settings_that_differ_between_runs():
    base = TrainConfig(dataset="shapes", model=ModelSpec("MLP"))
    same = [base, TrainConfig.from_dict(base.to_dict())]
    assert varying_settings(same) == []  # nine identical runs: nothing to show but their names
    others = [base, base.with_change("model.dropout", 0.5),
              base.with_change("optimizer_params", {"lr": 0.01}).with_change("augment.hflip", True)]
    keys = varying_settings(others)
    assert keys == ["optimizer_params.lr", "model.dropout", "augment.hflip"]  # ties: in the A/B settings' order
    # An unset η is the optimizer's default (Adam: 0.001), not "missing".
    # In the form's words (its labels), not the config's identifiers.
    assert [settings_text(c, keys) for c in others] == ["learning rate η 0.001 · dropout p 0 · h-flip off",
                                                       "learning rate η 0.001 · dropout p 0.5 · h-flip off",
                                                       "learning rate η 0.01 · dropout p 0 · h-flip on"]
    # The most distinguishing setting first: three widths tell three runs apart better than two η.
    wide = [base.with_change("model.width", 8), others[2].with_change("model.width", 16),
            base.with_change("model.width", 64)]
    assert varying_settings(wide) == ["model.width", "optimizer_params.lr", "augment.hflip"]
    # A setting that does nothing in a run is not a difference: the patience without early stopping, the
    # shapes' count on digits. Among the runs where it acts, it is.
    stopping = [base.with_change("early_stopping", True), base, base.with_change("dataset", "digits")]
    assert varying_settings(stopping) == ["early_stopping", "dataset"]
    stopping.append(stopping[0].with_change("patience", 9))
    assert varying_settings(stopping) == ["early_stopping", "patience", "dataset"]
    assert settings_text(stopping[1], varying_settings(stopping)) == "early stopping off · data set shapes"


def test_legend_labels_tell_runs_with_the_same_description_apart():
    base = TrainConfig(dataset="shapes", model=ModelSpec("MLP"))
    runs = [create_run(base), create_run(base.with_change("model.dropout", 0.5))]
    assert overlay_label(runs[0], []) == runs[0].name  # nothing differs: the full, numbered name
    keys = varying_settings([run.config for run in runs])
    assert [overlay_label(run, keys) for run in runs] == ["#1 · dropout p 0", "#2 · dropout p 0.5"]
    rename_run(runs[1], "heavy dropout")
    assert overlay_label(runs[1], keys) == "heavy dropout · dropout p 0.5"
