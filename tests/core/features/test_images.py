"""Every kind of image a student may drop on the viewer: a clear message or a correct RGB array."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from visionlab.core.features.images import ImageError, load_image, resize_for_model, to_batch


def _huge_png_header(path, width: int, height: int) -> None:
    """A PNG that claims width×height in its header, with almost no data (nothing to decode)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_huge_image_is_refused_from_its_header(tmp_path) -> None:
    path = tmp_path / "huge.png"
    _huge_png_header(path, 20_000, 20_000)
    start = time.perf_counter()
    with pytest.raises(ImageError, match="20000×20000|too large"):
        load_image(path)
    assert time.perf_counter() - start < 1.0  # no 1.2 GB decode happened


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"this is not an image at all", "not an image"),
])
def test_empty_and_non_image_files(tmp_path, content, message) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        load_image(path)


def test_truncated_jpeg_and_tiny_image(tmp_path) -> None:
    full = tmp_path / "full.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(full)
    data = full.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(cut)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 40)).save(tiny)
    with pytest.raises(ImageError, match="too small"):
        load_image(tiny)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_modes_become_8_bit_rgb(tmp_path) -> None:
    grey = tmp_path / "grey.png"
    Image.new("L", (20, 20), 77).save(grey)
    assert load_image(grey)[0, 0].tolist() == [77, 77, 77]

    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(rgba)  # fully transparent red shows as white
    assert load_image(rgba)[5, 5].tolist() == [255, 255, 255]

    deep = tmp_path / "deep.png"
    values = np.linspace(0, 60000, 20 * 20).reshape(20, 20).astype(np.uint16)
    Image.fromarray(values).save(deep)  # 16-bit grey: convert("L") would clip everything to 255
    loaded = load_image(deep)
    assert loaded.dtype == np.uint8 and loaded[0, 0, 0] == 0 and loaded[-1, -1, 0] == 255
    assert 100 < loaded[10, 0, 0] < 155

    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(cmyk)  # cyan 0, magenta and yellow full: red
    red = load_image(cmyk)[10, 10]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert load_image(grey.read_bytes()).shape == (20, 20, 3)  # pasted bytes work too


def test_resize_and_batch() -> None:
    image = np.zeros((100, 300, 3), dtype=np.uint8)
    image[:, 140:160] = 255  # a white bar in the centre survives the centre crop
    square = resize_for_model(image, 64)
    assert square.shape == (64, 64, 3) and square[32, 32, 0] == 255
    wide = resize_for_model(image, (20, 90))  # a checkpoint trained on non-square inputs
    assert wide.shape == (20, 90, 3) and wide[10, 45, 0] == 255 and wide[10, 2, 0] == 0
    batch = to_batch(square)
    assert batch.shape == (1, 3, 64, 64)
    assert batch[0, 0, 0, 0].item() == pytest.approx((0 - 0.485) / 0.229)
    # The same tensor torchvision's ToTensor + Normalize make (what the ImageNet weights were trained with).
    import torch
    import torchvision.transforms.functional as TF

    photo = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    expected = TF.normalize(TF.to_tensor(photo), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    assert torch.allclose(to_batch(photo)[0], expected, atol=1e-5)
    grey = to_batch(photo, channels=1, mean=None, std=None)[0, 0]
    assert torch.allclose(grey, TF.to_tensor(photo).mean(dim=0), atol=1e-6)
