"""Data sets as in-memory tensors: images scaled to [0, 1], shape (N, C, H, W), integer labels.

Offline sets: scikit-learn's digits (1797 real 8×8 handwritten digits) and generated shapes (circle, square,
triangle pointing up, triangle pointing down: a vertical flip turns one triangle class into the other, which
is what makes the augmentation lesson visible). MNIST, Fashion-MNIST and CIFAR-10 come through
`downloads.py`; any folder with one sub-folder per class through `load_image_folder`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from visionlab.core.errors import UserError
from visionlab.core.i18n import N_, _

if TYPE_CHECKING:
    from visionlab.core.training.config import TrainConfig

OFFLINE_SETS = ("digits", "shapes")
DOWNLOAD_SETS = ("MNIST", "Fashion-MNIST", "CIFAR-10")
DATASET_NAMES = OFFLINE_SETS + DOWNLOAD_SETS + (N_("image folder"),)  # stored in English, shown translated
DATASET_TITLES = (N_("digits"), N_("shapes"))  # the offline sets, shown translated too
SHAPE_CLASSES = ["circle", "square", "triangle up", "triangle down"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class DatasetError(UserError):
    """A data set that cannot be used; the message is written for the user."""


@dataclass
class ImageSet:
    """A whole data set before splitting."""

    name: str
    images: torch.Tensor  # float32 in [0, 1], (N, C, H, W)
    labels: torch.Tensor  # int64, (N,)
    class_names: list[str]


@dataclass
class DataSplits:
    """Train / validation / test tensors plus what a checkpoint needs to rebuild the input pipeline."""

    name: str
    class_names: list[str]
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: list[float] = field(default_factory=list)  # per channel, of the training images
    std: list[float] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, -1, 1, 1)
        return (images - mean) / std


def load_digits() -> ImageSet:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)  # pixel values are 0..16
    return ImageSet("digits", images, torch.from_numpy(bunch.target.astype(np.int64)), [str(d) for d in range(10)])


def make_shapes(count: int = 800, size: int = 28, noise: float = 0.1, seed: int = 0) -> ImageSet:
    """`count` grayscale images of random position and scale, classes balanced, Gaussian pixel noise `noise`."""
    if not 8 <= size <= 128 or not 8 <= count <= 100_000 or not 0.0 <= noise <= 1.0:
        raise DatasetError(_("shapes: size must be 8..128 pixels, count 8..100000 and noise 0..1"))
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.zeros((count, 1, size, size), np.float32)
    labels = np.arange(count) % len(SHAPE_CLASSES)
    rng.shuffle(labels)
    for index, label in enumerate(labels):
        radius = rng.uniform(0.2, 0.35) * size
        cx, cy = rng.uniform(radius, size - radius, 2)
        dx, dy = xx - cx, yy - cy
        if label == 0:
            mask = dx ** 2 + dy ** 2 <= radius ** 2
        elif label == 1:
            half = radius * 0.85
            mask = (np.abs(dx) <= half) & (np.abs(dy) <= half)
        else:
            # Apex at the top (y grows downwards) for "up"; mirrored vertically for "down".
            v = dy if label == 2 else -dy
            mask = (v >= -radius) & (v <= radius * 0.7) & (np.abs(dx) <= (v + radius) * 0.577)
        images[index, 0][mask] = 1.0
    images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    images = np.clip(images, 0.0, 1.0)
    return ImageSet("shapes", torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), list(SHAPE_CLASSES))


def load_image_folder(folder: str | os.PathLike, size: int = 32, grayscale: bool = False,
                      should_stop: Callable[[], bool] = lambda: False) -> ImageSet:
    """One sub-folder per class; every image resized to size×size. Clear errors for empty or broken folders."""
    from PIL import Image, UnidentifiedImageError

    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(_("'{folder}' is not a folder").format(folder=root))
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise DatasetError(_("'{name}' needs at least two sub-folders, one per class (found {count}); e.g. "
                             "{name}/cats/*.jpg and {name}/dogs/*.jpg").format(name=root.name, count=len(class_dirs)))
    images, labels, broken = [], [], []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(_("class folder '{name}' holds no images ({suffixes})").format(
                name=class_dir.name, suffixes=", ".join(sorted(IMAGE_SUFFIXES))))
        for file in files:
            if should_stop():
                raise DatasetError(_("loading the image folder was cancelled"))
            try:
                with Image.open(file) as img:
                    img = img.convert("L" if grayscale else "RGB").resize((size, size))
                    array = np.asarray(img, np.float32) / 255.0
            except (UnidentifiedImageError, OSError, ValueError):
                broken.append(f"{class_dir.name}/{file.name}")
                continue
            images.append(array[None] if grayscale else array.transpose(2, 0, 1))
            labels.append(label)
    if broken and len(broken) >= len(images):
        raise DatasetError(_("most images could not be read, e.g. {files}").format(files=", ".join(broken[:3])))
    counts = np.bincount(np.array(labels, np.int64), minlength=len(class_dirs))
    if counts.min() < 2:
        raise DatasetError(_("class '{name}' has fewer than 2 readable images").format(
            name=class_dirs[int(counts.argmin())].name))
    return ImageSet(root.name, torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64),
                    [p.name for p in class_dirs])


def split(data: ImageSet, val_fraction: float = 0.2, test_fraction: float = 0.1, seed: int = 0,
          limit: int | None = None) -> DataSplits:
    """Stratified train / validation / test split with a fixed seed (the same seed gives the same split)."""
    from sklearn.model_selection import train_test_split

    if not 0.05 <= val_fraction <= 0.5 or not 0.0 <= test_fraction <= 0.5 or val_fraction + test_fraction >= 0.8:
        raise DatasetError(_("validation must be 5-50 % and test 0-50 % of the data, together under 80 %"))
    indices = np.arange(len(data.labels))
    labels = data.labels.numpy()
    if limit is not None and limit < len(indices):  # a quicker subset of big sets, still stratified
        indices, _rest = train_test_split(indices, train_size=limit, stratify=labels, random_state=seed)
    held_out = val_fraction + test_fraction
    try:
        train_idx, rest = train_test_split(indices, test_size=held_out, stratify=labels[indices], random_state=seed)
        if test_fraction > 0:
            val_idx, test_idx = train_test_split(rest, test_size=test_fraction / held_out,
                                                 stratify=labels[rest], random_state=seed)
        else:
            val_idx, test_idx = rest, rest[:0]
    except ValueError as exc:
        raise DatasetError(_("cannot split {name} this way ({reason}); use more images or smaller fractions").format(
            name=data.name, reason=exc)) from None
    train_x = data.images[train_idx]
    channels = train_x.transpose(0, 1).flatten(1)
    std = channels.std(dim=1).clamp_min(1e-3)
    return DataSplits(data.name, list(data.class_names), train_x, data.labels[train_idx], data.images[val_idx],
                      data.labels[val_idx], data.images[test_idx], data.labels[test_idx],
                      channels.mean(dim=1).tolist(), std.tolist())


def load_splits(config: TrainConfig, progress: Callable[[float, str], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False, mirror: str | None = None) -> DataSplits:
    """The data set named by `config`, split with its seed (downloads first for the torchvision sets)."""
    if config.dataset == "digits":
        data = load_digits()
    elif config.dataset == "shapes":
        data = make_shapes(config.shapes_count, config.shapes_size, config.shapes_noise, config.seed)
    elif config.dataset in DOWNLOAD_SETS:
        from visionlab.core.training.downloads import load_download_set  # torchvision: only when needed

        data = load_download_set(config.dataset, progress, should_stop, mirror)
    elif config.dataset == "image folder":
        if not config.folder:
            raise DatasetError(_("choose an image folder first (one sub-folder per class)"))
        data = load_image_folder(config.folder, config.folder_size, should_stop=should_stop)
    else:
        raise DatasetError(_("unknown data set '{name}'").format(name=config.dataset))
    return split(data, config.val_fraction, config.test_fraction, config.seed, config.data_limit)
