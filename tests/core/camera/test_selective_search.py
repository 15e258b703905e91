"""R-CNN's selective search beside the RPN: OpenCV's contrib build, boxes in frame pixels, recall counted
against closed-form IoUs, and the RPN's proposals equal to what the model's own RPN returns."""

from __future__ import annotations

import cv2
import cv2.data
import numpy as np
import pytest
import torch
from random_models import random_rcnn

from visionlab.core.camera.detectors import HaarFaceDetector
from visionlab.core.camera.inside_model import analyse_rcnn
from visionlab.core.camera.proposals import propose, rpn_note, run_rpn
from visionlab.core.camera.selective_search import (
    SelectiveSearchError,
    compare_proposals,
    selective_search,
)
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.errors import UserError

# Three solid rectangles on a flat grey frame: where selective search must find them, written by hand.
RECTANGLES = np.array([[60, 80, 220, 200], [300, 40, 420, 300], [460, 320, 600, 440]], np.float32)
COLOURS = ((220, 40, 40), (40, 180, 60), (40, 80, 230))


def rectangles_frame() -> np.ndarray:
    frame = np.full((480, 640, 3), 128, np.uint8)
    for (x1, y1, x2, y2), colour in zip(RECTANGLES.astype(int), COLOURS, strict=True):
        frame[y1:y2, x1:x2] = colour
    return frame


def iou(a, b) -> float:
    """Intersection over union of two x1 y1 x2 y2 boxes, by hand (the reference for torchvision's box_iou)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_the_contrib_build_still_has_the_haar_and_hog_detectors():
    """opencv-contrib replaces opencv-python-headless: the classical detectors' data must come with it."""
    assert hasattr(cv2.ximgproc, "segmentation")
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert not cascade.empty()
    people = cv2.HOGDescriptor_getDefaultPeopleDetector()
    assert people.size == cv2.HOGDescriptor().getDescriptorSize() + 1  # the linear SVM's weights and its bias


def test_selective_search_finds_the_rectangles_in_frame_pixels():
    result = selective_search(rectangles_frame(), "fast", max_side=320)
    boxes, seconds = result  # unpacks as (boxes, seconds)
    assert result.scale == 0.5 and result.searched_size == (320, 240) and seconds > 0
    assert boxes.dtype == np.float32 and boxes.shape[1] == 4 and len(boxes) > 3
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert boxes.min() >= 0 and boxes[:, 2].max() <= 640 and boxes[:, 3].max() <= 480
    for rectangle in RECTANGLES:  # each one found tightly, back at full resolution
        assert max(iou(rectangle, box) for box in boxes) > 0.9


def test_a_small_frame_is_searched_as_it_is():
    frame = rectangles_frame()[::4, ::4].copy()  # 160×120: under max_side, no resize
    result = selective_search(frame, "quality", max_side=320)
    assert result.scale == 1.0 and result.searched_size == (160, 120) and result.mode == "quality"
    for rectangle in RECTANGLES / 4:
        assert max(iou(rectangle, box) for box in result.boxes) > 0.9


def test_bad_requests_are_one_sentence_for_the_student(monkeypatch):
    with pytest.raises(UserError, match="'fast' and 'quality'"):
        selective_search(rectangles_frame(), "slow")
    monkeypatch.delattr(cv2, "ximgproc")
    with pytest.raises(SelectiveSearchError, match="opencv-contrib-python-headless"):
        selective_search(rectangles_frame())


def test_recall_counts_reference_boxes_found_at_iou_one_half():
    rng = np.random.default_rng(3)
    corners = rng.uniform(0, 300, (40, 2))
    sizes = rng.uniform(20, 120, (40, 2))
    proposals = np.concatenate([corners, corners + sizes], 1).astype(np.float32)
    references = np.concatenate([corners[:6] + rng.uniform(-30, 30, (6, 2)), corners[:6] + sizes[:6]], 1)
    references = np.vstack([references, [[0, 0, 10, 10]]]).astype(np.float32)  # a tiny box nobody covers
    exact = np.array([[0, 0, 10, 5]], np.float32)  # IoU exactly 0.5 with the tiny box: counts as found
    comparison = compare_proposals(np.zeros((480, 640, 3), np.uint8), proposals, exact, references,
                                   ss_seconds=0.4, rpn_seconds=0.01)
    best = [max(iou(reference, box) for box in proposals) for reference in references]
    stats = comparison.selective_search
    np.testing.assert_allclose(stats.best_iou, best, rtol=1e-5)
    assert stats.best_index.tolist() == [int(np.argmax([iou(r, box) for box in proposals])) for r in references]
    assert stats.recall == pytest.approx(sum(b >= 0.5 for b in best) / len(references))
    assert 0 < stats.found < len(references) and stats.count == 40 and stats.seconds == 0.4
    assert comparison.rpn.found == 1 and comparison.references == 7 and comparison.frame_size == (640, 480)
    assert compare_proposals(np.zeros((8, 8, 3)), proposals, None).selective_search.recall is None


@pytest.fixture(scope="module")
def rcnn():
    return random_rcnn()


def test_the_rpn_column_is_the_models_own_rpn(rcnn):
    frame = SyntheticSource(320, 240).render(7)
    run = run_rpn(rcnn, frame)
    inside = analyse_rcnn(rcnn, frame, top_n=10_000)  # "Inside the model": tested against the full forward pass
    np.testing.assert_allclose(run.boxes, inside.proposals_after, atol=1e-3)
    assert len(run.boxes) == inside.counts.after_nms and run.rpn_seconds > 0 and run.backbone_seconds > 0
    assert list(run.features) == ["0", "1"] and run.spatial_scales == {"0": 1 / 32, "1": 1 / 32}
    with torch.inference_mode():
        features = rcnn.model.backbone(torch.zeros(1, 3, 320, 448))
    assert run.features["0"].shape == features["0"][0].shape


def test_propose_says_why_with_the_measured_numbers(rcnn):
    frame = rectangles_frame()
    run = propose(rcnn, frame, RECTANGLES, max_side=200)
    boxes, milliseconds = len(run.search.boxes), 1000 * run.search.seconds
    assert f"{boxes:,} boxes in {milliseconds:.0f} ms on the CPU" in run.summary
    assert f"the RPN: {len(run.rpn.boxes):,} in " in run.summary and "shared features" in run.summary
    from dataclasses import replace

    from visionlab.core.camera.proposals import why_rpn_replaced_it

    def pace(search_s: float, rpn_s: float) -> str:
        return why_rpn_replaced_it(replace(run.search, seconds=search_s), replace(run.rpn, rpn_seconds=rpn_s),
                                   run.comparison)

    assert "The RPN was 200× faster and" in pace(2.0, 0.01)
    assert "The RPN was 2.5× faster and" in pace(0.5, 0.2)
    assert "The RPN was 47× slower, and" in pace(0.024, 1.116)  # a big backbone on a small searched frame
    assert "The RPN was 2.0× slower, and" in pace(0.5, 1.0)
    ss_recall = 100 * run.comparison.selective_search.recall
    assert f"selective search {ss_recall:.0f}%" in run.summary and run.rpn_note == ""
    assert "selective search on the CPU)" not in run.summary  # both ran on the CPU: nothing to warn about
    # An RPN on a GPU: the ratio compares two machines, and the sentence says which.
    on_gpu = why_rpn_replaced_it(run.search, replace(run.rpn, device="cuda"), run.comparison)
    assert "× faster (on cuda; selective search on the CPU)" in on_gpu


def test_a_model_without_an_rpn_gets_selective_search_and_the_way_to_one():
    detector = HaarFaceDetector()
    run = propose(detector, rectangles_frame(), max_side=160)
    assert run.rpn is None and run.comparison.rpn is None and len(run.search.boxes) > 0
    assert "Faster R-CNN" in run.rpn_note and "fasterrcnn_mobilenet_v3_large_320_fpn" in run.rpn_note
    assert rpn_note(detector) == run.rpn_note and "forward passes" in run.summary


def test_recall_is_counted_against_the_scenes_true_boxes_when_the_picture_is_theirs():
    from visionlab.core.camera.overlay import Detections
    from visionlab.core.camera.pipeline import Frame, InferenceResult
    from visionlab.core.camera.proposals import reference_boxes
    from visionlab.core.camera.scene_source import ShapeScenesSource

    source = ShapeScenesSource(320, 240, seed=2)
    scene = source.scene(40)
    detections = Detections(("__background__", "shape"), boxes=np.array([[1, 2, 30, 40], [5, 5, 9, 9]], np.float32),
                            scores=np.array([0.8, 0.3], np.float32), labels=np.ones(2, np.int64))
    boxes, note = reference_boxes(None, InferenceResult(Frame(scene.image, 0.0, 40), detections), source)
    assert len(scene.boxes) > 0
    np.testing.assert_array_equal(boxes, scene.boxes)
    assert f"{len(scene.boxes)} true object box(es)" in note
    # Another picture under the same index (a restarted stream): the detector's sure detections instead.
    boxes, note = reference_boxes(None, InferenceResult(Frame(source.render(41), 0.0, 40), detections), source)
    np.testing.assert_array_equal(boxes, detections.boxes[:1])
    assert "1 detection(s)" in note and "scoring ≥ 0.5" in note
    # A random-weights model's boxes are noise, however high they score: no recall is counted against them.
    from dataclasses import replace

    noise = InferenceResult(Frame(source.render(41), 0.0, 40), replace(detections, random_weights=True))
    boxes, note = reference_boxes(None, noise, source)
    assert boxes is None and "random weights" in note
