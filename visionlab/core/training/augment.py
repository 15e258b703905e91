"""Per-image data augmentation with torchvision.transforms.v2.

A v2 transform called on a whole (N, C, H, W) batch draws ONE random choice for the batch (every image
flipped, or none), so images are transformed one by one here: each gets its own flip, angle and shift.
"""

from __future__ import annotations

import torch

from visionlab.core.training.config import AugmentSpec


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
