"""guess_roles on each family's tag names, and history() on logs written the way each framework writes them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from core.training.logs.tb_writing import write_run

from visionlab.core.training.diagnosis import diagnose
from visionlab.core.training.logs import guess_roles, history, load_logdir, watched_diagnosis

FAMILIES = {
    "visionlab": (["step/train_loss", "step/train_acc", "step/lr", "epoch/train_loss", "epoch/val_loss",
                   "epoch/train_acc", "epoch/val_acc", "epoch/lr", "epoch/train_eval_loss", "epoch/train_eval_acc"],
                  {"train_loss": "epoch/train_eval_loss", "val_loss": "epoch/val_loss",
                   "train_acc": "epoch/train_eval_acc", "val_acc": "epoch/val_acc", "lr": "epoch/lr"}),
    "pytorch": (["Loss/train", "Loss/val", "Accuracy/train", "Accuracy/val", "lr", "grad_norm"],
                {"train_loss": "Loss/train", "val_loss": "Loss/val", "train_acc": "Accuracy/train",
                 "val_acc": "Accuracy/val", "lr": "lr"}),
    "pytorch_test": (["loss/train", "loss/validation", "Accuracy/test", "learning_rate"],
                     {"train_loss": "loss/train", "val_loss": "loss/validation", "val_acc": "Accuracy/test",
                      "lr": "learning_rate"}),
    "plain": (["train_loss", "val_loss", "val_acc", "lr"],
              {"train_loss": "train_loss", "val_loss": "val_loss", "val_acc": "val_acc", "lr": "lr"}),
    "lightning": (["train_loss_step", "train_loss_epoch", "val_loss", "val_acc", "epoch", "lr-Adam", "hp_metric"],
                  {"train_loss": "train_loss_epoch", "val_loss": "val_loss", "val_acc": "val_acc", "lr": "lr-Adam"}),
    "keras": (["train/epoch_loss", "validation/epoch_loss", "train/epoch_accuracy", "validation/epoch_accuracy",
               "train/epoch_learning_rate", "train/batch_loss"],
              {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss",
               "train_acc": "train/epoch_accuracy", "val_acc": "validation/epoch_accuracy",
               "lr": "train/epoch_learning_rate"}),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_guess_roles_maps_each_family(family):
    tags, expected = FAMILIES[family]
    assert guess_roles(tags) == expected


def test_unknown_tags_are_left_unmapped():
    assert guess_roles(["grad_norm", "hp_metric", "weights/conv1", "my_metric"]) == {}


def test_lightning_epoch_scalar_gives_the_epochs(tmp_path):
    # Lightning: global steps, 10 per epoch; "epoch" (0-based) at every logged step; validation at epoch end.
    steps_per_epoch, epochs = 10, 3
    train = [(s, 2.0 - 0.05 * s) for s in range(steps_per_epoch * epochs)]
    ends = [steps_per_epoch * (e + 1) - 1 for e in range(epochs)]
    tags = {"train_loss_step": train, "epoch": [(s, float(s // steps_per_epoch)) for s, _ in train],
            "val_loss": [(s, 1.0 / (i + 1)) for i, s in enumerate(ends)],
            "val_acc": [(s, 0.5 + 0.1 * i) for i, s in enumerate(ends)],
            "train_acc_step": [(s + 1, 0.25) for s in ends]}  # a step *after* validation must not leak in
    write_run(tmp_path / "lightning", tags)
    run = load_logdir(tmp_path, workers=1)["lightning"]
    roles = guess_roles(run.scalars)
    result = history(run, roles)
    assert result["x_label"] == "epoch"
    assert [row["epoch"] for row in result["epochs"]] == [1, 2, 3]
    assert [row["val_loss"] for row in result["epochs"]] == pytest.approx([1.0, 0.5, 1 / 3])
    # train loss taken at the validation step itself: 2.0 - 0.05 * step
    assert [row["train_loss"] for row in result["epochs"]] == pytest.approx([2.0 - 0.05 * s for s in ends])
    assert math.isnan(result["epochs"][0]["train_acc"])  # only logged later
    assert len(result["steps"]) == len(train)
    # the fractional epoch of step 4: between step 0 (epoch 0) and step 9 (epoch 1)
    assert result["steps"][4]["epoch"] == pytest.approx(4 / 9)


def test_visionlab_and_keras_use_the_step_as_epoch(tmp_path):
    write_run(tmp_path / "vl", {"epoch/val_loss": [(1, 0.9), (2, 0.7)], "epoch/train_loss": [(1, 1.0), (2, 0.8)]})
    write_run(tmp_path / "keras" / "validation", {"epoch_loss": [(0, 0.9), (1, 0.7)]}, new_style=True)
    runs = load_logdir(tmp_path, workers=1)
    vl = history(runs["vl"], guess_roles(runs["vl"].scalars))
    keras = history(runs["keras"], guess_roles(runs["keras"].scalars))
    assert [r["epoch"] for r in vl["epochs"]] == [1, 2] and [r["epoch"] for r in keras["epochs"]] == [1, 2]
    assert [r["train_loss"] for r in vl["epochs"]] == pytest.approx([1.0, 0.8])


def test_without_epochs_the_axis_counts_validation_points(tmp_path):
    write_run(tmp_path / "script", {"Loss/train": [(s, 1.0) for s in range(0, 300, 10)],
                                    "Loss/val": [(99, 0.5), (199, 0.4), (299, 0.3)]})
    run = load_logdir(tmp_path, workers=1)["script"]
    result = history(run, guess_roles(run.scalars))
    assert result["x_label"] == "validation point"
    assert [r["epoch"] for r in result["epochs"]] == [1, 2, 3]
    assert math.isnan(result["epochs"][0]["val_acc"]) and math.isnan(result["epochs"][0]["lr"])


def test_the_diagnosis_of_a_log_validated_every_second_epoch_names_its_real_epochs(tmp_path):
    # Keras with validation_freq=2: train/ every epoch, validation/ at epochs 2, 4, ... (steps 1, 3, ...).
    epochs = np.arange(1, 15)
    val_epochs = epochs[1::2]
    val_loss = 1.2 / val_epochs + 0.004 * np.maximum(val_epochs - 6, 0) ** 2  # lowest at epoch 6, then climbs
    write_run(tmp_path / "fit" / "train", {"epoch_loss": [(int(e) - 1, 1.0 / e) for e in epochs]}, new_style=True)
    write_run(tmp_path / "fit" / "validation", {"epoch_loss": [(int(e) - 1, float(v)) for e, v in
                                                               zip(val_epochs, val_loss, strict=True)]}, new_style=True)
    run = load_logdir(tmp_path, workers=1)["fit"]
    result = history(run, guess_roles(run.scalars))
    line = watched_diagnosis(result)
    lowest = np.float32(val_loss).astype(np.float64)
    best_epoch = int(val_epochs[np.argmin(lowest)])  # numpy's argmin on what was written
    assert line.startswith("Overfitting") and diagnose(result["epochs"]).verdict == "overfitting"
    assert f"its minimum {lowest.min():.3f} (epoch {best_epoch})" in line, line
    train_lowest_epoch = int(val_epochs[-1])  # the train loss falls at every epoch: lowest at the last one
    assert f"by epoch {train_lowest_epoch})" in line, line


def test_the_diagnosis_of_a_log_without_a_train_loss_says_what_is_missing(tmp_path):
    write_run(tmp_path / "script", {"Loss/val": [(100 * (i + 1), v) for i, v in enumerate([0.9, 0.7, 0.6, 0.65])]})
    run = load_logdir(tmp_path, workers=1)["script"]
    line = watched_diagnosis(history(run, guess_roles(run.scalars)))
    assert line.startswith("not possible without a train loss") and "nan" not in line


def test_a_validation_point_before_the_first_train_step_is_left_out_of_the_diagnosis(tmp_path):
    # The script validates once before training (step 0), then after each of 3 epochs of 10 steps.
    train = [(s, 2.0 - 0.03 * s) for s in range(1, 31)]
    val = [(0, 2.5), *((10 * e, 2.0 / e) for e in range(1, 4))]
    write_run(tmp_path / "script", {"Loss/train": train, "Loss/val": val})
    run = load_logdir(tmp_path, workers=1)["script"]
    result = history(run, guess_roles(run.scalars))
    assert math.isnan(result["epochs"][0]["train_loss"])  # no train step at or before step 0
    line = watched_diagnosis(result)
    assert "nan" not in line
    # three usable validation points (2 to 4), the minimum verdict needs; the last has the lowest val loss
    assert f"val loss is at its lowest ({np.float32(2.0 / 3):.3f}, validation point 4)" in line, line
    assert f"train loss {np.float32(2.0 - 0.3):.3f} → {np.float32(2.0 - 0.9):.3f} in 2 validation points" in line
