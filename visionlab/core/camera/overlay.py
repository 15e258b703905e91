"""What a detector found in one frame, the user's filters on it, and the annotated picture.

`Detections` is plain numpy (no torch), so drawing, filtering and recording never touch the model.
Drawing happens on the GUI side of the pipeline because the overlay controls (score threshold, class
filter, opacity) must apply at once, also to a paused frame, without running the model again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import cv2
import numpy as np


@dataclass
class Detections:
    """Boxes are x1, y1, x2, y2 in frame pixels; labels index `categories`.

    Instance models add `masks` (N×H×W, 0..1); semantic models give `semantic` (H×W class per pixel, the
    argmax) and `confidence` (H×W, the winning class's softmax probability) and no boxes.
    """

    categories: tuple[str, ...]
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    masks: np.ndarray | None = None
    semantic: np.ndarray | None = None  # uint8 when there are at most 256 classes (cheaper to draw)
    confidence: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def label_name(self, label: int) -> str:
        return self.categories[label] if 0 <= label < len(self.categories) else f"class {label}"


@dataclass(frozen=True)
class OverlayOptions:
    score_threshold: float = 0.5
    max_detections: int = 20
    mask_opacity: float = 0.5
    class_filter: frozenset[str] = frozenset()  # empty: every class


def filter_detections(detections: Detections, options: OverlayOptions) -> Detections:
    """Keep boxes above the threshold, of the chosen classes, the best `max_detections` of them."""
    keep = detections.scores >= options.score_threshold
    if options.class_filter:
        names = np.array([detections.label_name(int(label)) for label in detections.labels], dtype=object)
        keep &= np.isin(names, list(options.class_filter))
    order = np.argsort(-detections.scores[keep], kind="stable")[: max(0, options.max_detections)]
    index = np.flatnonzero(keep)[order]
    return replace(detections, boxes=detections.boxes[index], scores=detections.scores[index],
                   labels=detections.labels[index],
                   masks=None if detections.masks is None else detections.masks[index])


@functools.lru_cache(maxsize=8)
def _palette(count: int) -> np.ndarray:
    return np.array([class_color(i) for i in range(max(count, 1))], np.uint8)


def class_color(label: int) -> tuple[int, int, int]:
    """A stable, well separated RGB color per class (golden-angle hues)."""
    hue = int((label * 137.508) % 180)
    hsv = np.array([[[hue, 200, 255]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def classes_in_view(detections: Detections, options: OverlayOptions) -> list[tuple[int, str]]:
    """(label, name) of every class drawn with these options, for the legend."""
    if detections.semantic is not None:  # bincount, not unique: no sort of 300 000 pixels per frame
        counts = np.bincount(semantic_visible(detections, options).ravel(), minlength=1)
        labels = [int(v) for v in np.flatnonzero(counts) if v != 0]  # 0: background
    else:
        labels = sorted({int(v) for v in filter_detections(detections, options).labels})
    return [(label, detections.label_name(label)) for label in labels]


def semantic_visible(detections: Detections, options: OverlayOptions) -> np.ndarray:
    """The argmax map with background, low-confidence and filtered-out pixels set to 0 (not drawn)."""
    assert detections.semantic is not None, "semantic_visible needs a semantic model's detections"
    semantic = detections.semantic.copy()
    if detections.confidence is not None:
        semantic[detections.confidence < options.score_threshold] = 0
    if options.class_filter:
        allowed = [i for i, name in enumerate(detections.categories) if name in options.class_filter]
        semantic[~np.isin(semantic, allowed)] = 0
    return semantic


def render_overlay(frame: np.ndarray, detections: Detections | None, options: OverlayOptions) -> np.ndarray:
    """A new RGB image: the frame with masks blended at `mask_opacity`, boxes and "name score" labels."""
    image = frame.copy()
    if detections is None:
        return image
    if detections.semantic is not None:
        semantic = semantic_visible(detections, options)
        # uint8 OpenCV calls (LUT, addWeighted, copyTo): this runs on the GUI thread for every frame, and
        # numpy fancy indexing or float math there stalled the GUI timer by tens of milliseconds.
        if semantic.dtype == np.uint8:
            colored = cv2.LUT(cv2.merge([semantic] * 3), _palette(256).reshape(256, 1, 3))
        else:
            colored = _palette(max(len(detections.categories), int(semantic.max()) + 1))[semantic]
        blended = cv2.addWeighted(image, 1 - options.mask_opacity, colored, options.mask_opacity, 0)
        cv2.copyTo(blended, (semantic > 0).view(np.uint8), image)
        return image
    shown = filter_detections(detections, options)
    if shown.masks is not None and len(shown):
        # One mask per detection: filter_detections indexes masks and labels with the same index.
        for mask, label in zip(shown.masks, shown.labels, strict=True):
            region = mask > 0.5
            mask_color = np.array(class_color(int(label)), np.float32)
            image[region] = (image[region] * (1 - options.mask_opacity)
                             + mask_color * options.mask_opacity).astype(np.uint8)
    thickness = max(1, round(min(image.shape[:2]) / 240))
    for box, score, label in zip(shown.boxes, shown.scores, shown.labels, strict=True):  # one row per detection
        color = class_color(int(label))
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)
        text = f"{shown.label_name(int(label))} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        top = max(0, y1 - th - base - 2)
        cv2.rectangle(image, (x1, top), (x1 + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(image, text, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return image
