"""What a detector found in one frame, the user's filters on it, and the annotated picture.

`Detections` is plain numpy (no torch), so drawing, filtering and recording never touch the model.
Drawing happens on the GUI side of the pipeline because the overlay controls (score threshold, class
filter, opacity) must apply at once, also to a paused frame, without running the model again.

The picture never hides why it looks the way it does: random weights are written on the frame itself
with the chance level (1 / number of categories); when nothing passes the threshold, random models draw
their best few boxes at any score (so the student sees what noise looks like) and trained ones say what
the best score was.
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
    random_weights: bool = False  # the model that made these runs without trained weights
    landmarks: np.ndarray | None = None  # N×K×2 (x, y) points per box (MTCNN: eyes, nose, mouth corners)

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def chance(self) -> float:
        """The score of a classifier that knows nothing: 1 / the number of outputs (91 for COCO, 21 for VOC)."""
        return 1.0 / max(1, len(self.categories))

    def label_name(self, label: int) -> str:
        if not 0 <= label < len(self.categories):
            return f"class {label}"
        name = self.categories[label]
        # COCO's 91 outputs keep 10 ids the data set never used ("N/A" in torchvision's list): an untrained
        # model can still pick one, and "N/A" on a box would read as "no answer".
        return f"unused id {label}" if name == "N/A" else name


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
                   masks=None if detections.masks is None else detections.masks[index],
                   landmarks=None if detections.landmarks is None else detections.landmarks[index])


TOP_K_WHEN_RANDOM = 5  # boxes of a random model drawn at any score when none passes the threshold


def boxes_to_draw(detections: Detections, options: OverlayOptions) -> tuple[Detections, bool]:
    """The detections drawn, and True when they are a random model's best few at any score."""
    shown = filter_detections(detections, options)
    if len(shown) or not detections.random_weights or not len(detections):
        return shown, False
    anything = replace(options, score_threshold=-1.0, max_detections=min(options.max_detections, TOP_K_WHEN_RANDOM))
    return filter_detections(detections, anything), True


def picture_notes(detections: Detections, options: OverlayOptions) -> list[str]:
    """The lines written on the frame: what the weights are and why the picture looks as it does."""
    chance = f"chance 1/{len(detections.categories)} = {detections.chance:.3f}"
    notes = [f"RANDOM WEIGHTS: output is noise ({chance})"] if detections.random_weights else []
    if detections.semantic is not None and detections.confidence is not None:
        if not semantic_visible(detections, options).any():
            # Background (class 0) is never coloured: the range is of the pixels an object class won.
            objects = detections.semantic != 0
            if options.class_filter:
                objects &= np.isin(detections.semantic, _allowed_labels(detections, options))
            if not objects.any():
                notes.append("every pixel's winning class is background" + (" or filtered out" if
                             options.class_filter else "") + ": nothing to colour")
            else:
                low, high = float(detections.confidence[objects].min()), float(detections.confidence[objects].max())
                notes.append(f"no object pixel scores >= {options.score_threshold:.2f}: their winning probability "
                             f"{low:.3f}..{high:.3f}" + ("" if detections.random_weights else f" ({chance})"))
        return notes
    shown, fallback = boxes_to_draw(detections, options)
    if fallback:
        notes.append(f"none >= {options.score_threshold:.2f}: best {len(shown)} at any score")
    elif not len(shown) and len(detections):
        # A freshly trained model is often less sure than the default 0.50: say how to see its boxes.
        notes.append(f"none >= {options.score_threshold:.2f} (best score {float(detections.scores.max()):.2f}; "
                     "lower the threshold to see them)")
    if detections.random_weights and len(detections) and float(detections.scores.max()) > 0.5:
        notes.append("high scores of random weights mean nothing (saturated softmax)")
    return notes


MIN_DRAW_SIDE = 480  # frames with a shorter side are enlarged (whole pixels) before anything is drawn
NOTE_FONT = cv2.FONT_HERSHEY_SIMPLEX


def drawing_scale(frame_shape: tuple[int, ...], min_side: int = MIN_DRAW_SIDE) -> int:
    """The whole factor a frame is enlarged by before drawing: text drawn at a 100×80 source's own resolution
    was a few blocky pixels high once the view blew the picture up; enlarged first, it stays sharp."""
    shorter = min(frame_shape[:2])
    return max(1, -(-min_side // max(1, shorter))) if 0 < shorter < min_side else 1


def note_layout(image_shape: tuple[int, ...], lines: list[str]) -> tuple[float, list[tuple[int, int, int, int]]]:
    """The font scale and each note's band (x1, y1, x2, y2): sized to the frame, never wider than it."""
    height, width = image_shape[:2]
    scale = max(0.4, min(height, width) / 900)
    for line in lines:  # one scale for every line: the widest one decides
        text_width = cv2.getTextSize(line, NOTE_FONT, scale, 1)[0][0]
        if text_width > width - 8:
            scale *= (width - 8) / text_width
    bands, y = [], 0
    for line in lines:
        (text_width, text_height), base = cv2.getTextSize(line, NOTE_FONT, scale, 1)
        bands.append((0, y, text_width + 8, y + text_height + base + 6))
        y += text_height + base + 6
    return scale, bands


def draw_notes(image: np.ndarray, lines: list[str]) -> tuple[int, int]:
    """White text on a dark band in the top-left corner (in place); returns the band's (width, height)."""
    scale, bands = note_layout(image.shape, lines)
    thickness = max(1, round(scale * 1.6))
    for line, (x1, y1, x2, y2) in zip(lines, bands, strict=True):
        band = image[y1:y2, x1:x2]
        band[:] = (band * 0.35).astype(np.uint8)  # darkened, not hidden: the frame stays visible under it
        base = cv2.getTextSize(line, NOTE_FONT, scale, thickness)[1]
        cv2.putText(image, line, (4, y2 - base - 3), NOTE_FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return (max((band[2] for band in bands), default=0), bands[-1][3] if bands else 0)


def score_text(score: float, random_weights: bool) -> str:
    """Two decimals for a trained model; three significant digits for random weights, so "0.0112" can be
    told from the chance level written beside it ("0.011"), where "0.01" could not."""
    return f"{score:#.3g}" if random_weights else f"{score:.2f}"


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
        labels = sorted({int(v) for v in boxes_to_draw(detections, options)[0].labels})
    return [(label, detections.label_name(label)) for label in labels]


def _allowed_labels(detections: Detections, options: OverlayOptions) -> list[int]:
    return [i for i, name in enumerate(detections.categories) if name in options.class_filter]


def semantic_visible(detections: Detections, options: OverlayOptions) -> np.ndarray:
    """The argmax map with background, low-confidence and filtered-out pixels set to 0 (not drawn)."""
    assert detections.semantic is not None, "semantic_visible needs a semantic model's detections"
    semantic = detections.semantic.copy()
    if detections.confidence is not None:
        semantic[detections.confidence < options.score_threshold] = 0
    if options.class_filter:
        semantic[~np.isin(semantic, _allowed_labels(detections, options))] = 0
    return semantic


def render_overlay(frame: np.ndarray, detections: Detections | None, options: OverlayOptions,
                   min_side: int = MIN_DRAW_SIDE) -> np.ndarray:
    """A new RGB image: the frame with masks blended at `mask_opacity`, boxes, "name score" labels and the
    notes. A frame whose shorter side is under `min_side` is enlarged by whole pixels first (see
    `drawing_scale`), so the result can be larger than the frame."""
    factor = drawing_scale(frame.shape, min_side)
    if factor > 1:
        frame = cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
        if detections is not None:
            detections = _enlarged(detections, factor)
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
        draw_notes(image, picture_notes(detections, options))
        return image
    shown, _fallback = boxes_to_draw(detections, options)
    if shown.masks is not None and len(shown):
        # One mask per detection: filter_detections indexes masks and labels with the same index.
        for mask, label in zip(shown.masks, shown.labels, strict=True):
            region = mask > 0.5
            mask_color = np.array(class_color(int(label)), np.float32)
            image[region] = (image[region] * (1 - options.mask_opacity)
                             + mask_color * options.mask_opacity).astype(np.uint8)
    # Box edges, then the notes over them, then the labels: a label that would sit under the notes' band goes
    # just below it, so neither hides the other.
    thickness = max(1, round(min(image.shape[:2]) / 240))
    for box, label in zip(shown.boxes, shown.labels, strict=True):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), class_color(int(label)), thickness)
    for points in () if shown.landmarks is None else shown.landmarks:
        for x, y in points:
            cv2.circle(image, (int(round(x)), int(round(y))), thickness + 1, (255, 255, 255), -1)
    notes_width, notes_height = draw_notes(image, picture_notes(detections, options))
    label_scale = max(0.45, min(image.shape[:2]) / 1000)
    for box, score, label in zip(shown.boxes, shown.scores, shown.labels, strict=True):  # one row per detection
        color = class_color(int(label))
        x1, y1 = (int(round(v)) for v in box[:2])
        text = f"{shown.label_name(int(label))} {score_text(float(score), detections.random_weights)}"
        (tw, th), base = cv2.getTextSize(text, NOTE_FONT, label_scale, 1)
        top = max(0, y1 - th - base - 2)
        if top < notes_height and x1 < notes_width:
            top = notes_height
        cv2.rectangle(image, (x1, top), (x1 + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(image, text, (x1 + 2, top + th + 1), NOTE_FONT, label_scale, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def _enlarged(detections: Detections, factor: int) -> Detections:
    """The detections in the coordinates of the frame enlarged `factor` times (whole pixels)."""
    def grow(array: np.ndarray | None) -> np.ndarray | None:
        if array is None:
            return None
        return np.repeat(np.repeat(array, factor, axis=-2), factor, axis=-1)
    return replace(detections, boxes=detections.boxes * factor, masks=grow(detections.masks),
                   landmarks=None if detections.landmarks is None else detections.landmarks * factor,
                   semantic=grow(detections.semantic), confidence=grow(detections.confidence))
