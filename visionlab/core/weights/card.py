"""The vocabulary of the weights store: a model's card and the errors the user can cause.

Kept free of torch so that a panel can show cards and messages without paying for `import torch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from visionlab.core.errors import UserError
from visionlab.core.jobs import JobCancelled

TASKS = ("detection", "instance", "segmentation", "classification")

# torchvision's convention (torch.hub.HASH_REGEX): "resnet18-f37072fd.pth" embeds the first hex digits of
# the file's sha256. We insist on at least 6 digits so an ordinary dash in a name is not read as a hash.
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{6,64})\.[A-Za-z0-9]+$")


class WeightsError(UserError):
    """Anything the user can cause (unknown model, no network, a bad file); the message says what to do."""


class DownloadCancelled(WeightsError, JobCancelled):
    """`should_stop()` turned true during a download; nothing was left in the cache.

    A JobCancelled too, so a JobWorker reports it as `cancelled`, not as a failure. The store raises it in
    place of visionlab.core.download.DownloadCancelled, so callers need to know only the weights' errors.
    """


@dataclass(frozen=True)
class ModelCard:
    """What a student (and a panel) needs to know about one pretrained model, read from torchvision."""

    name: str  # torchvision builder name, e.g. "resnet18"
    task: str  # one of TASKS
    weights_name: str  # e.g. "ResNet18_Weights.IMAGENET1K_V1"
    url: str
    file_name: str  # basename of url; carries the sha256 prefix
    num_params: int
    file_size_mb: float | None  # MiB, as torchvision's meta["_file_size"]
    gflops: float | None  # meta["_ops"]: billions of multiply-adds of one forward pass (torchvision calls them GFLOPS)
    metrics: dict[str, float] = field(hash=False)  # published, e.g. {"box_map": 22.8}
    categories: tuple[str, ...] = ()
    min_size: tuple[int, int] | None = None
    trained_on: str = ""  # the data set of the published weights, e.g. "ImageNet" (from the enum's name)

    @property
    def sha256_prefix(self) -> str | None:
        return hash_prefix(self.file_name)

    def summary(self) -> str:
        """One line for lists and tooltips: size, cost and the published score."""
        parts = [f"{self.num_params / 1e6:.1f} M params"]
        if self.file_size_mb is not None:
            parts.append(f"{self.file_size_mb:.0f} MB")
        if self.gflops is not None:
            parts.append(f"{self.gflops:g} G mult-adds")
        parts += [f"{key} {value:g}" for key, value in self.metrics.items()]
        return f"{self.name} ({self.task}): " + ", ".join(parts)


def hash_prefix(file_name: str) -> str | None:
    """The sha256 prefix embedded in a torchvision-style file name, or None when there is none."""
    match = _HASH_IN_NAME.search(file_name)
    return match.group(1) if match else None


def check_task(task: str | None) -> None:
    if task is not None and task not in TASKS:
        raise WeightsError(f"unknown task '{task}': choose one of {', '.join(TASKS)}")
