"""Random weights, honestly: said on the picture, chance level from the category list, never an empty
picture without a reason, no "N/A" boxes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torchvision

from visionlab.core.camera.overlay import Detections, OverlayOptions, class_color, picture_notes, render_overlay

COCO = tuple(torchvision.models.detection.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.DEFAULT.meta["categories"])
VOC = tuple(torchvision.models.segmentation.LRASPP_MobileNet_V3_Large_Weights.DEFAULT.meta["categories"])


def noise_boxes(random_weights: bool = True) -> Detections:
    rng = np.random.default_rng(0)
    corners = rng.uniform(60, 150, (8, 2))  # clear of the notes in the top-left corner
    boxes = np.concatenate([corners, corners + 40], axis=1).astype(np.float32)
    return Detections(COCO, boxes=boxes, scores=rng.uniform(0.010, 0.012, 8).astype(np.float32),
                      labels=rng.integers(1, 91, 8), random_weights=random_weights)


def test_chance_levels_come_from_torchvisions_category_lists():
    assert len(COCO) == 91 and len(VOC) == 21
    assert f"chance 1/91 = {1 / 91:.3f}" in picture_notes(noise_boxes(), OverlayOptions())[0]
    # Half the pixels won by class 3 at 0.0555..0.07, the other half by background at 0.9 (never coloured).
    semantic = np.zeros((4, 4), np.uint8)
    semantic[:2] = 3
    confidence = np.full((4, 4), 0.9, np.float32)
    confidence[:2] = np.linspace(0.0555, 0.07, 8, dtype=np.float32).reshape(2, 4)
    segmentation = Detections(VOC, semantic=semantic, confidence=confidence, random_weights=True)
    notes = picture_notes(segmentation, OverlayOptions())
    assert "RANDOM WEIGHTS" in notes[0] and f"1/21 = {1 / 21:.3f}" in notes[0]
    assert "0.056..0.070" in notes[1]  # why nothing is drawn: the range of the object pixels, not background's
    trained = picture_notes(replace(segmentation, random_weights=False), OverlayOptions())
    assert trained == ["no object pixel scores >= 0.50: their winning probability 0.056..0.070 "
                       f"(chance 1/21 = {1 / 21:.3f})"]
    # A map that background wins everywhere says so: no threshold would colour it.
    background = replace(segmentation, semantic=np.zeros((4, 4), np.uint8), random_weights=False)
    assert picture_notes(background, OverlayOptions(score_threshold=0.0)) == [
        "every pixel's winning class is background: nothing to colour"]


def test_random_weights_are_written_on_the_frame_and_draw_their_best_boxes():
    frame = np.full((200, 200, 3), 128, np.uint8)
    detections = noise_boxes()
    image = render_overlay(frame, detections, OverlayOptions(score_threshold=0.5), min_side=0)
    corner = image[0:12, 0:60].astype(int).sum(axis=2)
    assert (corner < 3 * 64).any() and (corner > 3 * 200).any()  # white text on a darkened band
    best = np.argsort(-detections.scores)[:5]
    x1, y1, x2, y2 = (int(round(v)) for v in detections.boxes[best[0]])
    assert not np.array_equal(image[y2, x1:x2], frame[y2, x1:x2])  # the best box's bottom edge is drawn
    trained = render_overlay(frame, noise_boxes(random_weights=False), OverlayOptions(score_threshold=0.5), min_side=0)
    notes = picture_notes(noise_boxes(random_weights=False), OverlayOptions(score_threshold=0.5))
    assert notes == [f"none >= 0.50 (best score {detections.scores.max():.2f}; lower the threshold to see them)"]
    assert np.array_equal(trained[40:], frame[40:])  # a trained model's boxes below the threshold stay hidden


def test_unused_coco_ids_are_not_labelled_na():
    unused = [index for index, name in enumerate(COCO) if name == "N/A"]
    assert len(unused) == 10  # COCO's 91 outputs: background, 80 classes and 10 ids never used
    detections = noise_boxes()
    assert all(detections.label_name(index) == f"unused id {index}" for index in unused)
    assert detections.label_name(1) == "person"


def test_random_weights_below_the_threshold_draw_their_best_five_and_say_so():
    """The five drawn are the five best scores (numpy's own sort), in the notes' words; a trained model's
    boxes below the threshold are not drawn at all."""
    from visionlab.core.camera.overlay import TOP_K_WHEN_RANDOM, boxes_to_draw

    detections = noise_boxes()
    options = OverlayOptions(score_threshold=0.5)
    drawn, fallback = boxes_to_draw(detections, options)
    best = np.sort(detections.scores)[::-1][:5]
    assert fallback and TOP_K_WHEN_RANDOM == 5 and np.array_equal(drawn.scores, best)
    assert picture_notes(detections, options) == [
        f"RANDOM WEIGHTS: output is noise (chance 1/91 = {1 / 91:.3f})", "none >= 0.50: best 5 at any score"]
    trained, fallback = boxes_to_draw(noise_boxes(random_weights=False), options)
    assert not fallback and len(trained) == 0


def test_saturated_scores_of_random_weights_are_called_meaningless():
    """fasterrcnn_resnet50_fpn_v2 with random weights scores boxes 1.00: drawn as they are, and the picture
    says such scores mean nothing; a trained model's 1.00 gets no such note."""
    detections = replace(noise_boxes(), scores=np.ones(8, np.float32))
    notes = picture_notes(detections, OverlayOptions(score_threshold=0.5))
    assert notes == [f"RANDOM WEIGHTS: output is noise (chance 1/91 = {1 / 91:.3f})",
                     "high scores of random weights mean nothing (saturated softmax)"]
    assert picture_notes(replace(detections, random_weights=False), OverlayOptions(score_threshold=0.5)) == []


def test_small_frames_are_enlarged_so_notes_and_labels_stay_readable_and_apart():
    """A 100×80 image source: the notes fit inside the picture at a readable height (the view blows the
    picture up to ≈650 px high, so 1/50 of the height is ≈13 screen pixels), and a box label at the very
    top is drawn below the notes' band, not under it."""
    frame = np.full((80, 100, 3), 128, np.uint8)
    detections = replace(noise_boxes(), boxes=np.array([[10, 1, 40, 30]], np.float32),
                         scores=np.array([0.0112], np.float32), labels=np.array([16]))
    image = render_overlay(frame, detections, OverlayOptions(score_threshold=0.5))
    height, width = image.shape[:2]
    assert min(height, width) >= 480 and height * 100 == width * 80  # enlarged by whole pixels
    assert (image[-1, -1] == 128).all()  # the picture itself is the frame, pixel for pixel
    darkened = np.flatnonzero((image[:, 2] < 60).all(axis=1))  # the notes' band at the left edge
    band_bottom = int(darkened.max()) + 1
    white = (image[:band_bottom] > 235).all(axis=2)
    rows, columns = np.flatnonzero(white.any(axis=1)), np.flatnonzero(white.any(axis=0))
    first_line = rows[rows < rows.min() + band_bottom // 2]
    assert first_line.max() - first_line.min() + 1 >= height / 50  # readable, not a few blocky pixels
    assert columns.max() < width - 3  # the sentence ends inside the picture, not cut at its edge
    label_color = np.array(class_color(16))
    x = 10 * width // 100 + 3
    below = image[band_bottom:band_bottom + 6, x]
    assert (below == label_color).all(axis=1).any()  # the label's filled box, right under the notes
    assert not (image[:band_bottom, x] == label_color).all(axis=1).any()  # none of it (nor the edge) over them


def test_random_weights_scores_keep_three_significant_digits():
    from visionlab.core.camera.overlay import score_text

    assert score_text(0.011234, random_weights=True) == "0.0112"  # comparable with chance 1/91 = 0.011
    assert score_text(1.0, random_weights=True) == "1.00" and score_text(0.91234, random_weights=False) == "0.91"
