"""Scenes as training tensors: generated or read once, kept as uint8, normalized a batch at a time.

Keeping the frames as uint8 (N×3×H×W) and the label maps as uint8 (N×H×W) is 4× and 8× smaller than float32
and int64: 2000 frames of 160×120 take 150 MB instead of 460 MB + 300 MB, and converting one batch costs far
less than the convolutions that follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from visionlab.core.errors import UserError
from visionlab.core.i18n import _
from visionlab.core.training.scenes.events import SceneConfig

# The generator draws every colour uniformly from 0..255, so a pixel's mean is ≈0.5 and its standard
# deviation ≈0.29 in [0, 1] units; these fixed values (written into each checkpoint) need no pass over the
# data, and a folder written by `visionlab shapes` comes from the same generator.
SCENE_MEAN = (0.5, 0.5, 0.5)
SCENE_STD = (0.29, 0.29, 0.29)
VALIDATION_SEED_OFFSET = 1_000_003  # SceneConfig's rule: validation frames never share the training seed


class SceneDataError(UserError):
    """Scenes that cannot be trained on (an empty folder, frames of different sizes); the message says why."""


def load_scenes(config: SceneConfig) -> tuple[list, list]:
    """(train, val) scenes as the config asks: generated from its seeds, or read from a COCO folder (whose frames
    are split: the last val_frames for validation, the rest, up to train_frames, for training)."""
    if config.data == "shapes":
        from visionlab.core.shapes.scenes import make_scenes

        size = {"width": config.frame_width, "height": config.frame_height}
        return (make_scenes(config.train_frames, config.seed, **size),
                make_scenes(config.val_frames, config.seed + VALIDATION_SEED_OFFSET, **size))
    folder = Path(config.data)
    if not folder.is_dir():
        raise SceneDataError(_("'{data}' is neither 'shapes' nor a folder written by `visionlab shapes`").format(
            data=config.data))
    from visionlab.core.shapes.coco import read_coco

    scenes = read_coco(folder)
    if len(scenes) < 2:
        raise SceneDataError(_("{folder} holds {count} frame(s); training and validation need at least 2").format(
            folder=folder.name, count=len(scenes)))
    val_count = min(config.val_frames, max(1, len(scenes) // 5))
    return scenes[:-val_count][:config.train_frames], scenes[-val_count:]


@dataclass
class SceneTensors:
    images: torch.Tensor  # N×3×H×W uint8
    labels: torch.Tensor  # N×H×W uint8 (class index per pixel, 0 = background)

    def __len__(self) -> int:
        return len(self.images)


def scenes_to_tensors(scenes: list) -> SceneTensors:
    """Stack scenes (image H×W×3 uint8, .semantic() H×W) once; SceneDataError if their sizes differ."""
    if not scenes:
        raise SceneDataError(_("there are no frames to train or validate on"))
    shapes = {scene.image.shape for scene in scenes}
    if len(shapes) > 1:
        sizes = ", ".join(f"{shape[1]}×{shape[0]}" for shape in shapes)
        raise SceneDataError(_("the frames have different sizes ({sizes}); a batch needs one size").format(sizes=sizes))
    images = np.stack([scene.image for scene in scenes]).transpose(0, 3, 1, 2)
    labels = np.stack([scene.semantic() for scene in scenes]).astype(np.uint8)
    return SceneTensors(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels))


def normalize_batch(images: torch.Tensor, mean: tuple | list = SCENE_MEAN,
                    std: tuple | list = SCENE_STD) -> torch.Tensor:
    """uint8 N×3×H×W (on any device) -> float32, scaled to [0, 1], then (x - mean) / std per channel."""
    mean_t = torch.tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255.0 - mean_t) / std_t


def class_pixel_fractions(labels: torch.Tensor, num_classes: int) -> list[float]:
    """The share of all pixels each class covers (background ≈ 0.89 in generated scenes)."""
    counts = torch.bincount(labels.reshape(-1).long(), minlength=num_classes)[:num_classes].double()
    return [float(value) for value in counts / max(1.0, float(counts.sum()))]
