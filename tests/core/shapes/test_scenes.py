"""The still scenes as a learner sees them: reproducible, exact targets, and no shortcut to the class.

Each check recomputes what it checks another way: box bounds with np.nonzero, masks against the image's
own pixels, colour shortcuts with sklearn, class balance with scipy's chi-square test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from visionlab.core.shapes import CLASSES, Scene, make_scene, make_scenes


@pytest.fixture(scope="module")
def scenes() -> list[Scene]:
    return make_scenes(700, seed=11)  # ~2100 instances


def test_the_same_seed_makes_the_same_scenes_and_a_prefix_does_not_depend_on_count() -> None:
    longer, shorter, other = make_scenes(10, 3), make_scenes(5, 3), make_scenes(5, 4)
    for a, b in zip(longer[:5], shorter, strict=True):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks)
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.labels, b.labels)
    assert not any(np.array_equal(a.image, b.image) for a, b in zip(shorter, other, strict=True))
    assert longer[:5] == shorter and shorter != other  # Scene's == compares every array
    single = make_scene(np.random.default_rng([3, 7]))  # scene i is its own generator's first scene
    assert np.array_equal(single.image, longer[7].image)


def test_types_counts_and_sizes(scenes) -> None:
    for scene in scenes[:50]:
        count = len(scene.labels)
        assert scene.image.shape == (120, 160, 3) and scene.image.dtype == np.uint8
        assert scene.boxes.shape == (count, 4) and scene.boxes.dtype == np.float32
        assert scene.labels.dtype == np.int64 and scene.masks.shape == (count, 120, 160)
        assert scene.masks.dtype == bool
    counts = np.array([len(scene.labels) for scene in scenes])
    assert counts.min() >= 1 and counts.max() <= 5 and set(counts) == {1, 2, 3, 4, 5}
    assert make_scenes(1, 0, width=320, height=200)[0].image.shape == (200, 320, 3)


def test_boxes_are_the_bounds_of_the_visible_masks(scenes) -> None:
    for scene in scenes[:200]:
        for box, mask in zip(scene.boxes, scene.masks, strict=True):
            rows, columns = np.nonzero(mask)
            assert box.tolist() == [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]


def test_masks_are_disjoint_visible_enough_and_semantic_agrees(scenes) -> None:
    for scene in scenes[:200]:
        assert scene.masks.sum(axis=0).max() <= 1
        assert scene.masks.sum(axis=(1, 2)).min() >= 20
        semantic = scene.semantic()
        expected = np.zeros(semantic.shape, np.int64)
        for label, mask in zip(scene.labels, scene.masks, strict=True):
            expected = np.where(mask, label, expected)
        assert np.array_equal(semantic, expected)
        assert set(np.unique(semantic)) <= {0, *scene.labels.tolist()}


def test_each_mask_is_exactly_the_pixels_painted_in_its_colour(scenes) -> None:
    """Inside a mask: one colour plus noise. Just outside it, on background: clearly another colour. A mask
    shifted, eroded or dilated by one pixel, or drawn anti-aliased, fails one of the two."""
    close_outside = []
    for scene in scenes[:150]:
        image = scene.image.astype(np.int32)
        covered = scene.masks.any(axis=0)
        for mask in scene.masks:
            colour = np.median(image[mask], axis=0)
            inside = np.abs(image[mask] - colour).max(axis=1)
            assert inside.max() <= 20  # the noise stays within ±16 of the painted colour, per channel
            ring = ndimage.binary_dilation(mask) & ~covered  # background pixels touching the mask
            if ring.sum() >= 10:
                outside = np.abs(image[ring] - colour).max(axis=1)
                close_outside.append(np.mean(outside <= 12))
    assert np.mean(close_outside) < 0.05  # a shape's outline stands out from the background around it


def test_sizes_span_12_to_60_pixels(scenes) -> None:
    top = np.array([(scene.boxes[-1, 2:] - scene.boxes[-1, :2]).max() for scene in scenes])  # never hidden
    every = np.concatenate([(scene.boxes[:, 2:] - scene.boxes[:, :2]).max(axis=1) for scene in scenes])
    assert every.max() <= 61 and top.min() >= 11
    assert top.min() <= 15 and top.max() >= 55  # the whole range is used


def test_classes_are_balanced_and_all_present(scenes) -> None:
    labels = np.concatenate([scene.labels for scene in scenes])
    counts = np.bincount(labels, minlength=len(CLASSES) + 1)[1:]
    assert len(labels) > 1800 and counts.min() > 0
    assert stats.chisquare(counts).pvalue > 0.001


def test_partial_occlusion_happens(scenes) -> None:
    overlapping = 0
    for scene in scenes:
        boxes = scene.boxes
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                width = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
                height = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
                overlapping += width > 0 and height > 0
    assert overlapping > 0.1 * len(scenes)


def test_colour_does_not_predict_the_class(scenes) -> None:
    features = np.array([scene.image[mask].mean(axis=0) for scene in scenes for mask in scene.masks])
    labels = np.concatenate([scene.labels for scene in scenes])
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), features / 255.0, labels, cv=5).mean()
    chance = np.bincount(labels).max() / len(labels)
    assert accuracy <= chance + 0.1


def test_backgrounds_vary_and_carry_noise(scenes) -> None:
    backgrounds = [scene.image[~scene.masks.any(axis=0)].astype(float) for scene in scenes[:100]]
    means = np.array([pixels.mean(axis=0) for pixels in backgrounds])
    assert means.std(axis=0).min() > 25  # no fixed background colour to subtract
    noise = [np.abs(np.diff(scene.image.astype(int), axis=1)).mean() for scene in scenes[:100]]
    assert min(noise) > 0.5


def test_too_small_a_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        make_scene(np.random.default_rng(0), 40, 40)
