"""Arranging a layer's channels into one grid image, and kernels into pictures.

Drawing 64 maps as one mosaic image is what keeps a new input under 50 ms: one texture upload instead of
64 widgets. Normalization is a teaching choice: per map shows each channel's own pattern; shared keeps
the channels comparable, so a dead channel looks dead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GAP = 2  # pixels between maps in the mosaic
KERNELS_SHOWN = 64  # deeper layers have hundreds of kernels; a grid of 64 already shows their variety


def channel_order(activation: np.ndarray, by_mean: bool) -> np.ndarray:
    """Channel indices, by descending mean activation when `by_mean`, else 0..C-1."""
    if not by_mean:
        return np.arange(activation.shape[0])
    means = activation.reshape(activation.shape[0], -1).mean(axis=1)
    return np.argsort(-means, kind="stable")


def normalize_maps(activation: np.ndarray, per_map: bool) -> np.ndarray:
    """(C, H, W) → values in [0, 1]; constant maps become 0."""
    data = activation.astype(np.float32, copy=False)
    if per_map:
        low = data.min(axis=(1, 2), keepdims=True)
        high = data.max(axis=(1, 2), keepdims=True)
    else:
        low, high = data.min(), data.max()
    span = np.where(high - low > 0, high - low, 1.0)
    return np.clip((data - low) / span, 0.0, 1.0) * (high - low > 0)


@dataclass(frozen=True)
class Mosaic:
    """The grid image and how to find a channel and pixel back from a mosaic coordinate."""

    image: np.ndarray            # (rows·(H+GAP), cols·(W+GAP)) float32 in [0, 1], NaN in the gaps
    order: np.ndarray            # order[k] = channel shown in cell k (row-major)
    columns: int
    map_height: int
    map_width: int

    def locate(self, row: float, col: float) -> tuple[int, int, int] | None:
        """(channel, y, x) under mosaic pixel (row, col), or None over a gap or outside the grid."""
        if row < 0 or col < 0:
            return None
        cell_r, y = divmod(int(row), self.map_height + GAP)
        cell_c, x = divmod(int(col), self.map_width + GAP)
        if y >= self.map_height or x >= self.map_width or cell_c >= self.columns:
            return None
        cell = cell_r * self.columns + cell_c
        if cell >= len(self.order):
            return None
        return int(self.order[cell]), y, x

    def cell_origin(self, channel: int) -> tuple[int, int]:
        """Top-left mosaic pixel of `channel`'s map."""
        cell = int(np.nonzero(self.order == channel)[0][0])
        cell_r, cell_c = divmod(cell, self.columns)
        return cell_r * (self.map_height + GAP), cell_c * (self.map_width + GAP)


def build_mosaic(activation: np.ndarray, per_map: bool = True, by_mean: bool = False,
                 columns: int | None = None) -> Mosaic:
    """A near-square grid of all C maps of a (C, H, W) activation."""
    channels, height, width = activation.shape
    order = channel_order(activation, by_mean)
    normalized = normalize_maps(activation, per_map)[order]
    columns = columns or max(1, math.ceil(math.sqrt(channels * height / max(width, 1))))
    rows = math.ceil(channels / columns)
    image = np.full((rows * (height + GAP) - GAP, columns * (width + GAP) - GAP), np.nan, dtype=np.float32)
    for cell in range(channels):
        r, c = divmod(cell, columns)
        top, left = r * (height + GAP), c * (width + GAP)
        image[top:top + height, left:left + width] = normalized[cell]
    return Mosaic(image, order, columns, height, width)


def first_layer_kernels_rgb(weight: np.ndarray, scale: int = 1) -> np.ndarray:
    """(K, 3, F, F) kernels as one RGB mosaic (uint8), each kernel stretched around zero = mid grey.

    This is how AlexNet's famous first-layer picture is drawn: colour blobs and oriented edges.
    """
    kernels = weight.transpose(0, 2, 3, 1)                        # (K, F, F, 3)
    limit = np.abs(kernels).reshape(len(kernels), -1).max(axis=1)
    limit = np.where(limit > 0, limit, 1.0)[:, None, None, None]
    pictures = ((kernels / limit) * 0.5 + 0.5).clip(0, 1)
    return _grid(pictures, scale)


def kernels_grey(weight: np.ndarray, input_channel: int | None = None, limit: int = KERNELS_SHOWN,
                 scale: int = 4) -> np.ndarray:
    """(K, D1, F, F) kernels as a grey mosaic (uint8, H×W×3): one channel slice, or the mean over inputs."""
    slices = weight[:limit, input_channel] if input_channel is not None else weight[:limit].mean(axis=1)
    peak = np.abs(slices).reshape(len(slices), -1).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0)[:, None, None]
    pictures = ((slices / peak) * 0.5 + 0.5).clip(0, 1)
    return _grid(np.repeat(pictures[..., None], 3, axis=3), scale)


def _grid(pictures: np.ndarray, scale: int) -> np.ndarray:
    count, height, width, _ = pictures.shape
    pictures = pictures.repeat(scale, axis=1).repeat(scale, axis=2)
    height, width = height * scale, width * scale
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    gap = 1
    canvas = np.ones((rows * (height + gap) + gap, columns * (width + gap) + gap, 3), dtype=np.float32)
    for index in range(count):
        r, c = divmod(index, columns)
        top, left = gap + r * (height + gap), gap + c * (width + gap)
        canvas[top:top + height, left:left + width] = pictures[index]
    return (canvas * 255).round().astype(np.uint8)
