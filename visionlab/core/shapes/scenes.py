"""Seeded random shape scenes: a detection / segmentation task a small network can learn on a 2-core CPU.

Why it looks the way it does: a net must learn *shapes*, not shortcuts. So the colour of a shape is drawn
independently of its class (it never tells the class), backgrounds are random gradients and textures (no
fixed "background colour" to subtract), shapes overlap and hide each other partly, and every pixel gets
noise. The targets are exact: a mask holds precisely the pixels painted in that shape's colour (cv2 without
anti-aliasing), a box is the bounds of the visible mask, and an instance hidden too much is never drawn.

Training sets of thousands of frames are generated at the start of each run, so the drawing is cheap: one
cv2 call per shape into a small "owner" map (which instance is on top at each pixel), numpy for the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from visionlab.core.shapes.drawing import (
    MAX_SIZE,
    MIN_SIZE,
    Shape,
    add_noise,
    contrasting_colour,
    random_background,
    random_shape,
    shape_mask,
)

CLASSES: tuple[str, ...] = ("circle", "rectangle", "triangle", "ring", "star")  # label i + 1; 0 = background
MAX_SHAPES = 5
MIN_VISIBLE_FRACTION = 0.3  # an instance hidden more than this by later shapes is not drawn at all
MIN_VISIBLE_PIXELS = 20
MIN_FRAME_SIDE = MAX_SIZE + 4  # the largest shape fits inside the frame
PLACEMENT_TRIES = 12  # new positions for a shape that would hide an earlier one too much

__all__ = ["CLASSES", "MAX_SIZE", "MIN_SIZE", "Scene", "iter_scenes", "make_scene", "make_scenes", "scene_from_owner"]


@dataclass(eq=False)
class Scene:
    """One frame and its targets, in the image's pixels.

    boxes are x1, y1, x2, y2 with exclusive right / bottom edges (x2 = last visible column + 1), so the
    COCO box is [x1, y1, x2 - x1, y2 - y1]; masks are the *visible* pixels (after occlusion), disjoint.
    """

    image: np.ndarray  # H×W×3 uint8 RGB
    boxes: np.ndarray  # N×4 float32
    labels: np.ndarray  # N int64 in 1..len(CLASSES)
    masks: np.ndarray  # N×H×W bool

    def __eq__(self, other: object) -> bool:
        """Same pixels and same targets (so `make_scenes(10, 3)[:5] == make_scenes(5, 3)` reads as it says)."""
        if not isinstance(other, Scene):
            return NotImplemented
        return all(np.array_equal(mine, theirs) and mine.dtype == theirs.dtype for mine, theirs in
                   ((self.image, other.image), (self.boxes, other.boxes), (self.labels, other.labels),
                    (self.masks, other.masks)))

    def semantic(self) -> np.ndarray:
        """H×W int64: 0 for background, else the label of the shape seen at that pixel (the FCN's target)."""
        label_map = np.zeros(self.image.shape[:2], np.int64)
        for mask, label in zip(self.masks, self.labels, strict=True):
            label_map[mask] = label
        return label_map


def scene_from_owner(image: np.ndarray, owner: np.ndarray, labels: list[int]) -> Scene:
    """The Scene of a rendered frame: `owner` holds at each pixel 0 or the 1-based index of the top shape.

    Instances that ended up with no visible pixel are left out (the moving stream can hide one completely).
    """
    ids = np.arange(1, len(labels) + 1, dtype=owner.dtype)
    masks = owner[None, :, :] == ids[:, None, None]
    visible = masks.any(axis=(1, 2))
    masks = masks[visible]
    kept_labels = np.asarray(labels, np.int64).reshape(-1)[visible]
    boxes = np.zeros((len(masks), 4), np.float32)
    if len(masks):
        rows, columns = masks.any(axis=2), masks.any(axis=1)
        boxes[:, 0] = columns.argmax(axis=1)
        boxes[:, 1] = rows.argmax(axis=1)
        boxes[:, 2] = owner.shape[1] - columns[:, ::-1].argmax(axis=1)
        boxes[:, 3] = owner.shape[0] - rows[:, ::-1].argmax(axis=1)
    return Scene(image=image, boxes=boxes, labels=kept_labels, masks=masks)


def make_scene(rng: np.random.Generator, width: int = 160, height: int = 120) -> Scene:
    """A random frame with 1-5 shapes; every random choice comes from `rng` (same state, same scene)."""
    if min(width, height) < MIN_FRAME_SIDE:
        raise ValueError(f"scenes need frames of at least {MIN_FRAME_SIDE}×{MIN_FRAME_SIDE} pixels, "
                         f"not {width}×{height}")
    image = random_background(rng, width, height)
    owner = np.zeros((height, width), np.uint8)
    drawn_areas: list[int] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(1, MAX_SHAPES + 1))):
        kind = int(rng.integers(len(CLASSES)))  # the class is fixed before the tries: balance stays uniform
        placed = _place(rng, kind, owner, drawn_areas, width, height)
        if placed is None:
            continue
        shape, mask = placed
        colour = contrasting_colour(rng, image[mask])
        image[mask] = colour
        owner[mask] = len(labels) + 1
        drawn_areas.append(int(np.count_nonzero(mask)))
        labels.append(shape.kind + 1)
    add_noise(rng, image)
    return scene_from_owner(image, owner, labels)


def _place(rng: np.random.Generator, kind: int, owner: np.ndarray, drawn_areas: list[int], width: int,
           height: int) -> tuple[Shape, np.ndarray] | None:
    """A shape of class `kind` and its mask that leaves every earlier instance visible enough, or None."""
    for _ in range(PLACEMENT_TRIES):
        shape = random_shape(rng, kind, width, height)
        mask = shape_mask(shape, width, height)
        if np.count_nonzero(mask) < MIN_VISIBLE_PIXELS:
            continue
        if drawn_areas:
            still_visible = np.bincount(owner[~mask], minlength=len(drawn_areas) + 1)[1:]
            needed = np.maximum(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * np.asarray(drawn_areas))
            if np.any(still_visible < needed):
                continue
        return shape, mask
    return None


def make_scenes(count: int, seed: int, width: int = 160, height: int = 120) -> list[Scene]:
    """`count` scenes; scene i has its own generator seeded by (seed, i), so it does not depend on `count`
    (make_scenes(10, 3)[:5] equals make_scenes(5, 3)) and any frame can be made again on its own."""
    return list(iter_scenes(count, seed, width, height))


def iter_scenes(count: int, seed: int, width: int = 160, height: int = 120) -> Iterator[Scene]:
    """make_scenes one at a time: a folder of a million frames is written without holding them all."""
    for index in range(count):
        yield make_scene(np.random.default_rng([seed, index]), width, height)
