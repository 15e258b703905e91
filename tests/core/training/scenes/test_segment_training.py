"""The FCN's training generator on real generated scenes, trained for seconds: it learns, it obeys its time
budget and Stop, and its checkpoint rebuilds the same model."""

import time

import numpy as np
import pytest
import torch
from sklearn.metrics import jaccard_score

from visionlab.core.shapes.scenes import make_scenes
from visionlab.core.training.checkpoint import CheckpointError, save_checkpoint
from visionlab.core.training.models import ModelSpec, build_model
from visionlab.core.training.scenes.checkpoint import load_scene_model, save_scene_checkpoint
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished, SceneStep
from visionlab.core.training.scenes.scene_data import normalize_batch
from visionlab.core.training.scenes.segment import build_segmenter, train_segmenter

SIZE = {"width": 96, "height": 72}
TINY_MODEL = {"name": "fcn", "width": 12, "levels": 3, "skips": 2}


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads():
    """The configs ask for 1 thread (fastest on a shared 2-core machine); give later tests torch's setting back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(64, seed=5, **SIZE), make_scenes(24, seed=6, **SIZE)


def _config(**changes) -> SceneConfig:
    values = dict(task="segment", epochs=40, batch_size=8, lr=1e-2, width=12, frame_width=96, frame_height=72,
                  train_frames=64, val_frames=24, seed=0, threads=1)
    values.update(changes)
    return SceneConfig(**values)


@pytest.fixture(scope="module")
def trained(scenes):
    torch.manual_seed(0)
    events = list(train_segmenter(_config(), *scenes, model_config=TINY_MODEL))
    return events


def test_training_lowers_the_loss_and_beats_predicting_background(trained, scenes):
    epochs = [e for e in trained if isinstance(e, SceneEpoch)]
    finished = trained[-1]
    assert isinstance(finished, SceneFinished) and finished.status == "finished", finished.message
    assert any(isinstance(e, SceneStep) for e in trained)
    assert epochs[-1].train_loss < 0.7 * epochs[0].train_loss

    # Independent check of the best epoch's model: its mIoU (sklearn, classes present in target or prediction)
    # against that of a constant "background everywhere" prediction on the same validation frames.
    model = build_segmenter(finished.checkpoint["config"]["model"], 6)
    model.load_state_dict(finished.checkpoint["state_dict"])
    model.eval()
    val = scenes[1]
    images = torch.from_numpy(np.stack([s.image for s in val]).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        pred = model(normalize_batch(images))["out"].argmax(1).numpy().ravel()
    target = np.stack([s.semantic() for s in val]).ravel()
    constant = np.zeros_like(target)

    def sk_miou(prediction):
        labels = np.union1d(np.unique(target), np.unique(prediction))
        return jaccard_score(target, prediction, labels=labels, average="macro")

    assert sk_miou(pred) == pytest.approx(finished.metric, abs=1e-3)  # the reported metric is the real one
    assert sk_miou(pred) > sk_miou(constant) + 0.08, (sk_miou(pred), sk_miou(constant))


def test_the_time_budget_stops_training(scenes):
    started = time.perf_counter()
    events = list(train_segmenter(_config(epochs=1000, time_budget_s=1.0), *scenes, model_config=TINY_MODEL))
    assert time.perf_counter() - started < 8  # 1 s of steps plus the validations it ran through
    finished = events[-1]
    assert finished.status == "time budget" and finished.checkpoint is not None
    assert sum(isinstance(e, SceneEpoch) for e in events) < 1000


def test_stop_ends_training_and_a_nan_loss_is_reported_as_diverged(scenes):
    calls = []
    stopped = list(train_segmenter(_config(), *scenes, should_stop=lambda: calls.append(1) or len(calls) > 3,
                                   model_config=TINY_MODEL))
    assert stopped[-1].status == "stopped" and stopped[-1].extra["steps"] == 3
    diverged = list(train_segmenter(_config(lr=1e30), *scenes, model_config=TINY_MODEL))
    assert diverged[-1].status == "diverged", diverged[-1].message


def test_checkpoint_round_trip_gives_the_same_logits(trained, tmp_path):
    finished = trained[-1]
    path = tmp_path / "fcn.pt"
    save_scene_checkpoint(path, finished.checkpoint["state_dict"], finished.checkpoint["config"], {"miou": 0.5})
    raw = torch.load(path, weights_only=True)  # the safe loader opens it
    assert raw["config"]["task"] == "segment" and raw["config"]["class_names"][0] == "background"
    assert raw["config"]["input_shape"] == [3, 72, 96]

    model, config = load_scene_model(path)
    reference = build_segmenter(TINY_MODEL, 6)
    reference.load_state_dict(finished.checkpoint["state_dict"])
    reference.eval()
    x = torch.randn(2, 3, 72, 96)
    with torch.no_grad():
        torch.testing.assert_close(model(x)["out"], reference(x)["out"], rtol=0, atol=0)
    assert not model.training and config["model"]["name"] == "fcn"


def test_load_scene_model_refuses_a_classification_checkpoint(tmp_path):
    spec = ModelSpec(name="LeNet-5", width=4, depth=2)
    path = tmp_path / "digits.pt"
    save_checkpoint(path, build_model(spec, (1, 8, 8), 10),
                    {"model": spec.to_dict(), "input_shape": [1, 8, 8], "class_names": [str(i) for i in range(10)]})
    with pytest.raises(CheckpointError, match="classification checkpoint") as caught:
        load_scene_model(path)
    assert "\n" not in str(caught.value) and str(caught.value).endswith("model")

    unknown = tmp_path / "pose.pt"
    save_checkpoint(unknown, build_model(spec, (1, 8, 8), 10),
                    {"task": "pose", "model": {}, "input_shape": [3, 8, 8], "class_names": ["a", "b"]})
    with pytest.raises(CheckpointError, match="'pose'"):
        load_scene_model(unknown)
