"""Turning the user's image into a network input: scale and centre-crop, then the batch tensor.

Loading (every check, every sentence) is the shared loader's, `visionlab.core.images`, the same one the
Live Camera's image sources use; its names are re-exported here for the viewer and its input bar.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from visionlab.core.images import IMAGE_SUFFIXES, MAX_PIXELS, MIN_SIDE, ImageError, check_size, load_image

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_SUFFIXES", "MAX_PIXELS", "MIN_SIDE", "ImageError", "check_size",
           "load_image", "resize_for_model", "to_batch"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resize_for_model(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Scale to cover `size` (an int: a square; or (height, width)) and crop the centre, as torchvision's
    eval transforms do for a square."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    height, width = image.shape[:2]
    # A pasted or dropped picture reaches here without the loader (Qt decoded it): the same limits hold, so
    # a 1×5000 strip gets the loader's sentence instead of a division by zero or a 1.1-million-pixel resize.
    check_size(width, height)
    scale = max(out_h / height, out_w / width)
    new_w, new_h = max(out_w, round(width * scale)), max(out_h, round(height * scale))
    resized = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR))
    top, left = (new_h - out_h) // 2, (new_w - out_w) // 2
    return np.ascontiguousarray(resized[top:top + out_h, left:left + out_w])


def to_batch(image: np.ndarray, channels: int = 3, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """(H, W, 3) uint8 → (1, channels, H, W) float tensor in [0, 1], then (x − mean)/std when given.

    A one-channel model (a digits checkpoint) gets the grey level, the mean of R, G and B. Done in numpy:
    on a busy 2-core machine torch's threaded element-wise ops cost tens of ms for a 224×224 image, numpy
    well under one.
    """
    import torch

    pixels = image.astype(np.float32) * np.float32(1 / 255.0)
    if channels != 3:
        pixels = np.repeat(pixels.mean(axis=2, keepdims=True), channels, axis=2)
    if mean is not None and std is not None:
        pixels = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))).unsqueeze(0)
