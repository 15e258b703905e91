"""train_detector's events on a few seconds of training with a tiny detector: the loss falls, the budget and the
stop button end the run, and the checkpoint rebuilds the very model that was scored."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from visionlab.core.shapes.scenes import CLASSES, make_scenes
from visionlab.core.training.scenes.checkpoint import load_scene_model, save_scene_checkpoint
from visionlab.core.training.scenes.detect import build_detector_model, predict_frames, train_detector
from visionlab.core.training.scenes.detect_metrics import FrameBoxes, detection_map
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished, SceneStep

PARTS = {"rpn_objectness", "rpn_box", "classifier", "box_regression"}


@pytest.fixture(scope="module")
def scenes() -> tuple[list, list]:
    return make_scenes(32, seed=3), make_scenes(8, seed=1_000_006)


def _config(**changes) -> SceneConfig:
    values = {"task": "detect", "epochs": 6, "batch_size": 8, "lr": 3e-3, "width": 8, "train_frames": 32,
              "val_frames": 8, "threads": 1}
    return SceneConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def short_run(scenes: tuple[list, list]) -> list:
    torch.manual_seed(0)
    return list(train_detector(_config(), *scenes))


def test_a_short_training_lowers_the_loss(short_run: list) -> None:
    steps = [event for event in short_run if isinstance(event, SceneStep)]
    epochs = [event for event in short_run if isinstance(event, SceneEpoch)]
    assert len(steps) == 6 * 4 and len(epochs) == 6
    for step in steps:
        assert set(step.losses) == {"loss", *PARTS}
        assert all(math.isfinite(value) for value in step.losses.values())
        # The total is what was minimized: torchvision's four parts, summed.
        assert step.losses["loss"] == pytest.approx(sum(step.losses[name] for name in PARTS), rel=1e-5)
    assert epochs[-1].train_loss < 0.8 * epochs[0].train_loss
    assert set(epochs[-1].losses) == {"loss", *PARTS}
    assert all(0.0 <= epoch.metric <= 1.0 and epoch.metric_name == "mAP@0.5" for epoch in epochs)
    assert all(math.isfinite(epoch.val_loss) for epoch in epochs)
    finished = short_run[-1]
    assert isinstance(finished, SceneFinished) and finished.status == "finished"
    assert finished.metric == max(epoch.metric for epoch in epochs)


def test_the_checkpoint_rebuilds_the_same_detector(short_run: list, scenes: tuple[list, list], tmp_path) -> None:
    finished = short_run[-1]
    config = finished.checkpoint["config"]
    assert config["task"] == "detect" and config["model"]["name"] == "fasterrcnn"
    assert config["class_names"][0] == "background" and config["input_shape"] == [3, 120, 160]
    path = tmp_path / "detector.pt"
    save_scene_checkpoint(path, finished.checkpoint["state_dict"], config)
    rebuilt, _ = load_scene_model(path)

    # The model the trainer scored: the same builder, loaded with the payload's weights in memory.
    original = build_detector_model(config["model"], len(config["class_names"]))
    original.load_state_dict(finished.checkpoint["state_dict"])
    frame = torch.from_numpy(scenes[1][0].image).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        expected, got = original.eval()([frame])[0], rebuilt([frame])[0]
    assert len(expected["boxes"]) > 0
    for key in ("boxes", "labels", "scores"):
        torch.testing.assert_close(got[key], expected[key])
    # And it is the epoch the run called best: the rebuilt model scores that epoch's mAP on the same frames.
    val = scenes[1]
    images = torch.from_numpy(np.stack([scene.image for scene in val])).permute(0, 3, 1, 2)
    truths = [FrameBoxes(scene.boxes, scene.labels) for scene in val]
    score = detection_map(truths, predict_frames(rebuilt, images, torch.device("cpu")), CLASSES)
    assert score.map50 == pytest.approx(finished.metric, abs=1e-9)


def test_the_time_budget_stops_the_run_and_scores_it(scenes: tuple[list, list]) -> None:
    events = list(train_detector(_config(epochs=1000, time_budget_s=1.5), *scenes))
    finished = events[-1]
    assert finished.status == "time budget"
    steps = [event for event in events if isinstance(event, SceneStep)]
    assert 0 < len(steps) < 1000 * 4
    assert finished.checkpoint is not None  # the cut epoch was scored
    assert finished.seconds < 30


def test_the_stop_button_ends_the_run(scenes: tuple[list, list]) -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    events = list(train_detector(_config(epochs=50), *scenes, should_stop=should_stop))
    assert events[-1].status == "stopped"
    assert sum(isinstance(event, SceneStep) for event in events) == 3


def test_a_runaway_learning_rate_reports_divergence(scenes: tuple[list, list]) -> None:
    events = list(train_detector(_config(lr=1e30), *scenes))
    assert events[-1].status == "diverged"
    assert "learning rate" in events[-1].message
