"""What the user sees drawn: threshold, class filter, max detections, colors, mask opacity, legend."""

from __future__ import annotations

import numpy as np
import pytest

from visionlab.core.camera.overlay import (
    Detections,
    OverlayOptions,
    class_color,
    classes_in_view,
    filter_detections,
    render_overlay,
)

CATEGORIES = ("__background__", "person", "car", "dog")


def three_boxes():
    return Detections(CATEGORIES, boxes=np.array([[10, 10, 40, 40], [50, 10, 90, 50], [5, 50, 30, 70]], np.float32),
                      scores=np.array([0.9, 0.3, 0.7], np.float32), labels=np.array([1, 2, 3]))


def test_threshold_class_filter_and_maximum():
    shown = filter_detections(three_boxes(), OverlayOptions(score_threshold=0.5))
    assert list(shown.labels) == [1, 3]
    shown = filter_detections(three_boxes(), OverlayOptions(score_threshold=0.0, max_detections=2))
    assert list(shown.scores) == [np.float32(0.9), np.float32(0.7)]  # the best two, best first
    shown = filter_detections(three_boxes(), OverlayOptions(score_threshold=0.0, class_filter=frozenset({"car"})))
    assert list(shown.labels) == [2]
    assert classes_in_view(three_boxes(), OverlayOptions(score_threshold=0.5)) == [(1, "person"), (3, "dog")]


def test_boxes_are_drawn_in_the_class_color_above_the_threshold_only():
    frame = np.zeros((100, 100, 3), np.uint8)
    image = render_overlay(frame, three_boxes(), OverlayOptions(score_threshold=0.5), min_side=0)
    person, dog = class_color(1), class_color(3)
    # A 100 px frame gets 1 px lines on the box edges; a "name score" label sits above each box (the dog's
    # label, drawn last, covers the person's lower edges, so those are not checked).
    assert all(tuple(image[y, x]) == person for y in range(18, 33) for x in (10, 40))  # left and right edges
    assert all(tuple(image[y, x]) == dog for y in range(51, 71) for x in (5, 30))
    assert all(tuple(image[70, x]) == dog for x in range(5, 31))  # the dog's bottom edge, y = 70
    assert not image[18:33, 11:40].any() and not image[51:70, 6:30].any()  # outlines, not filled boxes
    assert not image[18:, 75:].any() and not image[51:, 45:].any()  # the car (0.3 < 0.5): no edge, no label
    assert not frame.any()  # the frame itself is untouched (it is reused when redrawing a paused frame)
    without_dog = render_overlay(frame, filter_detections(three_boxes(), OverlayOptions(
        score_threshold=0.0, class_filter=frozenset({"person", "car"}))), OverlayOptions(score_threshold=0.5),
        min_side=0)
    assert not without_dog[51:71, 5].any()  # the dog's edge pixels above came from the dog box alone
    assert len({class_color(label) for label in range(21)}) == 21


@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
def test_semantic_masks_blend_with_the_chosen_opacity(dtype):
    semantic = np.zeros((100, 100), dtype)
    semantic[50:] = 1  # the lower half is "person"; the top rows hold the notes written on the picture
    confidence = np.full((100, 100), 0.9, np.float32)
    confidence[50:60, 90:] = 0.1
    detections = Detections(CATEGORIES, semantic=semantic, confidence=confidence)
    frame = np.full((100, 100, 3), 100, np.uint8)
    image = render_overlay(frame, detections, OverlayOptions(score_threshold=0.5, mask_opacity=0.25), min_side=0)
    expected = 0.75 * 100 + 0.25 * np.array(class_color(1))
    np.testing.assert_allclose(image[80, 50], expected, atol=0.51)  # rounded to the nearest integer
    np.testing.assert_array_equal(image[55, 95], [100, 100, 100])  # not confident enough: not painted
    np.testing.assert_array_equal(image[40, 50], [100, 100, 100])  # background
    assert classes_in_view(detections, OverlayOptions()) == [(1, "person")]
    hidden = OverlayOptions(class_filter=frozenset({"dog"}))
    assert classes_in_view(detections, hidden) == []
    assert (render_overlay(frame, detections, hidden, min_side=0)[30:] == 100).all()


def test_instance_masks_are_blended_inside_the_mask():
    masks = np.zeros((1, 40, 40), np.float32)
    masks[0, 20:30, 20:30] = 1.0
    detections = Detections(CATEGORIES, boxes=np.array([[1, 1, 38, 38]], np.float32), scores=np.ones(1, np.float32),
                            labels=np.array([2]), masks=masks)
    image = render_overlay(np.zeros((40, 40, 3), np.uint8), detections, OverlayOptions(mask_opacity=1.0), min_side=0)
    assert tuple(image[25, 25]) == class_color(2) and not image[33, 10].any()
