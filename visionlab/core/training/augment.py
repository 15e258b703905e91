"""Per-image data augmentation with torchvision.transforms.v2.

A v2 transform called on a whole (N, C, H, W) batch draws ONE random choice for the batch (every image
flipped, or none), so images are transformed one by one here: each gets its own flip, angle and shift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from visionlab.core.i18n import _
from visionlab.core.training.config import AugmentSpec

if TYPE_CHECKING:
    import numpy as np


def build_transform(spec: AugmentSpec, image_size: int):
    """The v2 pipeline for `spec`, or None when nothing is switched on."""
    if not spec.active:
        return None  # and torchvision (seconds to import) is not needed at all
    from torchvision.transforms import v2

    steps = []
    if spec.hflip:
        steps.append(v2.RandomHorizontalFlip(0.5))
    if spec.vflip:
        steps.append(v2.RandomVerticalFlip(0.5))
    if spec.rotation > 0:
        steps.append(v2.RandomRotation(float(spec.rotation)))
    if spec.crop_padding > 0:
        steps.append(v2.RandomCrop(image_size, padding=int(spec.crop_padding)))
    if spec.jitter > 0:
        steps.append(v2.ColorJitter(brightness=float(spec.jitter), contrast=float(spec.jitter)))
    return v2.Compose(steps) if steps else None


def augment_batch(images: torch.Tensor, transform) -> torch.Tensor:
    """Each image of a [0, 1] batch through `transform` with its own random draw."""
    if transform is None:
        return images
    return torch.stack([transform(image) for image in images]).clamp_(0.0, 1.0)


def mosaic(images: torch.Tensor, columns: int = 8, gap: int = 1) -> np.ndarray:
    """A (rows·H, columns·W, 3) uint8 picture of a [0, 1] (N, C, H, W) batch, for previews and galleries."""
    import numpy as np

    count, channels, height, width = images.shape
    rows = max((count + columns - 1) // columns, 1)
    canvas = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    if channels == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    rgb = pixels[:, :3].permute(0, 2, 3, 1).cpu().numpy()
    for index in range(count):
        r, c = divmod(index, columns)
        top, left = r * (height + gap), c * (width + gap)
        canvas[top:top + height, left:left + width] = rgb[index]
    return canvas


def augmentation_preview(config, count: int = 16, columns: int = 8, progress=None,
                         should_stop=lambda: False) -> np.ndarray:
    """`count` training images in rows of `columns`, each row of originals followed by the same images augmented."""
    from visionlab.core.training.datasets import load_splits

    if config.dataset in ("MNIST", "Fashion-MNIST", "CIFAR-10") and progress is not None:
        progress(0.0, _("loading {name} for the preview").format(name=_(config.dataset)))
    data = load_splits(config, progress, should_stop)
    originals = data.train_x[:count]
    transform = build_transform(config.augment, data.input_shape[-1])
    torch.manual_seed(config.seed)
    augmented = augment_batch(originals, transform)
    rows = [part for start in range(0, len(originals), columns)
            for part in (originals[start:start + columns], augmented[start:start + columns])]
    return mosaic(torch.cat(rows), columns=min(columns, len(originals)), gap=1)
