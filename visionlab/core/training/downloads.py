"""MNIST, Fashion-MNIST and CIFAR-10 downloaded on demand into the user data folder, with progress and cancel.

torchvision's own `download=True` blocks without progress or cancel, so the files are fetched here in
chunks (the same mirrors and checksums torchvision uses), then torchvision parses them with download=False.
Offline, the error names the offline sets instead of showing a network traceback.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from visionlab.core import paths
from visionlab.core.training.datasets import DatasetError, ImageSet

Progress = Callable[[float, str], None]
CHUNK = 1 << 16
OFFLINE_HINT = "The offline data sets 'digits' and 'shapes' work without a network."


class DownloadCancelled(DatasetError):
    """The user pressed cancel; the partial file was removed."""


def download_file(url: str, dest: Path, md5: str | None = None, progress: Progress | None = None,
                  should_stop: Callable[[], bool] = lambda: False, timeout: float = 20.0) -> Path:
    """Fetch `url` into `dest` through a `.part` file renamed only when complete and (if given) md5-checked."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                if should_stop():
                    raise DownloadCancelled(f"download of {dest.name} cancelled")
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    fraction = done / total if total else 0.0
                    progress(fraction, f"{dest.name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")
    except DownloadCancelled:
        partial.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"could not download {url} ({reason}). You may be offline. {OFFLINE_HINT}") from None
    if md5 is not None and digest.hexdigest() != md5:
        partial.unlink(missing_ok=True)
        raise DatasetError(f"{dest.name} arrived damaged (checksum mismatch); try again")
    os.replace(partial, dest)
    return dest


def _dataset_root() -> Path:
    return paths.subdir("datasets")


def _fetch_mnist_like(cls, progress: Progress | None, should_stop, mirror: str | None) -> None:
    from torchvision.datasets.utils import extract_archive

    raw = Path(_dataset_root()) / cls.__name__ / "raw"
    files = list(cls.resources)
    for number, (filename, md5) in enumerate(files):
        unpacked = raw / filename.removesuffix(".gz")
        if unpacked.exists():
            continue
        errors = []
        for base in ([mirror] if mirror else cls.mirrors):
            def scaled(fraction: float, message: str, n=number) -> None:
                if progress is not None:
                    progress((n + fraction) / len(files), message)
            try:
                archive = download_file(f"{base}{filename}", raw / filename, md5 if mirror is None else None,
                                        scaled, should_stop)
                break
            except DownloadCancelled:
                raise
            except DatasetError as exc:
                errors.append(str(exc))
        else:
            raise DatasetError(errors[-1])
        extract_archive(str(archive), str(raw), remove_finished=True)


def load_download_set(name: str, progress: Progress | None = None,
                      should_stop: Callable[[], bool] = lambda: False, mirror: str | None = None) -> ImageSet:
    """The training part of a torchvision set (downloaded first if missing); we split it ourselves."""
    import torchvision.datasets as tvd

    root = str(_dataset_root())
    if name in ("MNIST", "Fashion-MNIST"):
        cls = tvd.MNIST if name == "MNIST" else tvd.FashionMNIST
        _fetch_mnist_like(cls, progress, should_stop, mirror)
        try:
            data = cls(root, train=True, download=False)
        except RuntimeError as exc:
            raise DatasetError(f"{name} files in {root} are incomplete ({exc}); delete them and download again")
        images = data.data.float().div(255.0).unsqueeze(1)
        return ImageSet(name, images, data.targets.long(), list(data.classes))
    if name == "CIFAR-10":
        folder = Path(root) / tvd.CIFAR10.base_folder
        if not folder.exists():
            url = tvd.CIFAR10.url if mirror is None else f"{mirror}{tvd.CIFAR10.filename}"
            archive = download_file(url, Path(root) / tvd.CIFAR10.filename, tvd.CIFAR10.tgz_md5 if mirror is None
                                    else None, progress, should_stop)
            from torchvision.datasets.utils import extract_archive

            extract_archive(str(archive), root, remove_finished=True)
        try:
            data = tvd.CIFAR10(root, train=True, download=False)
        except RuntimeError as exc:
            raise DatasetError(f"CIFAR-10 files in {root} are damaged ({exc}); delete them and download again")
        images = torch.from_numpy(np.ascontiguousarray(data.data.transpose(0, 3, 1, 2))).float().div(255.0)
        return ImageSet(name, images, torch.tensor(data.targets, dtype=torch.int64), list(data.classes))
    raise DatasetError(f"unknown download set '{name}'")
