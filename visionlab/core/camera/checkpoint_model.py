"""A scene checkpoint from the Training Monitor (a segmentation FCN or a Faster R-CNN detector, trained on
`visionlab.core.shapes` scenes) as a camera detector: the Live Camera, `visionlab detect --model CKPT`,
"Inside the model" and the bench run it exactly as they run torchvision's models.

The checkpoint carries everything needed (architecture, widths, anchors, class names, input size, the
normalization it was trained with), so nothing else is asked of the user. Its preprocessing is its own:
  - the FCN saw frames of its training size, normalized with the checkpoint's mean / std: a camera frame is
    resized to that size first (the shapes then have the sizes it learned), and its class map is resized back;
  - torchvision's FasterRCNN resizes (min_size / max_size = the training frame) and normalizes inside its own
    transform, so it gets the frame as plain [0, 1] floats, and its boxes come back in frame pixels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from visionlab.core.camera.detectors import TorchDetector
from visionlab.core.training.scenes.checkpoint import load_scene_model

# The Training Monitor's scene tasks -> the camera's task names (the overlay draws each its own way).
CAMERA_TASKS = {"segment": "segmentation", "detect": "detection"}


class CheckpointTransform:
    """uint8 3×H×W -> float: resized to `size` (H, W) when given, scaled to [0, 1], normalized when given."""

    def __init__(self, size: tuple[int, int] | None, mean: list[float] | None, std: list[float] | None) -> None:
        self.size = size
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        tensor = image.float() / 255.0
        if self.size is not None and tuple(tensor.shape[-2:]) != self.size:
            # antialias: a 640×480 frame brought down to 160×120 must not alias the thin ring outlines
            tensor = F.interpolate(tensor[None], size=self.size, mode="bilinear", align_corners=False,
                                   antialias=True)[0]
        if self.mean is not None and self.std is not None:
            tensor = (tensor - self.mean) / self.std
        return tensor


class CheckpointWeights:
    """What TorchDetector reads from a torchvision weights enum (transforms() and meta), for a checkpoint."""

    def __init__(self, transform: CheckpointTransform, categories: list[str], path: Path) -> None:
        self._transform = transform
        self.meta: dict[str, Any] = {"categories": list(categories), "checkpoint": str(path)}

    def transforms(self) -> CheckpointTransform:
        return self._transform


def build_checkpoint_detector(path: str | os.PathLike, device: str | torch.device = "cpu") -> TorchDetector:
    """A TorchDetector running the trained scene model of `path` on `device` (its weights are trained, so
    the overlay never calls them random)."""
    path = Path(path)
    # Its CheckpointError is the user's sentence: not a checkpoint, a classifier, weights that do not fit.
    model, config = load_scene_model(path)
    task = CAMERA_TASKS[config["task"]]
    class_names = [str(name) for name in config["class_names"]]
    if task == "segmentation":
        height, width = (int(v) for v in config["input_shape"][-2:])
        normalize = config.get("normalize") or {}
        transform = CheckpointTransform((height, width), normalize.get("mean"), normalize.get("std"))
    else:  # its score threshold stays the trained model's own (set low, for the panel's slider to filter)
        transform = CheckpointTransform(None, None, None)
    # Named by its path: the picker, the settings and the measured FPS tell two runs' best.pt files apart.
    return TorchDetector(str(path), task, model, CheckpointWeights(transform, class_names, path), pretrained=True,
                         device=device)
