"""A scene task's run folder (run.py) after seconds-long real runs, and `visionlab train --task segment|detect`.

The references are independent of run.py: the trainers' own events, sklearn's confusion matrix on the
model rebuilt from best.pt, TensorBoard's event files read back by the Watched-logs reader."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix

from visionlab.core.shapes.scenes import make_scenes
from visionlab.core.training import headless
from visionlab.core.training.logs import load_logdir
from visionlab.core.training.scenes.checkpoint import load_scene_model
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished, SceneStep
from visionlab.core.training.scenes.run import SceneRunStarted, run_scene_task, scene_runs_dir
from visionlab.core.training.scenes.run_preview import ScenePreview
from visionlab.core.training.scenes.scene_data import VALIDATION_SEED_OFFSET

VISIONLAB = str(Path(sys.executable).parent / "visionlab")
TINY = dict(epochs=2, batch_size=8, width=8, frame_width=64, frame_height=64, train_frames=32, val_frames=8,
            threads=1, seed=3)
QUICK_CLI = ["--data", "shapes", "--frames", "16", "--frame-size", "64x64", "--epochs", "1", "--batch-size", "8",
             "--width", "8"]


def _run(config: SceneConfig, out: Path | None, **kwargs) -> list:
    return list(run_scene_task(config, out, **kwargs))


@pytest.fixture(scope="module")
def segment_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes") / "segment"
    config = SceneConfig(task="segment", lr=5e-3, **TINY)
    return config, out, _run(config, out, previews=2)


def _sklearn_miou(model, config: dict, scenes) -> float:
    """mIoU of the model on the scenes from sklearn's pooled confusion matrix (classes that occur only)."""
    mean = torch.tensor(config["normalize"]["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(config["normalize"]["std"]).view(1, 3, 1, 1)
    images = torch.from_numpy(np.stack([scene.image for scene in scenes])).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        predicted = model((images - mean) / std)["out"].argmax(1).numpy()
    truth = np.stack([scene.semantic() for scene in scenes])
    labels = list(range(len(config["class_names"])))
    matrix = confusion_matrix(truth.ravel(), predicted.ravel(), labels=labels)
    union = matrix.sum(0) + matrix.sum(1) - np.diag(matrix)
    return float(np.mean(np.diag(matrix)[union > 0] / union[union > 0]))


def test_a_segmentation_run_leaves_the_classifiers_kind_of_folder(segment_run):
    config, out, events = segment_run
    assert isinstance(events[0], SceneRunStarted) and events[0].folder == out
    finished = events[-1]
    assert isinstance(finished, SceneFinished) and finished.status == "finished"
    epochs = [e for e in events if isinstance(e, SceneEpoch)]
    steps = [e for e in events if isinstance(e, SceneStep)]
    assert [e.epoch for e in epochs] == [1, 2] and steps

    info = json.loads((out / "run.json").read_text())
    assert SceneConfig.from_dict(info["config"]) == config
    assert info["status"] == "finished" and info["best_epoch"] == finished.best_epoch
    assert info["metric"] == pytest.approx(finished.metric) and info["metric_name"] == "mIoU"
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(row["epoch"], row["val_loss"], row["miou"]) for row in metrics["epochs"]] == \
        [(e.epoch, e.val_loss, e.metric) for e in epochs]
    assert [row["loss"] for row in metrics["steps"]] == [e.losses["loss"] for e in steps]


def test_best_pt_rebuilds_the_best_epochs_model(segment_run):
    config, out, events = segment_run
    finished = events[-1]
    assert Path(finished.extra["checkpoint_path"]) == (out / "best.pt").resolve()
    model, ckpt_config = load_scene_model(out / "best.pt")
    val = make_scenes(config.val_frames, config.seed + VALIDATION_SEED_OFFSET, config.frame_width,
                      config.frame_height)
    best = next(e for e in events if isinstance(e, SceneEpoch) and e.epoch == finished.best_epoch)
    assert _sklearn_miou(model, ckpt_config, val) == pytest.approx(best.metric, abs=1e-9)


def test_tensorboard_events_carry_the_tags(segment_run):
    _, out, events = segment_run
    run = load_logdir(out)["."]
    assert run.error is None
    assert {"step/train_loss", "step/lr", "epoch/train_loss", "epoch/val_loss", "epoch/miou"} <= set(run.scalars)
    epochs = [e for e in events if isinstance(e, SceneEpoch)]
    assert run.scalars["epoch/miou"].steps.tolist() == [e.epoch for e in epochs]
    np.testing.assert_allclose(run.scalars["epoch/miou"].values, [e.metric for e in epochs], rtol=1e-6)
    steps = [e for e in events if isinstance(e, SceneStep)]
    np.testing.assert_allclose(run.scalars["step/train_loss"].values, [e.losses["loss"] for e in steps], rtol=1e-6)


def test_each_epoch_is_followed_by_a_preview_of_the_model_at_that_epoch(segment_run):
    _, _, events = segment_run
    kinds = [type(e).__name__ for e in events if isinstance(e, SceneEpoch | ScenePreview)]
    assert kinds == ["SceneEpoch", "ScenePreview"] * 2
    preview = next(e for e in events if isinstance(e, ScenePreview))
    assert len(preview.images) == 2 and preview.images[0].shape == (128, 128, 3)  # drawn at twice the frame size
    assert all(caption.endswith("of pixels right") for caption in preview.captions)


def test_a_detection_run_logs_the_four_loss_parts_and_map50(tmp_path):
    out = tmp_path / "detect"
    config = SceneConfig(task="detect", lr=2e-3, **{**TINY, "epochs": 1, "train_frames": 16})
    events = _run(config, out, previews=1)
    finished = events[-1]
    assert isinstance(finished, SceneFinished) and finished.metric_name == "mAP@0.5"
    run = load_logdir(out)["."]
    parts = {"step/rpn_objectness", "step/rpn_box", "step/classifier", "step/box_regression"}
    assert parts | {"step/train_loss", "epoch/val_loss", "epoch/map50"} <= set(run.scalars)
    step = next(e for e in events if isinstance(e, SceneStep))
    assert run.scalars["step/rpn_box"].values[0] == pytest.approx(step.losses["rpn_box"], rel=1e-6)
    model, ckpt_config = load_scene_model(finished.extra["checkpoint_path"])
    assert type(model).__name__ == "FasterRCNN" and ckpt_config["task"] == "detect"
    preview = next(e for e in events if isinstance(e, ScenePreview))
    first = make_scenes(1, config.seed + VALIDATION_SEED_OFFSET, config.frame_width, config.frame_height)[0]
    assert preview.captions[0].endswith(f"\n{len(first.labels)} shapes in the frame")


def test_a_run_without_a_folder_goes_under_the_apps_runs_folder():
    events = _run(SceneConfig(task="segment", **{**TINY, "epochs": 1, "train_frames": 8}), None)
    folder = Path(events[-1].extra["run_folder"])
    assert folder.parent == scene_runs_dir().resolve() and (folder / "best.pt").is_file()


def _stand_in(config, train, val, should_stop):
    """A trainer whose loss is NaN and that then fails: run.json must still say what happened."""
    yield SceneStep(step=1, epoch=0.5, losses={"loss": math.nan}, lr=0.1, samples_per_s=1, eta_s=1, fraction=0.5)
    raise RuntimeError("the stand-in broke")


def test_a_failing_trainer_is_written_down_and_raised(tmp_path):
    out = tmp_path / "failed"
    with pytest.raises(RuntimeError, match="stand-in broke"):
        _run(SceneConfig(task="segment", **TINY), out, trainer=_stand_in)
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and "stand-in broke" in info["message"]
    assert json.loads((out / "metrics.json").read_text())["steps"][0]["loss"] is None  # JSON has no NaN


def test_a_stop_during_scene_making_ends_the_run_stopped_without_training(tmp_path):
    events = _run(SceneConfig(task="segment", **TINY), tmp_path / "stopped", should_stop=lambda: True,
                  trainer=_stand_in)
    assert events[-1].status == "stopped" and events[-1].extra["checkpoint_path"] is None
    assert json.loads((tmp_path / "stopped" / "run.json").read_text())["status"] == "stopped"


def test_a_folder_that_holds_a_run_is_refused(segment_run):
    _, out, _ = segment_run
    with pytest.raises(ValueError, match="already holds a run"):
        _run(SceneConfig(task="segment", **TINY), out)


def test_the_cli_ends_with_one_json_line(tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run([VISIONLAB, "train", "--task", "segment", *QUICK_CLI, "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"task", "metric_name", "metric", "seconds", "checkpoint", "epochs"} <= set(summary)
    assert summary["task"] == "segment" and summary["metric_name"] == "mIoU" and summary["epochs"] == 1
    info = json.loads((out / "run.json").read_text())
    assert summary["metric"] == pytest.approx(info["metric"]) and Path(summary["checkpoint"]).is_file()


@pytest.mark.parametrize("options, message", [
    (["--epochs", "0"], "epochs, batch size and frame counts must be at least 1"),
    (["--data", "digits"], "takes shapes (generated scenes) or a folder"),
    (["--frame-size", "big"], "a frame size looks like 160x120"),
    (["--frame-size", "32x32"], "frames must be at least 64×64 pixels"),
    (["--time-budget", "-5"], "--time-budget must be a positive number"),
    (["--lr", "0"], "the learning rate must be a positive number"),
    (["--task", "track"], "invalid choice: 'track'"),
])
def test_bad_options_are_one_line_and_status_2(tmp_path, capsys, options, message):
    argv = ["--task", "detect", *QUICK_CLI, "--out", str(tmp_path / "run"), *options]
    try:
        status = headless.main(argv)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_under_torchrun_the_scene_tasks_refuse_in_one_sentence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert headless.main(["--task", "segment", *QUICK_CLI, "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == \
        "visionlab train: error: --task segment trains on one process: run it without torchrun"


def test_run_json_best_metric_skips_an_unmeasured_epoch(tmp_path):
    """A diverged first epoch (NaN metric) must not make run.json's best metric null: max() over a NaN depends
    on the order of the list, so the best is the largest measured one (0.4, written by hand below)."""
    def trainer(config, train, val, should_stop):
        yield SceneEpoch(1, math.nan, math.nan, math.nan, config.metric_name)
        yield SceneEpoch(2, 1.0, 1.0, 0.4, config.metric_name)
        yield SceneEpoch(3, 1.0, 1.0, 0.3, config.metric_name)
        yield SceneFinished("finished", "done", 2, 0.4, config.metric_name)

    _run(SceneConfig(task="segment", **TINY), tmp_path / "nan", trainer=trainer)
    assert json.loads((tmp_path / "nan" / "run.json").read_text())["best_metric"] == 0.4
