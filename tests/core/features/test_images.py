"""Every kind of image a student may drop on the viewer: a clear message or a correct RGB array."""

from __future__ import annotations

import io
import struct
import time

import cv2
import numpy as np
import pytest
from bad_images import huge_png
from PIL import Image

from visionlab.core.features.images import ImageError, load_image, resize_for_model, to_batch


def _huge_jpeg_header(path, width: int, height: int) -> None:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim width×height."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("write, width, height, claimed", [
    (huge_png, 100_000, 100_000, "10,000 megapixels"),  # over PIL's own bomb limit
    (huge_png, 8_000, 7_000, "8000×7000 pixels"),  # under PIL's limit, over ours (50 MP)
    (_huge_jpeg_header, 60_000, 60_000, "3,600 megapixels"),
])
def test_huge_image_is_refused_from_its_header(tmp_path, caplog, write, width, height, claimed) -> None:
    path = tmp_path / "huge.img"
    write(path, width, height)
    start = time.perf_counter()
    with pytest.raises(ImageError) as refused:
        load_image(path)
    assert time.perf_counter() - start < 1.0  # refused from the header: no gigabyte decode happened
    assert str(refused.value) == f"huge.img: {claimed} is too large (the limit is 50 megapixels); scale it down first"
    _assert_one_warning(caplog, "huge.img")


def _assert_one_warning(caplog, name: str) -> None:
    """A refused file is one WARNING line in the log, never an ERROR or a traceback."""
    records = [record for record in caplog.records if name in record.getMessage()]
    assert len(records) == 1 and records[0].levelname == "WARNING" and records[0].exc_info is None
    assert "\n" not in records[0].getMessage()


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"), (b"this is not an image at all", "not an image file VisionLab can read"),
])
def test_empty_and_non_image_files(tmp_path, caplog, content, message) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=f"^bad.png: {message}"):
        load_image(path)
    _assert_one_warning(caplog, "bad.png")


def test_truncated_jpeg_is_refused_while_the_whole_file_loads(tmp_path, caplog) -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    full = tmp_path / "full.jpg"
    Image.fromarray(pixels).save(full, quality=95)
    # The whole file is a good image: the same pixels OpenCV's own JPEG decoder reads from it.
    reference = cv2.cvtColor(cv2.imread(str(full)), cv2.COLOR_BGR2RGB)
    assert np.abs(load_image(full).astype(int) - reference.astype(int)).max() <= 2
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])  # its header is whole, its pixels are not
    with pytest.raises(ImageError, match="^cut.jpg: the file is damaged or cut short$"):
        load_image(cut)
    _assert_one_warning(caplog, "cut.jpg")
    with pytest.raises(ImageError, match="^missing.png: no such file$"):
        load_image(tmp_path / "missing.png")


@pytest.mark.parametrize("width, height, problem", [
    (1, 1, "1×1 pixels is too small"), (1, 300, "1×300 pixels is too small"), (8, 40, "8×40 pixels is too small"),
    (16, 400, "16×400 pixels is too elongated"),
])
def test_degenerate_sizes_are_refused(tmp_path, width, height, problem) -> None:
    path = tmp_path / "strip.png"
    Image.new("RGB", (width, height)).save(path)
    with pytest.raises(ImageError, match=f"^strip.png: {problem}"):
        load_image(path)
    with pytest.raises(ImageError, match=f"^the pasted image: {problem}"):  # decoded by Qt: the same limits
        load_image(np.zeros((height, width, 3), np.uint8), "the pasted image")
    with pytest.raises(ImageError, match=problem):  # and the model input refuses it, not a division by zero
        resize_for_model(np.zeros((height, width, 3), np.uint8), 224)
    Image.new("RGB", (16, 160)).save(path)  # the smallest side and the most elongated shape allowed load
    assert load_image(path).shape == (160, 16, 3)


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
