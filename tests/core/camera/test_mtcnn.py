"""MTCNN faces on real photos with the real weights facenet-pytorch ships (no download)."""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from face_photo import FACE_BY_EYE, SAMPLES, iou

from visionlab.core.camera import mtcnn
from visionlab.core.camera.detectors import CPU_DEFAULTS, build_detector, default_model
from visionlab.core.images import load_image

needs_weights = pytest.mark.skipif(not mtcnn.is_available(), reason=mtcnn.MISSING)


@pytest.fixture(scope="module")
def detector():
    if not mtcnn.is_available():
        pytest.skip(mtcnn.MISSING)
    return build_detector(mtcnn.NAME, "cpu")


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return load_image(SAMPLES / "astronaut.png")


@needs_weights
def test_the_astronaut_has_exactly_one_face_where_the_eye_puts_it(detector, astronaut):
    run = detector.detect(astronaut)
    assert len(run.boxes) == 1, f"expected one face, got {len(run.boxes)}: {run.boxes}"
    box = run.boxes[0]
    assert iou(box, FACE_BY_EYE) >= 0.6
    assert run.scores[0] > 0.99
    points = run.landmarks[0]  # left eye, right eye, nose, left and right mouth corner (image left / right)
    assert ((points[:, 0] > box[0]) & (points[:, 0] < box[2]) & (points[:, 1] > box[1]) & (points[:, 1] < box[3])).all()
    eyes, mouth = points[:2], points[3:]
    assert eyes[:, 1].max() < mouth[:, 1].min()  # the eyes are above the mouth
    assert eyes[0, 0] < eyes[1, 0] and mouth[0, 0] < mouth[1, 0]
    assert abs(eyes[:, 1].mean() - 79) < 8 and abs(mouth[:, 1].mean() - 114) < 8


@needs_weights
@pytest.mark.parametrize("photo", ["flower.jpg", "china.jpg"])
def test_photos_without_people_have_no_face(detector, photo):
    run = detector.detect(load_image(SAMPLES / photo))
    assert len(run.boxes) == 0 and run.counts["onet"] == 0
    assert run.counts["pnet"] > 0  # P-Net did propose windows: the later nets rejected them


@needs_weights
def test_half_the_size_gives_the_same_face_at_half_the_coordinates(detector, astronaut):
    full = detector.detect(astronaut).boxes
    half = cv2.resize(astronaut, (astronaut.shape[1] // 2, astronaut.shape[0] // 2), interpolation=cv2.INTER_AREA)
    small = detector.detect(half).boxes
    assert len(full) == len(small) == 1
    assert iou(small[0] * 2, full[0]) >= 0.7


@needs_weights
def test_each_stage_keeps_fewer_boxes_and_the_maps_have_pnets_closed_form_size(detector, astronaut):
    run = detector.detect(astronaut)
    counts = run.counts
    assert counts["pnet"] >= counts["pnet_nms"] >= counts["rnet"] >= counts["onet"] == len(run.boxes)
    assert set(run.milliseconds) == {"pyramid", "pnet", "nms", "rnet", "onet"}
    # The pyramid: 12 / min_face, then × 0.709 until the shorter side is under 12 pixels.
    expected = [12 / 20 * 0.709 ** k for k in range(20) if 400 * 12 / 20 * 0.709 ** k >= 12]
    assert np.allclose(run.scales, expected)
    for (height, width), probability in zip(run.scaled_sizes, run.probability_maps, strict=True):
        # conv 3×3 → max-pool 2 (ceil) → conv 3×3 → conv 3×3
        assert probability.shape == (math.ceil((height - 2) / 2) - 4, math.ceil((width - 2) / 2) - 4)
        assert probability.min() >= 0 and probability.max() <= 1
    assert detector.last_run is not None and detector.last_run.counts == counts


@pytest.fixture
def reference(monkeypatch):
    """facenet-pytorch's own MTCNN code, loaded from its files without its package __init__ (which imports
    the face-recognition and download code, and needs `requests`)."""
    spec = importlib.util.find_spec(mtcnn.PACKAGE)
    if spec is None:
        pytest.skip(mtcnn.MISSING)
    root = Path(next(iter(spec.submodule_search_locations)))
    for name, folder in ((mtcnn.PACKAGE, root), (f"{mtcnn.PACKAGE}.models", root / "models"),
                         (f"{mtcnn.PACKAGE}.models.utils", root / "models" / "utils")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__spec__ = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                                  submodule_search_locations=[str(folder)])
        monkeypatch.setitem(sys.modules, name, package)
    for name in (f"{mtcnn.PACKAGE}.models.mtcnn", f"{mtcnn.PACKAGE}.models.utils.detect_face"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        return importlib.import_module(f"{mtcnn.PACKAGE}.models.mtcnn")
    except Exception as exc:
        pytest.skip(f"facenet-pytorch's MTCNN code does not import here: {exc}")


@needs_weights
def test_our_nets_compute_what_facenet_pytorchs_own_nets_compute(reference, astronaut):
    batch = torch.from_numpy(astronaut.copy()).permute(2, 0, 1)[None].float().sub(127.5).mul(0.0078125)
    crops24, crops48 = torch.nn.functional.interpolate(batch, (24, 24), mode="area"), \
        torch.nn.functional.interpolate(batch, (48, 48), mode="area")
    with torch.no_grad():
        for ours, theirs, inputs in ((mtcnn.load_net("pnet"), reference.PNet(), batch),
                                     (mtcnn.load_net("rnet"), reference.RNet(), crops24),
                                     (mtcnn.load_net("onet"), reference.ONet(), crops48)):
            for mine, other in zip(ours(inputs), theirs.eval()(inputs), strict=True):
                torch.testing.assert_close(mine, other)


@needs_weights
def test_the_whole_cascade_finds_the_face_facenet_pytorch_finds(reference, detector, astronaut):
    frame = cv2.resize(astronaut, (640, 480))
    boxes, _probabilities = reference.MTCNN(keep_all=True, device="cpu").detect(frame)
    ours = detector.detect(frame).boxes
    assert len(ours) == len(boxes) == 1
    assert iou(ours[0], boxes[0]) >= 0.9


def test_without_the_package_mtcnn_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == mtcnn.PACKAGE else real(name, *a))
    assert not mtcnn.is_available()
    assert default_model() == CPU_DEFAULTS["detection"]
    with pytest.raises(mtcnn.MTCNNUnavailable, match="pip install --no-deps facenet-pytorch==2.6.0"):
        build_detector(mtcnn.NAME, "cpu")


@needs_weights
def test_feature_maps_opens_the_three_nets_with_their_learned_filters(astronaut):
    from visionlab.core.features.viewer import model_input, open_model

    folder = mtcnn.weights_folder()
    for name, net, side in (("mtcnn_pnet", "pnet", 224), ("mtcnn_rnet", "rnet", 24), ("mtcnn_onet", "onet", 48)):
        opened = open_model(name)
        loaded = opened.loaded
        stored = torch.load(folder / f"{net}.pt", weights_only=True)
        assert torch.equal(loaded.model.get_submodule("conv1").weight, stored["conv1.weight"])
        assert loaded.pretrained and loaded.input_shape == (3, side, side) and loaded.categories == ["no face", "face"]
    # P-Net on the picture the viewer feeds it: its answer is P-Net's most face-like window.
    opened = open_model("mtcnn_pnet")
    _shown, batch = model_input(opened.loaded, astronaut)
    with torch.no_grad():
        answer = opened.loaded.model(batch).exp()[0]
        _offsets, probabilities = mtcnn.load_net("pnet")(batch)
    assert float(answer[1]) == pytest.approx(float(probabilities[0, 1].max()), abs=1e-5)
    assert float(answer.sum()) == pytest.approx(1.0, abs=1e-5)
    # P-Net's output cell sees 12×12 pixels, 2 apart (3×3 conv, 2×2 pool, two 3×3 convs), traced, not assumed.
    assert opened.summary.exact_fields
    head = opened.summary.by_name["conv4_1"].field
    assert head.size == (12.0, 12.0) and head.jump == (2.0, 2.0)
