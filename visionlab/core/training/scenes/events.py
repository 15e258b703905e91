"""What a scene task's training yields, and the config that defines it (shared by segment.py and detect.py).

A task's trainer is a generator `train(config, scenes_train, scenes_val, should_stop) -> Iterator[SceneStep |
SceneEpoch | SceneFinished]`, the same finite-job shape as the classifier's Trainer.events: the GUI's JobRunner,
`visionlab train --task segment|detect` and `visionlab bench learn` all consume it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from visionlab.core.i18n import N_, _

TASKS = (N_("segment"), N_("detect"))  # task keys, shown translated
STATUSES = (N_("time budget"),)  # a scene run's own end status (the others are the trainer's), shown translated
METRIC_NAMES = {"segment": "mIoU", "detect": "mAP@0.5"}
# Measured by `visionlab bench learn` on this project's 2-core CPU: width 16 and batch 8 reached mIoU 0.87 in
# 300 s (≈25 epochs of 2 000 frames) and mAP@0.5 0.87–0.91 in 480 s (≈9 epochs); width 32 costs 1.7× the CPU
# time per frame. One torch thread: on a shared 2-core machine two threads stall each other at every op.
TASK_DEFAULTS: dict[str, dict] = {
    "segment": {"width": 16, "batch_size": 8, "lr": 1.2e-2, "epochs": 20, "threads": 1},
    "detect": {"width": 16, "batch_size": 8, "lr": 2e-3, "weight_decay": 1e-4, "epochs": 8, "threads": 1},
}


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
    time_budget_s: float | None = None  # stop (status "time budget") once training has run this long
    device: str = "auto"
    threads: int = 0  # 0: torch's default

    def validate(self) -> None:
        """ValueError with a sentence for values that cannot work."""
        if self.task not in TASKS:
            raise ValueError(_("the task must be one of {choices}, not '{task}'").format(choices=", ".join(TASKS),
                                                                                         task=self.task))
        if self.epochs < 1 or self.batch_size < 1 or self.train_frames < self.batch_size or self.val_frames < 1:
            raise ValueError(_("epochs, batch size and frame counts must be at least 1, and there must be at least "
                               "one batch of training frames"))
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(_("the learning rate must be a positive number"))
        if self.frame_width < 64 or self.frame_height < 64:
            raise ValueError(_("frames must be at least 64×64 pixels"))
        if self.frame_width > 4096 or self.frame_height > 4096:  # as `visionlab shapes`: memory, not a traceback
            raise ValueError(_("frames must be at most 4096×4096 pixels"))
        if self.time_budget_s is not None and not (math.isfinite(self.time_budget_s) and self.time_budget_s > 0):
            raise ValueError(_("the time budget must be a positive number of seconds"))  # NaN would never stop

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SceneConfig:
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)

    @classmethod
    def for_task(cls, task: str) -> SceneConfig:
        """The settings a run of `task` starts from in the GUI and `visionlab train`: what `visionlab bench
        learn` measured to reach its targets within its budgets on a 2-core CPU (see TASK_DEFAULTS)."""
        return cls(task=task, **TASK_DEFAULTS.get(task, {}))

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
    seconds: float = 0.0  # wall time of the run so far, validations included (what a time budget counts)
    # The model being trained, for a consumer in the same process that draws what it does now (the GUI's
    # preview frames, between epochs): not part of the numbers, never serialized or compared.
    model: Any = field(default=None, repr=False, compare=False)


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
