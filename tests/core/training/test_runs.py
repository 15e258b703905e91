"""Run manager and diagnosis: runs are saved, listed, exported, resumed and deleted; verdicts carry evidence."""

import csv
import json

import pytest

from visionlab.core.training.checkpoint import build_model_from_checkpoint
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import load_splits
from visionlab.core.training.diagnosis import diagnose
from visionlab.core.training.models import ModelSpec
from visionlab.core.training.runs import config_difference, create_run, delete_run, list_runs
from visionlab.core.training.trainer import EpochReport, Trainer


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


def _history(rows):
    return [dict(zip(("train_loss", "train_acc", "val_loss", "val_acc"), row, strict=True)) for row in rows]


def test_diagnosis_verdicts_and_evidence():
    assert diagnose(_history([(1, 0.5, 1, 0.5)])).verdict == "too early"
    over = diagnose(_history([(1.0, 0.6, 1.0, 0.6), (0.5, 0.85, 0.6, 0.8), (0.2, 0.95, 0.7, 0.8),
                              (0.05, 0.99, 0.9, 0.8)]))
    assert over.verdict == "overfitting" and "epoch 2" in over.evidence and "gap 19.0 points" in over.evidence
    under = diagnose(_history([(2.0, 0.3, 2.0, 0.3), (1.95, 0.35, 1.95, 0.34), (1.94, 0.36, 1.94, 0.35)]))
    assert under.verdict == "underfitting" and "no longer improving" in under.evidence
    good = diagnose(_history([(1.0, 0.7, 1.0, 0.7), (0.3, 0.93, 0.3, 0.92), (0.2, 0.96, 0.22, 0.95)]))
    assert good.verdict == "good fit"


def test_real_overfit_run_is_diagnosed_as_overfitting():
    # Few noisy shapes, a wide MLP and no regularization: the lecture's textbook overfit.
    config = TrainConfig(dataset="shapes", epochs=25, val_fraction=0.5, test_fraction=0.25, batch_size=16,
                         optimizer_params={"lr": 0.01}, model=ModelSpec("MLP", width=64, depth=2, batch_norm=False))
    trainer = Trainer(config, load_splits(config))
    history = [vars(e) for e in trainer.events() if isinstance(e, EpochReport)]
    assert diagnose(history).verdict == "overfitting"
