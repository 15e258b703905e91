"""MNIST, Fashion-MNIST and CIFAR-10 downloaded on demand into the user data folder, with progress and cancel.

torchvision's own `download=True` blocks without progress or cancel, so the files are fetched here through
VisionLab's one downloader (visionlab.core.download: resume, stall timeout, md5 check, atomic rename) from
the same mirrors and with the same checksums torchvision uses; torchvision then parses them with
download=False. Offline, the error names the offline sets instead of showing a network traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from visionlab.core import download as shared
from visionlab.core import paths
from visionlab.core.download import Progress
from visionlab.core.i18n import N_, _
from visionlab.core.jobs import JobCancelled
from visionlab.core.training.datasets import DatasetError, ImageSet

OFFLINE_HINT = N_("The offline data sets 'digits' and 'shapes' work without a network.")


class DownloadCancelled(DatasetError, JobCancelled):
    """The user pressed cancel; the partial file was removed. A DatasetError, so the training worker shows it."""


def download_file(url: str, dest: Path, md5: str | None = None, progress: Progress | None = None,
                  should_stop: Callable[[], bool] = lambda: False, timeout: float = 20.0) -> Path:
    """Fetch `url` into `dest`, md5-checked when `md5` is given; gives up after `timeout` s without a byte.

    A thin call of the shared downloader that turns its errors into the data sets' own DatasetError and
    DownloadCancelled, which the training worker and the callers below catch.
    """
    try:
        return shared.fetch(url, Path(dest), hash_name="md5", expected=md5, progress=progress,
                            should_stop=should_stop, stall_timeout=timeout, offline_hint=_(OFFLINE_HINT))
    except shared.DownloadCancelled as exc:
        raise DownloadCancelled(str(exc)) from None
    except shared.DownloadError as exc:
        raise DatasetError(str(exc)) from None


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
            raise DatasetError(_("{name} files in {folder} are incomplete ({reason}); delete them and download "
                                 "again").format(name=name, folder=root, reason=exc)) from None
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
            raise DatasetError(_("CIFAR-10 files in {folder} are damaged ({reason}); delete them and download "
                                 "again").format(folder=root, reason=exc)) from None
        images = torch.from_numpy(np.ascontiguousarray(data.data.transpose(0, 3, 1, 2))).float().div(255.0)
        return ImageSet(name, images, torch.tensor(data.targets, dtype=torch.int64), list(data.classes))
    raise DatasetError(_("unknown download set '{name}'").format(name=name))
