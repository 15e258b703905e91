"""After each epoch, what the model makes of a few validation frames: masks or boxes drawn on them.

Numbers (mIoU, mAP) say how good a model is; the pictures say *how* it is wrong (a ring taken for a circle,
a box around two overlapping shapes). They are drawn in the training thread (run.py asks for them), so the
GUI only shows finished RGB images.

Each SceneEpoch carries the model being trained (`event.model`): the same object the trainer optimizes,
used here between two epochs, in eval mode and without gradients, and left in the mode it was found in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch import nn

from visionlab.core.i18n import _

SCALE = 2  # frames are drawn at twice their size: a 160×120 frame's 12 px shapes stay visible
SCORE_SHOWN = 0.5  # detections drawn from this score up (what the caption counts)
MASK_OPACITY = 0.55
LABEL_SCALE = 0.38  # cv2's font scale of a box's "class score" label
# One colour per class index (0 = background, not drawn), distinct on the scenes' random backgrounds.
CLASS_COLOURS = [(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                 (145, 30, 180), (70, 240, 240)]


@dataclass
class ScenePreview:
    """The model's view of `frames` validation frames after `epoch`: RGB images and one caption each."""

    epoch: int
    images: list[np.ndarray]  # H×W×3 uint8, SCALE × the frame size
    captions: list[str]
    legend: list[tuple[str, tuple[int, int, int]]] = field(default_factory=list)  # class name, colour
    drawn: str = ""  # what is drawn, for the title: "masks", "boxes with a score ≥ 0.5"


def draw_preview(model: nn.Module, task: str, scenes: list, class_names: list[str], epoch: int) -> ScenePreview:
    """Masks (segment) or boxes (detect) of `model` on `scenes`, drawn over the frames."""
    modes = [module.training for module in model.modules()]
    device = next(model.parameters()).device
    images = torch.from_numpy(np.stack([scene.image for scene in scenes])).permute(0, 3, 1, 2).contiguous()
    try:
        model.eval()
        with torch.inference_mode():
            if task == "segment":
                drawn = _draw_masks(model, images.to(device), scenes)
            else:
                drawn = _draw_boxes(model, images, device, scenes, class_names)
    finally:
        for module, training in zip(model.modules(), modes, strict=True):
            module.training = training
    legend = [(name, CLASS_COLOURS[index % len(CLASS_COLOURS)]) for index, name in enumerate(class_names) if index]
    what = "masks" if task == "segment" else f"boxes with a score ≥ {SCORE_SHOWN:g}"
    return ScenePreview(epoch, [image for image, _caption in drawn], [caption for _image, caption in drawn], legend,
                        what)


def _enlarged(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)


def _draw_masks(model: nn.Module, images: torch.Tensor, scenes: list) -> list[tuple[np.ndarray, str]]:
    from visionlab.core.training.scenes.scene_data import normalize_batch

    predicted = model(normalize_batch(images))["out"].argmax(1).cpu().numpy()
    colours = np.array(CLASS_COLOURS, np.float32)[np.arange(predicted.max() + 1) % len(CLASS_COLOURS)]
    drawn = []
    for scene, labels in zip(scenes, predicted, strict=True):
        image = scene.image.astype(np.float32)
        shape = labels > 0
        image[shape] = (1 - MASK_OPACITY) * image[shape] + MASK_OPACITY * colours[labels[shape]]
        correct = float((labels == scene.semantic()).mean())
        drawn.append((_enlarged(image.astype(np.uint8)), _("{share:.0%} of pixels right").format(share=correct)))
    return drawn


def _draw_boxes(model: nn.Module, images: torch.Tensor, device: torch.device, scenes: list,
                class_names: list[str]) -> list[tuple[np.ndarray, str]]:
    from visionlab.core.training.scenes.detect import predict_frames

    drawn = []
    for scene, found in zip(scenes, predict_frames(model, images, device), strict=True):
        image = _enlarged(scene.image).copy()
        scores = found.scores if found.scores is not None else np.ones(len(found.labels))  # detections have them
        keep = np.asarray(scores >= SCORE_SHOWN, bool)
        for box, label, score in zip(found.boxes[keep], found.labels[keep], scores[keep], strict=True):
            colour = CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]
            x1, y1, x2, y2 = (int(round(v * SCALE)) for v in box)
            cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), colour, 2)
            _label(image, f"{class_names[int(label)]} {score:.2f}", x1, y1, colour)
        # how close the next box is to being drawn (the GUI looks for top_mark() to explain it)
        top = f" · {top_mark()} {scores.max():.2f}" if len(scores) else ""
        boxes = (_("{count} box") if int(keep.sum()) == 1 else _("{count} boxes")).format(count=int(keep.sum()))
        shapes = (_("{count} shape in the frame") if len(scene.labels) == 1 else
                  _("{count} shapes in the frame")).format(count=len(scene.labels))
        drawn.append((image, f"{boxes}{top}\n{shapes}"))
    return drawn


def _label(image: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    """`text` above a box's top-left corner, kept inside the image, outlined so it reads on any background."""
    (width, height), _baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, 1)
    x = min(max(0, x), image.shape[1] - width - 1)
    y = max(height + 1, y - 3)
    for ink, thickness in (((0, 0, 0), 3), (colour, 1)):
        cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, ink, thickness, cv2.LINE_AA)


def top_mark() -> str:
    """The word before a frame's highest box score in its caption ("top 0.42")."""
    return _("top")
