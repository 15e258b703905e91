"""The one loader for the user's images, shared by every entry point that takes one.

Feature Maps' Open / Paste / drop and the Live Camera's image and folder sources all come here, so a file
gets the same limits and the same sentence wherever a student picks it. Every way an image can be wrong
ends in an ImageError naming the file and the reason: missing, empty, unreadable, not an image, damaged
or cut short, too large (refused from its header, before any pixel is decoded), too small, or so
elongated that a model would scale it into a sliver. Each refusal is one WARNING line in the log (the
sentence, plus the decoder's own words where it had some), never a traceback: a bad file is the user's
everyday event, not a bug.

Grayscale, RGBA, palette, 16-bit and CMYK images become 8-bit RGB, the way a network trained on photos
expects them, and a phone photo is turned upright by its EXIF orientation (as OpenCV's imread does).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visionlab.core.errors import UserError

log = logging.getLogger(__name__)

MAX_PIXELS = 50_000_000  # 50 megapixels: bigger images take seconds and gigabytes to decode
MIN_SIDE = 16            # below this there is nothing for a conv net to see
MAX_ASPECT = 10          # a segmenter scales the short side to 520 px: 1×5000 would become 520×2.6 M pixels
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
READABLE = "PNG, JPEG, BMP, TIFF, WebP, GIF"
TOO_LARGE = f"is too large (the limit is {MAX_PIXELS // 1_000_000} megapixels); scale it down first"
LISTED_SKIPS = 3  # a folder's summary names this many skipped files; the log has every one


class ImageError(UserError, ValueError):
    """An image that cannot be used: `name` (the file, or "the pasted image") and `reason`, in words."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


def _refused(name: str, reason: str, detail: str = "") -> ImageError:
    log.warning("image refused: %s: %s%s", name, reason, f" ({detail})" if detail else "")
    return ImageError(name, reason)


def size_problem(width: int, height: int) -> str | None:
    """Why a width×height picture cannot be used, or None when it can (the same limits everywhere)."""
    if width * height > MAX_PIXELS:
        return f"{width}×{height} pixels {TOO_LARGE}"
    if min(width, height) < MIN_SIDE:
        return f"{width}×{height} pixels is too small (each side needs at least {MIN_SIDE} pixels)"
    if max(width, height) > MAX_ASPECT * min(width, height):
        return (f"{width}×{height} pixels is too elongated (the longer side may be at most {MAX_ASPECT} times "
                "the shorter); crop it first")
    return None


def check_size(width: int, height: int, name: str = "the image") -> None:
    """Raise ImageError when a width×height picture is outside the limits."""
    problem = size_problem(width, height)
    if problem is not None:
        raise _refused(name, problem)


def _display_name(source: str | os.PathLike | bytes, name: str | None) -> str:
    if name is not None:
        return name
    return "the pasted image" if isinstance(source, bytes) else Path(source).name


@contextlib.contextmanager
def _opened(source: str | os.PathLike | bytes, name: str) -> Iterator[Image.Image]:
    """The image with only its header read and its size checked; decoder errors become ImageErrors."""
    if isinstance(source, bytes):
        if not source:
            raise _refused(name, "the image is empty")
        stream: IO[bytes] = io.BytesIO(source)
    else:
        path = Path(source)
        # is_file also refuses a FIFO or a device named like an image: opening one could block forever.
        if not path.is_file():
            raise _refused(name, "a folder, not an image file" if path.is_dir() else "no such file")
        try:
            if path.stat().st_size == 0:
                raise _refused(name, "the file is empty")
            stream = path.open("rb")
        except PermissionError:
            raise _refused(name, "VisionLab may not read this file (permission denied)") from None
        except OSError as exc:
            raise _refused(name, "the file cannot be read", exc.strerror or str(exc)) from None
    with stream:
        try:
            with Image.open(stream) as image:
                width, height = image.size
                check_size(width, height, name)
                yield image
        except ImageError:
            raise
        except UnidentifiedImageError:
            raise _refused(name, f"not an image file VisionLab can read ({READABLE})") from None
        except Image.DecompressionBombError as exc:
            # PIL refuses such a header itself, before we see the size (its threshold is over our limit);
            # its message carries the pixel count, which is what the student needs to hear.
            claimed = re.search(r"\((\d+) pixels\)", str(exc))
            size = (f"{int(claimed.group(1)) // 1_000_000:,} megapixels" if claimed else
                    f"more than {2 * (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000:,} megapixels")
            raise _refused(name, f"{size} {TOO_LARGE}") from None
        except MemoryError:
            raise _refused(name, "too large to decode in the memory left") from None
        except Exception as exc:  # decoders raise many types on malformed data (OSError, SyntaxError, zlib...)
            raise _refused(name, "the file is damaged or cut short", f"{type(exc).__name__}: {exc}") from None


def probe_image(path: str | os.PathLike, name: str | None = None) -> tuple[int, int]:
    """(width, height) from the header alone, after the same checks load_image makes before decoding.

    Cheap (no pixel is decoded), so a folder can sort out most bad files before it plays; a file that is
    cut short is only found when it is decoded.
    """
    with _opened(path, _display_name(path, name)) as image:
        return image.size


def load_image(source: str | os.PathLike | bytes | np.ndarray, name: str | None = None) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a file path, the file's bytes, or an already decoded array
    (a pasted or dropped picture: grey, RGB or RGBA, 8- or 16-bit); raises ImageError."""
    if isinstance(source, np.ndarray):
        return _from_array(source, name or "the image")
    name = _display_name(source, name)
    with _opened(source, name) as image:  # a decoding error in here is turned into an ImageError there
        image.load()
        return _to_rgb(_upright(image), name)


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block: the pixels are still good, show them as stored
        return image


def _from_array(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise _refused(name, f"an array of shape {array.shape} is not a grey, RGB or RGBA picture")
    check_size(array.shape[1], array.shape[0], name)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
        return np.ascontiguousarray(array)
    if array.dtype not in (np.uint8, np.uint16) or (array.dtype == np.uint16 and array.ndim == 3):
        raise _refused(name, f"{array.dtype} {'colour' if array.ndim == 3 else 'grey'} pixels are not supported "
                             "(8-bit grey / RGB / RGBA or 16-bit grey)")
    return _to_rgb(Image.fromarray(np.ascontiguousarray(array)), name)


def _to_rgb(image: Image.Image, name: str) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / 32-bit grey: PIL's convert("L") would clip at 255, so scale the real range instead.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low) * 255.0
        grey = np.round(scaled).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    try:
        if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
            # Transparent pixels become white, as an image viewer would show them on a page.
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
        return np.asarray(image.convert("RGB"))  # L, P, CMYK, YCbCr, 1 ...
    except ValueError as exc:  # a colour mode PIL cannot turn into RGB (LAB, HSV...)
        raise _refused(name, f"its {mode} colour mode cannot be shown as RGB", str(exc)) from None


def skipped_summary(skipped: Sequence[ImageError], total: int) -> str:
    """"3 of 12 files skipped: a.png: the file is empty; ..." naming the first few, or "" when none."""
    if not skipped:
        return ""
    listed = "; ".join(f"{error.name}: {error.reason}" for error in skipped[:LISTED_SKIPS])
    more = len(skipped) - LISTED_SKIPS
    tail = f"; and {more} more (each is a line in the log)" if more > 0 else ""
    return f"{len(skipped)} of {total} files skipped: {listed}{tail}"
