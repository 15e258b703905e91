"""The live pipeline: same output as calling the model directly, latest-frame-wins, shutdown, recovery."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torchvision

from visionlab.core.camera import pipeline as pipeline_module
from visionlab.core.camera.detectors import TorchDetector
from visionlab.core.camera.overlay import Detections
from visionlab.core.camera.pipeline import CaptureControl, DetectorHolder, Frame, capture_loop, inference_loop
from visionlab.core.camera.sources import FrameSource, SourceError, SyntheticSource
from visionlab.core.camera.stream import ThreadedPipeline
from visionlab.core.latest import LatestSlot


def first_result(pipeline, timeout=30.0):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        result = pipeline.results.get(timeout=0.5)
        if result is not None and result.detections is not None:
            return result
    raise AssertionError(f"no result within {timeout} s; messages: {pipeline.messages}")


def first_result_of(source, detector):
    """The first result a 30 fps pipeline gives for `detector` on `source`, the pipeline stopped again."""
    pipeline = ThreadedPipeline(source, detector, fps=30)
    pipeline.start()
    try:
        return first_result(pipeline)
    finally:
        assert pipeline.stop(timeout=30)  # a busy machine may be mid-way through a slow forward pass


def test_detection_pipeline_equals_a_direct_model_call():
    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    weights = torchvision.models.get_model_weights(name).DEFAULT
    torch.manual_seed(0)
    # box_score_thresh=0 keeps the random-init model's low scores, so there are boxes to compare.
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, box_score_thresh=0.0).eval()
    result = first_result_of(SyntheticSource(320, 240), TorchDetector(name, "detection", model, weights,
                                                                      pretrained=False))
    frame = result.frame.image
    assert np.array_equal(frame, SyntheticSource(320, 240).render(result.frame.index))  # the result's own frame
    with torch.inference_mode():
        expected = model([weights.transforms()(torch.from_numpy(frame).permute(2, 0, 1))])[0]
    assert len(expected["scores"]) > 10
    np.testing.assert_allclose(result.detections.boxes, expected["boxes"].numpy(), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(result.detections.scores, expected["scores"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.detections.labels, expected["labels"].numpy())
    assert result.detections.categories[1] == "person"  # from the weights' metadata
    assert set(result.timings_s) == {"preprocess", "model", "postprocess"}


def test_segmentation_pipeline_equals_a_direct_model_call():
    name = "lraspp_mobilenet_v3_large"
    weights = torchvision.models.get_model_weights(name).DEFAULT
    torch.manual_seed(1)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None).eval()
    result = first_result_of(SyntheticSource(160, 120), TorchDetector(name, "segmentation", model, weights,
                                                                      pretrained=False))
    frame = result.frame.image
    with torch.inference_mode():
        logits = model(weights.transforms()(torch.from_numpy(frame).permute(2, 0, 1)).unsqueeze(0))["out"][0]
    probabilities = logits.softmax(0)
    # The pipeline resizes its maps to the frame; compare at the model's resolution by sampling the
    # centres of the model's output cells (nearest-neighbour resize keeps those exactly).
    height, width = logits.shape[1:]
    rows = ((np.arange(height) + 0.5) * 120 / height).astype(int)
    cols = ((np.arange(width) + 0.5) * 160 / width).astype(int)
    argmax = probabilities.argmax(0).numpy()
    agreement = (result.detections.semantic[np.ix_(rows, cols)] == argmax).mean()
    assert agreement > 0.97, agreement
    assert result.detections.semantic.shape == (120, 160)
    assert abs(result.detections.confidence.mean() - probabilities.max(0).values.mean().item()) < 1e-3


class SlowDetector:
    """A stand-in model that takes `seconds` per frame and finds one box at the frame's index."""

    name, task, categories = "slow", "detection", ("background", "thing")
    device = torch.device("cpu")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def preprocess(self, frame):
        return frame

    def forward(self, frame):
        time.sleep(self.seconds)
        return frame

    def postprocess(self, raw, shape):
        return Detections(self.categories, boxes=np.zeros((1, 4), np.float32), scores=np.ones(1, np.float32),
                          labels=np.ones(1, np.int64))


def test_stale_frames_are_dropped_not_queued():
    pipeline = ThreadedPipeline(SyntheticSource(64, 48, cache_frames=4), SlowDetector(0.1), fps=100)
    pipeline.start()
    indices, ages = [], []
    deadline = time.perf_counter() + 1.5
    while time.perf_counter() < deadline:
        result = pipeline.results.get(timeout=0.2)
        if result is not None and result.detections is not None:
            indices.append(result.frame.index)
            ages.append(result.started - result.frame.timestamp)
    assert pipeline.stop()
    assert len(indices) >= 5
    assert all(b - a >= 5 for a, b in zip(indices, indices[1:], strict=False))  # ~10 captured per inference: skipped
    assert pipeline.frames.dropped >= 30
    assert max(ages) < 0.05  # the newest frame (≤ 2 capture intervals old), never a backlog
    assert pipeline.stats.inference.count == len(indices) or pipeline.stats.inference.count == len(indices) + 1


def test_stop_returns_within_two_seconds_during_inference():
    pipeline = ThreadedPipeline(SyntheticSource(64, 48), SlowDetector(0.5), fps=30)
    pipeline.start()
    time.sleep(0.3)  # mid-way through a forward pass
    started = time.perf_counter()
    assert pipeline.stop(timeout=2.0)
    assert time.perf_counter() - started < 2.0


def test_pause_and_single_step():
    frames, control = LatestSlot(), CaptureControl()
    control.set_paused(True)
    stop_after = time.perf_counter() + 0.4
    control.step()
    capture_loop(SyntheticSource(32, 32), frames, lambda: time.perf_counter() > stop_after, fps=100, control=control)
    assert frames.get_nowait().index == 0 and frames.dropped == 0  # exactly one frame came through


class FlakyCamera(FrameSource):
    """A live source that delivers 3 frames, then fails 2 reopen attempts, then works again."""

    live = True
    fps = None
    description = "Fake camera"

    def __init__(self):
        super().__init__()
        self.reads = 0
        self.opens = 0

    def _open(self):
        self.opens += 1
        if 2 <= self.opens <= 3:
            raise SourceError("Fake camera could not be opened.")

    def _read(self):
        self.reads += 1
        return None if self.reads == 4 else np.full((8, 8, 3), self.reads, np.uint8)


def test_lost_camera_is_retried_with_backoff(monkeypatch):
    monkeypatch.setattr(pipeline_module, "RETRY_DELAYS_S", (0.02, 0.04, 0.08))
    frames, messages, seen = LatestSlot(), [], []

    def should_stop():
        item = frames.get_nowait()
        if item is not None:
            seen.append(int(item.image[0, 0, 0]))
        return len(seen) >= 5

    capture_loop(FlakyCamera(), frames, should_stop, on_message=messages.append)
    assert seen == [1, 2, 3, 5, 6]  # frames flow again after the loss
    assert messages[0] == "Fake camera stopped delivering frames. Retrying in 0.02 s (attempt 1)."
    assert messages[1] == "Fake camera could not be opened. Retrying in 0.04 s (attempt 2)."
    assert messages[2] == "Fake camera could not be opened. Retrying in 0.08 s (attempt 3)."
    assert messages[3] == "Fake camera is back."


class OutOfMemoryOnce(SlowDetector):
    def __init__(self):
        super().__init__(0.0)
        self.device = torch.device("cuda")  # pretends to sit on a GPU

    def to(self, device):
        self.device = torch.device(device)

    def forward(self, frame):
        if self.device.type == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return frame


class Broken(SlowDetector):
    def forward(self, frame):
        raise RuntimeError("shape mismatch")


@pytest.mark.parametrize("detector, message, has_detections", [
    (OutOfMemoryOnce(), "The GPU ran out of memory: the model now runs on the CPU.", True),
    (Broken(0.0), "slow failed on a frame: RuntimeError: shape mismatch", False),
])
def test_inference_failures_become_messages(detector, message, has_detections):
    frames, results, messages = LatestSlot(), LatestSlot(), []
    got = []

    def should_stop():
        if len(got) < 2:
            frames.put(Frame(np.zeros((4, 4, 3), np.uint8), time.perf_counter(), len(got)))
        item = results.get_nowait()
        if item is not None:
            got.append(item)
        return len(got) >= 2

    inference_loop(frames, results, DetectorHolder(detector), should_stop, on_message=messages.append)
    assert messages == [message]
    assert all((item.detections is not None) == has_detections for item in got)
