"""detection_map (pycocotools' COCOeval in memory) on cases whose AP is derived by hand.

COCO interpolates precision at the 101 recall points 0, 0.01, ..., 1 (precision at a point = the best precision
at any recall ≥ it, 0 beyond the highest recall reached). Which detections match is checked independently with
torchvision.ops.box_iou, so the hand value rests on the IoU, not on the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from visionlab.core.training.scenes.detect_metrics import FrameBoxes, detection_map

CLASS_NAMES = ("circle", "rectangle", "triangle")


def _truths() -> list[FrameBoxes]:
    """Two frames, four objects of class 1 (circle) and two of class 2 (rectangle)."""
    return [
        FrameBoxes(np.array([[10, 10, 40, 40], [60, 20, 100, 50], [110, 70, 150, 110]], np.float32),
                   np.array([1, 1, 2])),
        FrameBoxes(np.array([[5, 60, 35, 100], [70, 5, 90, 45], [100, 30, 150, 80]], np.float32),
                   np.array([1, 1, 2])),
    ]


def _max_iou(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return box_iou(torch.as_tensor(found), torch.as_tensor(truth)).max(dim=1).values.numpy()


def test_perfect_detections_score_one() -> None:
    truths = _truths()
    found = [FrameBoxes(t.boxes.copy(), t.labels.copy(), np.linspace(0.9, 0.5, len(t.labels))) for t in truths]
    score = detection_map(truths, found, CLASS_NAMES)
    assert score.map50 == pytest.approx(1.0)
    assert score.map50_95 == pytest.approx(1.0)
    assert score.per_class_ap50 == pytest.approx({"circle": 1.0, "rectangle": 1.0})  # no triangle: not averaged


def test_boxes_shifted_below_half_iou_score_zero() -> None:
    truths = _truths()
    found = []
    for truth in truths:
        widths = truth.boxes[:, 2] - truth.boxes[:, 0]
        shifted = truth.boxes.copy()
        shifted[:, [0, 2]] += (0.4 * widths)[:, None]  # same size, moved 40 % of its width: IoU 0.6 / 1.4
        found.append(FrameBoxes(shifted, truth.labels.copy(), np.full(len(truth.labels), 0.9)))
        assert (_max_iou(shifted, truth.boxes) < 0.5).all()
    assert detection_map(truths, found, CLASS_NAMES).map50 == 0.0


def test_half_the_objects_found_with_the_right_class() -> None:
    # Each class: half its objects found exactly, no false positives -> precision 1 up to recall 0.5 and 0
    # after it; the recall points 0.00 .. 0.50 are 51 of 101, so AP = 51 / 101 for both classes.
    truths = _truths()
    keep = [np.array([0, 2]), np.array([0])]  # circles: one per frame (2 of 4); rectangles: 1 of 2
    found = [FrameBoxes(t.boxes[k], t.labels[k], np.full(len(k), 0.8)) for t, k in zip(truths, keep, strict=True)]
    for truth, detected in zip(truths, found, strict=True):
        assert (_max_iou(detected.boxes, truth.boxes) >= 0.5).all()
    found_per_class = {1: 2, 2: 1}
    total_per_class = {1: 4, 2: 2}
    expected = np.mean([(found_per_class[c] / total_per_class[c] * 100 + 1) / 101 for c in (1, 2)])
    assert expected == pytest.approx(51 / 101)
    assert detection_map(truths, found, CLASS_NAMES).map50 == pytest.approx(expected, abs=1e-9)


def test_a_false_positive_between_two_hits() -> None:
    # Circles only, ranked: hit (0.9), miss far from any circle (0.8), hit (0.7); 4 circles in all.
    # Precision/recall after each: 1/1 at 0.25, 1/2 at 0.25, 2/3 at 0.5. Interpolated: 1 for recall ≤ 0.25
    # (26 points), 2/3 for 0.26 .. 0.50 (25 points): AP = (26 + 25 * 2/3) / 101.
    truths = [FrameBoxes(t.boxes[t.labels == 1], t.labels[t.labels == 1]) for t in _truths()]
    false_box = np.array([[120, 0, 150, 25]], np.float32)
    assert _max_iou(false_box, np.concatenate([t.boxes for t in truths])).max() < 0.5
    found = [FrameBoxes(np.concatenate([truths[0].boxes[:1], false_box]), np.array([1, 1]), np.array([0.9, 0.8])),
             FrameBoxes(truths[1].boxes[:1], np.array([1]), np.array([0.7]))]
    assert detection_map(truths, found, CLASS_NAMES).map50 == pytest.approx((26 + 25 * 2 / 3) / 101, abs=1e-9)


def test_right_box_wrong_class_and_no_detections_score_zero() -> None:
    truths = _truths()
    swapped = [FrameBoxes(t.boxes.copy(), 3 - t.labels, np.full(len(t.labels), 0.9)) for t in truths]
    assert detection_map(truths, swapped, CLASS_NAMES).map50 == 0.0
    empty = [FrameBoxes(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0)) for _ in truths]
    assert detection_map(truths, empty, CLASS_NAMES).map50 == 0.0
