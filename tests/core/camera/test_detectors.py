"""Building detectors from the weights store (random-init or real file), devices, classical detectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visionlab.core.camera.detectors import build_detector, load_detector, resolve_device
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.weights.store import WeightsStore

NAME = "fasterrcnn_mobilenet_v3_large_320_fpn"


def test_device_choice():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else resolve_device("auto").type)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


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


def test_hog_boxes_come_back_in_full_frame_pixels():
    detector = build_detector("hog_people")
    small, scale = detector.preprocess(np.zeros((480, 800, 3), np.uint8))
    assert small.shape[1] == 400 and scale == 0.5
