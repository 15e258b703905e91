"""Building detectors from the weights store (random-init or real file), devices, classical detectors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from visionlab.core.camera.detectors import build_detector, load_detector, resolve_device
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.weights.store import WeightsStore

NAME = "fasterrcnn_mobilenet_v3_large_320_fpn"


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_device_prefers_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device("cpu") == torch.device("cpu")  # an explicit choice is kept whatever is there
    if not cuda:
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
    if not mps:
        with pytest.raises(ValueError, match="MPS was chosen but it is not available"):
            resolve_device("mps")


def test_store_without_file_gives_random_init_then_the_saved_file_is_used(tmp_path):
    store = WeightsStore(cache_dir=tmp_path)
    progress = []
    untrained = load_detector(NAME, "cpu", store=store, size=(160, 120),
                              progress=lambda f, m: progress.append(m), should_stop=lambda: False)
    assert not untrained.pretrained and untrained.task == "detection"
    assert untrained.categories[1] == "person" and progress[-1] == "ready"
    # A real state dict saved where the store looks: the next build says "pretrained" and uses it.
    torch.save(untrained.model.state_dict(), tmp_path / store.card(NAME).file_name)
    trained = build_detector(NAME, "cpu", store=store)
    assert trained.pretrained
    for key, value in untrained.model.state_dict().items():
        assert torch.equal(value, trained.model.state_dict()[key]), key


def test_classical_detectors_run_without_any_download():
    frame = SyntheticSource(320, 240).render(0)
    for name, category in (("haar_face", "face"), ("hog_people", "person")):
        detector = build_detector(name)
        detections = detector.postprocess(detector.forward(detector.preprocess(frame)), frame.shape)
        assert detections.categories[1] == category
        assert detections.boxes.shape == (len(detections), 4)
        assert ((0 <= detections.scores) & (detections.scores <= 1)).all()


def walking_figure(height=480, width=800, left=262, top=40):
    """A dark human silhouette (head, torso, arms, legs) on a light ground: OpenCV's HOG finds it."""
    image = np.full((height, width, 3), 200, np.uint8)
    dark, cx = (30, 30, 30), left + 78
    cv2.circle(image, (cx, top + 25), 16, dark, -1)
    cv2.rectangle(image, (cx - 24, top + 45), (cx + 24, top + 140), dark, -1)
    for side in (-1, 1):
        cv2.line(image, (cx + side * 24, top + 55), (cx + side * 36, top + 135), dark, 10)
        cv2.line(image, (cx + side * 12, top + 140), (cx + side * 18, top + 240), dark, 16)
    return image, (cx - 36, top + 9, cx + 36, top + 240)  # the figure's own extent, x1 y1 x2 y2


def iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_hog_boxes_come_back_in_full_frame_pixels():
    """The detector runs on a 400 px copy of an 800 px frame; its box must land on the figure in the frame."""
    frame, (fx1, fy1, fx2, fy2) = walking_figure()
    detector = build_detector("hog_people")
    small, scale = detector.preprocess(frame)
    assert small.shape[1] == 400 and scale == 0.5
    detections = detector.postprocess(detector.forward((small, scale)), frame.shape)
    assert len(detections) == 1 and detections.categories[detections.labels[0]] == "person"
    x1, y1, x2, y2 = detections.boxes[0]
    assert x1 <= fx1 and y1 <= fy1 and x2 >= fx2 and y2 >= fy2  # the whole figure is inside the box
    # OpenCV's own HOG on the full-size frame (no shrinking) finds nearly the same box.
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor.getDefaultPeopleDetector())
    rects, _ = hog.detectMultiScale(frame, winStride=(8, 8), padding=(8, 8), scale=1.05)
    (rx, ry, rw, rh), = rects
    assert iou(detections.boxes[0], (rx, ry, rx + rw, ry + rh)) > 0.6


@pytest.mark.parametrize("name", ["hog_people", "haar_face"])
@pytest.mark.parametrize("height, width", [(16, 16), (16, 160), (160, 16)])
def test_classical_detectors_take_the_smallest_images_the_loader_allows(name, height, width):
    detector = build_detector(name)
    frame = np.zeros((height, width, 3), np.uint8)
    detections = detector.postprocess(detector.forward(detector.preprocess(frame)), frame.shape)
    assert len(detections) == 0  # nothing to find, and no OpenCV assertion on every frame

