"""What a scene task's training yields, and the config that defines it (shared by segment.py and detect.py).

A task's trainer is a generator `train(config, scenes_train, scenes_val, should_stop) -> Iterator[SceneStep |
SceneEpoch | SceneFinished]`, the same finite-job shape as the classifier's Trainer.events: the GUI's JobRunner,
`visionlab train --task segment|detect` and `visionlab bench learn` all consume it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

TASKS = ("segment", "detect")
METRIC_NAMES = {"segment": "mIoU", "detect": "mAP@0.5"}


@dataclass
class SceneConfig:
    task: str  # one of TASKS
    epochs: int = 10
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 0.0
    width: int = 32  # channels of the first conv stage; later stages double it
    frame_width: int = 160
    frame_height: int = 120
    train_frames: int = 2000
    val_frames: int = 200
    seed: int = 0  # scenes of the training set; validation uses seed + 1_000_003 (never the same frames)
    data: str = "shapes"  # "shapes" (generated) or a folder written by `visionlab shapes` (COCO)
    time_budget_s: float | None = None  # stop (as "finished") once training has run this long
    device: str = "auto"
    threads: int = 0  # 0: torch's default

    def validate(self) -> None:
        """ValueError with a sentence for values that cannot work."""
        if self.task not in TASKS:
            raise ValueError(f"the task must be one of {', '.join(TASKS)}, not '{self.task}'")
        if self.epochs < 1 or self.batch_size < 1 or self.train_frames < self.batch_size or self.val_frames < 1:
            raise ValueError("epochs, batch size and frame counts must be at least 1, and there must be at least "
                             "one batch of training frames")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError("the learning rate must be a positive number")
        if self.frame_width < 64 or self.frame_height < 64:
            raise ValueError("frames must be at least 64×64 pixels")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SceneConfig:
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def metric_name(self) -> str:
        return METRIC_NAMES[self.task]


@dataclass
class SceneStep:
    step: int  # optimizer steps so far
    epoch: float  # fractional epoch
    losses: dict[str, float]  # "loss" (the total that was minimized) plus its parts (detection: 4 of them)
    lr: float
    samples_per_s: float
    eta_s: float
    fraction: float  # of the whole run, 0..1


@dataclass
class SceneEpoch:
    epoch: int  # 1-based
    train_loss: float  # mean total loss over the epoch's steps
    val_loss: float  # total loss on the validation frames (detection: in train mode's loss terms, no grad)
    metric: float  # mIoU or mAP@0.5 on the validation frames
    metric_name: str
    losses: dict[str, float] = field(default_factory=dict)  # the epoch's mean of each part
    extra: dict = field(default_factory=dict)  # e.g. per-class IoU, pixel accuracy
    seconds: float = 0.0  # training time so far (without validation)


@dataclass
class SceneFinished:
    status: str  # "finished", "stopped", "diverged", "time budget"
    message: str
    best_epoch: int
    metric: float
    metric_name: str
    checkpoint: dict | None = None  # the checkpoint's payload pieces: {"config": ..., "state_dict": ...}
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
