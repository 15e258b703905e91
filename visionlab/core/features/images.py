"""Loading the user's images safely, and turning them into a network input.

Every way an image can be wrong ends in an ImageError with a sentence a student understands: a file that
is not an image, an empty file, a truncated one, one too large to decode (refused from its header, before
any pixel is decoded), one too small. Grayscale, RGBA, palette, 16-bit and CMYK images are converted to
8-bit RGB, the way a network trained on photos expects them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 50_000_000      # 50 megapixels: bigger images would take seconds and gigabytes to decode
MIN_SIDE = 16                # below this there is nothing for a conv net to see
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageError(ValueError):
    """An image that cannot be used, with the reason in words."""


def _to_rgb(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / 32-bit grey: PIL's convert("L") would clip at 255, so scale the real range instead.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low) * 255.0
        grey = np.round(scaled).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent pixels become white, as an image viewer would show them on a page.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))  # L, P, CMYK, YCbCr, 1 ...


def load_image(source: str | os.PathLike | bytes) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a file path or the file's bytes; raises ImageError."""
    name = "the pasted image" if isinstance(source, bytes) else Path(source).name
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty")
    elif not source:
        raise ImageError("the pasted image is empty")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        # Image.open reads only the header; the size check below happens before any pixel is decoded.
        with Image.open(stream) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{name}: {width}×{height} pixels is too large (the limit is "
                                 f"{MAX_PIXELS // 1_000_000} megapixels); scale it down first")
            if min(width, height) < MIN_SIDE:
                raise ImageError(f"{name}: {width}×{height} pixels is too small (each side needs at least "
                                 f"{MIN_SIDE} pixels)")
            image.load()
            return _to_rgb(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file VisionLab can read (PNG, JPEG, BMP, TIFF, WebP, GIF)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageError(f"{name}: the file is damaged or truncated ({exc})") from None


def resize_for_model(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Scale to cover `size` (an int: a square; or (height, width)) and crop the centre, as torchvision's
    eval transforms do for a square."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    height, width = image.shape[:2]
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
