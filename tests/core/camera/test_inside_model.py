""""Inside Faster R-CNN / FCN": each stage shown equals what torchvision itself computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torchvision.models.detection.image_list import ImageList

from visionlab.core.camera.detectors import TorchDetector
from visionlab.core.camera.inside_model import analyse_rcnn, analyse_segmentation, roi_level, supports_inside
from visionlab.core.camera.sources import SyntheticSource

FRAME = SyntheticSource(320, 240).render(5)


@pytest.fixture(scope="module")
def rcnn():
    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, box_score_thresh=0.0)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return TorchDetector(name, "detection", model, weights, pretrained=False)


def test_stages_match_the_full_forward_pass(rcnn):
    inside = analyse_rcnn(rcnn, FRAME, top_n=20)
    assert supports_inside(rcnn) == "rcnn"
    with torch.inference_mode():
        expected = rcnn.model([rcnn.weights.transforms()(torch.from_numpy(FRAME).permute(2, 0, 1))])[0]
    np.testing.assert_allclose(inside.detections.boxes, expected["boxes"].numpy(), atol=1e-3)
    np.testing.assert_allclose(inside.detections.scores, expected["scores"].numpy(), atol=1e-6)
    assert len(inside.proposals_before) == 20 and len(inside.proposals_after) == 20
    assert len(inside.roi_features) == len(expected["boxes"]) and inside.roi_features.shape[1:] == (7, 7)
    assert [level.name for level in inside.levels] == ["0", "1", "pool"]
    assert inside.scale == pytest.approx((320 / 240, 427 / 320), rel=1e-2)  # min_size 320


def test_anchors_at_a_click_are_torchvision_anchors(rcnn):
    inside = analyse_rcnn(rcnn, FRAME, top_n=5)
    generator = rcnn.model.rpn.anchor_generator
    sy, sx = inside.scale
    padded = (320, 448)
    feature_maps = [torch.zeros(1, 1, *level.size) for level in inside.levels]
    all_anchors = generator(ImageList(torch.zeros(1, 3, *padded), [(320, 427)]), feature_maps)[0].numpy()
    x, y = 200.0, 100.0
    offset = 0
    for (_name, anchors), level in zip(inside.anchors_at(x, y), inside.levels, strict=True):
        assert anchors.shape == (15, 4)  # 5 sizes × 3 aspect ratios
        h, w = level.size
        row, col = int(y * sy // level.stride[0]), int(x * sx // level.stride[1])
        start = offset + (row * w + col) * 15
        np.testing.assert_allclose(anchors * [sx, sy, sx, sy], all_anchors[start:start + 15], rtol=1e-5, atol=1e-3)
        offset += h * w * 15
    assert offset == len(all_anchors)


def test_roi_level_formula_matches_torchvision():
    from torchvision.ops.poolers import initLevelMapper

    mapper = initLevelMapper(2, 5, canonical_scale=224, canonical_level=4)
    boxes = torch.tensor([[0, 0, 20, 20], [0, 0, 112, 112], [0, 0, 224, 224], [0, 0, 500, 300],
                          [10, 10, 11, 500]], dtype=torch.float32)
    expected = (mapper([boxes]) + 2).tolist()
    assert [roi_level(box, 2, 5) for box in boxes.numpy()] == expected


def test_segmentation_maps_are_softmax_argmax_and_confidence():
    name = "lraspp_mobilenet_v3_large"
    torch.manual_seed(2)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    detector = TorchDetector(name, "segmentation", model, weights, pretrained=False)
    inside = analyse_segmentation(detector, FRAME)
    with torch.inference_mode():
        logits = model(weights.transforms()(torch.from_numpy(FRAME).permute(2, 0, 1)).unsqueeze(0))["out"][0]
    probabilities = torch.softmax(logits, 0).numpy()
    np.testing.assert_allclose(inside.probabilities, probabilities, atol=1e-6)
    np.testing.assert_array_equal(inside.argmax, probabilities.argmax(0))
    np.testing.assert_allclose(inside.confidence, probabilities.max(0), atol=1e-6)
    assert inside.classes_by_area()[0] == np.bincount(inside.argmax.ravel()).argmax()
    assert supports_inside(detector) == "segmentation"
