"""Data sets: shapes, image folders with clear errors, stratified seeded splits, downloads from a local server."""

import functools
import http.server
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from visionlab.core.training.datasets import DatasetError, load_digits, load_image_folder, make_shapes, split
from visionlab.core.training.downloads import DownloadCancelled, download_file


def test_shapes_classes_and_vertical_flip_changes_the_triangle_class():
    shapes = make_shapes(count=40, size=24, noise=0.0, seed=3)
    assert shapes.images.shape == (40, 1, 24, 24) and torch.bincount(shapes.labels).tolist() == [10] * 4
    def top_and_bottom_widths(image):
        rows = image.sum(1).nonzero().flatten()
        return image[rows[0]].sum().item(), image[rows[-1]].sum().item()

    up_top, up_bottom = top_and_bottom_widths(shapes.images[shapes.labels == 2][0, 0])
    down_top, down_bottom = top_and_bottom_widths(shapes.images[shapes.labels == 3][0, 0])
    assert up_top < up_bottom and down_top > down_bottom
    flip_top, flip_bottom = top_and_bottom_widths(torch.flip(shapes.images[shapes.labels == 2][0, 0], dims=[0]))
    assert flip_top > flip_bottom  # a flipped "up" triangle looks like the "down" class
    noisy = make_shapes(count=8, size=16, noise=0.3, seed=0)
    assert 0.0 <= noisy.images.min() and noisy.images.max() <= 1.0


def test_split_is_stratified_repeatable_and_normalizes():
    data = load_digits()
    a, b = split(data, 0.2, 0.1, seed=7), split(data, 0.2, 0.1, seed=7)
    assert torch.equal(a.val_y, b.val_y)
    assert len(a.train_y) + len(a.val_y) + len(a.test_y) == 1797
    shares = torch.bincount(a.val_y, minlength=10).float() / len(a.val_y)
    assert (shares - 0.1).abs().max() < 0.02
    normalized = a.normalize(a.train_x)
    assert abs(normalized.mean().item()) < 1e-4 and abs(normalized.std().item() - 1) < 1e-2
    with pytest.raises(DatasetError, match="validation"):
        split(data, 0.9, 0.0)


def _write_folder(root, counts):
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(np.full((10, 12, 3), 40 * i % 255, np.uint8)).save(root / name / f"{i}.png")


def test_image_folder_loads_and_explains_problems(tmp_path):
    _write_folder(tmp_path / "good", {"cats": 3, "dogs": 4})
    data = load_image_folder(tmp_path / "good", size=16)
    assert data.class_names == ["cats", "dogs"] and data.images.shape == (7, 3, 16, 16)
    _write_folder(tmp_path / "one", {"only": 3})
    with pytest.raises(DatasetError, match="at least two sub-folders"):
        load_image_folder(tmp_path / "one")
    _write_folder(tmp_path / "empty", {"a": 2, "b": 0})
    with pytest.raises(DatasetError, match="'b' holds no images"):
        load_image_folder(tmp_path / "empty")
    _write_folder(tmp_path / "broken", {"a": 1, "b": 1})
    for name in ("a", "b"):
        (tmp_path / "broken" / name / "x.jpg").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="could not be read"):
        load_image_folder(tmp_path / "broken")
    with pytest.raises(DatasetError, match="not a folder"):
        load_image_folder(tmp_path / "absent")


@pytest.fixture()
def local_server(tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "blob.bin").write_bytes(bytes(range(256)) * 2048)  # 512 KiB
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "served"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_reports_progress_checks_md5_and_cancels(local_server, tmp_path):
    import hashlib

    expected = hashlib.md5(bytes(range(256)) * 2048).hexdigest()
    seen = []
    path = download_file(local_server + "blob.bin", tmp_path / "d" / "blob.bin", expected,
                         progress=lambda f, m: seen.append(f))
    assert path.stat().st_size == 512 * 1024 and seen[-1] == pytest.approx(1.0) and len(seen) > 2
    with pytest.raises(DatasetError, match="damaged"):
        download_file(local_server + "blob.bin", tmp_path / "d" / "bad.bin", "0" * 32)
    with pytest.raises(DownloadCancelled):
        download_file(local_server + "blob.bin", tmp_path / "d" / "c.bin", should_stop=lambda: True)
    assert not list((tmp_path / "d").glob("*.part")) and not (tmp_path / "d" / "c.bin").exists()


def test_offline_download_names_the_offline_sets(tmp_path):
    # Nothing listens on port 9 of 127.0.0.1: the same error a user without a network sees.
    with pytest.raises(DatasetError, match="offline data sets 'digits' and 'shapes'"):
        download_file("http://127.0.0.1:9/mnist.gz", tmp_path / "mnist.gz", timeout=2)


def test_augmentation_preview_pairs_each_image_with_its_own_random_flip():
    from visionlab.core.training.augment import augmentation_preview
    from visionlab.core.training.config import AugmentSpec, TrainConfig

    config = TrainConfig(dataset="shapes", shapes_count=64, shapes_size=12, shapes_noise=0.0,
                         augment=AugmentSpec(vflip=True))
    picture = augmentation_preview(config, count=16, columns=8)
    assert picture.shape == (4 * 12 + 3, 8 * 12 + 7, 3)
    flipped = kept = 0
    for row in (0, 2):
        for col in range(8):
            top = picture[row * 13:row * 13 + 12, col * 13:col * 13 + 12, 0]
            below = picture[(row + 1) * 13:(row + 1) * 13 + 12, col * 13:col * 13 + 12, 0]
            if np.array_equal(below, top[::-1]) and not np.array_equal(top, top[::-1]):
                flipped += 1
            elif np.array_equal(below, top):
                kept += 1
    assert flipped + kept == 16 and flipped > 0 and kept > 0  # drawn per image, not once per batch


def _idx_gz(path, array, magic):
    import gzip
    import struct

    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_mnist_download_and_parse_from_a_local_mirror(tmp_path):
    # A tiny MNIST in the real idx.gz format, served over HTTP on 127.0.0.1: download, unpack, parse.
    import functools
    import http.server
    import threading

    from visionlab.core.training.config import TrainConfig
    from visionlab.core.training.datasets import load_splits

    served = tmp_path / "mirror"
    served.mkdir()
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 60), ("t10k", 10)):
        _idx_gz(served / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)), 0x803)
        _idx_gz(served / f"{prefix}-labels-idx1-ubyte.gz", np.arange(count) % 10, 0x801)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        seen = []
        data = load_splits(TrainConfig(dataset="MNIST", val_fraction=0.2, test_fraction=0.2),
                           progress=lambda f, m: seen.append(m),
                           mirror=f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
    assert data.input_shape == (1, 28, 28) and len(data.class_names) == 10
    assert len(data.train_y) + len(data.val_y) + len(data.test_y) == 60  # the training part, split by us
    assert any("train-images" in m for m in seen)
