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
        assert anchors.shape == (15, 4)  # 5 sizes × 3 aspect ratios on every level of the mobilenet model
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


def test_counts_follow_torchvisions_own_rpn(monkeypatch):
    """anchors -> before NMS -> after NMS -> detections, each counted by torchvision's own code path."""
    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    torch.manual_seed(3)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, box_score_thresh=0.0)
    # An untrained RPN head scores every anchor 0.5 exactly here (zero features, zero bias); spread the scores so
    # the score filter and the NMS have something to choose between.
    torch.nn.init.normal_(model.rpn.head.cls_logits.bias, std=2.0)  # its features are all zero here
    rcnn = TorchDetector(name, "detection", model, torchvision.models.get_model_weights(name).DEFAULT,
                         pretrained=False)
    from torchvision.ops import boxes as box_ops

    seen = {}
    original = box_ops.batched_nms

    def counting_nms(boxes, scores, idxs, iou_threshold):
        seen.setdefault("nms_inputs", len(boxes))  # the RPN's NMS runs first, then the box head's
        return original(boxes, scores, idxs, iou_threshold)

    # A stricter objectness threshold than torchvision's 0.0, so that filter step has something to remove.
    plain = analyse_rcnn(rcnn, FRAME, top_n=5)
    strict = float(np.quantile(np.concatenate([level.objectness.ravel() for level in plain.levels]), 0.9))
    model.rpn.score_thresh = strict
    inside = analyse_rcnn(rcnn, FRAME, top_n=5)
    monkeypatch.setattr(box_ops, "batched_nms", counting_nms)
    with torch.inference_mode():
        images, _ = model.transform([rcnn.preprocess(FRAME)])
        features = model.backbone(images.tensors)
        anchors = model.rpn.anchor_generator(images, list(features.values()))[0]
        proposals, _ = model.rpn(images, features)
        detections = model([rcnn.preprocess(FRAME)])
    counts = inside.counts
    assert counts.anchors == len(anchors) == sum(level.anchor_count for level in inside.levels)
    assert counts.before_nms == seen["nms_inputs"]
    assert counts.after_nms == len(proposals[0]) <= counts.post_nms_top_n
    assert counts.detections == len(inside.detections) == len(detections[0]["boxes"])
    assert counts.anchors > counts.top_per_level > counts.before_nms > counts.after_nms


def test_anchor_text_reads_the_anchor_generator(rcnn):
    from visionlab.core.camera.inside_model import anchor_lines

    inside = analyse_rcnn(rcnn, FRAME, top_n=5)
    generator = rcnn.model.rpn.anchor_generator
    lines = anchor_lines(inside)
    assert len(generator.sizes) == len(inside.levels) == 3
    for line, sizes, ratios in zip(lines, generator.sizes, generator.aspect_ratios, strict=False):
        assert f"= {len(sizes) * len(ratios)} per cell" in line  # 5 sizes × 3 ratios on the mobilenet model
    assert any("same resolution" in line for line in lines)  # levels 0 and 1 share stride 32
    assert not any("one size per level" in line for line in lines)


def test_r50_fpn_has_one_size_per_level_and_a_rounded_pool_stride():
    """R50-FPN: 3 anchors per cell on 5 levels; at 800 px the pool level's stride is 800 // 13 = 61."""
    from visionlab.core.camera.inside_model import RCNNInside, RPNLevel, anchor_lines

    generator = torchvision.models.detection.faster_rcnn._default_anchorgen()
    padded = (800, 1088)
    sizes = [(200, 272), (100, 136), (50, 68), (25, 34), (13, 17)]  # ResNet C2..C5 at 800×1088, then pool
    feature_maps = [torch.zeros(1, 1, *size) for size in sizes]
    anchors = generator(ImageList(torch.zeros(1, 3, *padded), [padded]), feature_maps)[0]
    levels = [RPNLevel(name, (padded[0] // h, padded[1] // w), (h, w), generator.cell_anchors[i].numpy(),
                       np.zeros((h, w)), tuple(generator.sizes[i]), tuple(generator.aspect_ratios[i]))
              for i, (name, (h, w)) in enumerate(zip(["0", "1", "2", "3", "pool"], sizes, strict=True))]
    inside = RCNNInside(np.zeros((800, 1088, 3), np.uint8), (1.0, 1.0), levels, np.zeros((0, 4)),
                        np.zeros((0, 4)), None, np.zeros((0, 7, 7)), np.zeros(0), padded=padded)
    lines = anchor_lines(inside)
    assert sum(level.anchor_count for level in levels) == len(anchors)
    assert all("= 3 per cell" in line for line in lines[:5])
    assert any("one size per level" in line for line in lines)
    assert "800//13 = 61" in lines[-1] and "64×64 px apart" in lines[-1]
