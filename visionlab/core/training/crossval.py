"""k-fold cross-validation with the real trainer: per-fold curves, mean ± std per epoch, out-of-fold score.

The pool is the training + validation part of the split (the test part stays untouched); each fold trains a
fresh model (same seed, so folds differ only by their data) on k−1 folds and validates on the remaining one.
Every sample is predicted exactly once by a model that never saw it: the out-of-fold accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import DataSplits
from visionlab.core.training.trainer import EpochReport, Trainer


class Cancelled(Exception):
    """The user stopped the experiment."""


@dataclass
class CrossValidation:
    fold_val_acc: list[list[float]]  # [fold][epoch]
    fold_val_loss: list[list[float]]
    mean_acc: list[float]  # per epoch, over folds
    std_acc: list[float]
    out_of_fold_acc: float
    k: int
    stratified: bool


def cross_validate(config: TrainConfig, data: DataSplits, k: int = 5, stratified: bool = True,
                   progress: Callable[[float, str], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> CrossValidation:
    from sklearn.model_selection import KFold, StratifiedKFold

    if not 2 <= k <= 20:
        raise ValueError("k must be between 2 and 20")
    pool_x = torch.cat([data.train_x, data.val_x])
    pool_y = torch.cat([data.train_y, data.val_y])
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=k, shuffle=True, random_state=config.seed)
    fold_acc, fold_loss = [], []
    out_of_fold = np.full(len(pool_y), -1, np.int64)
    folds = list(splitter.split(np.zeros(len(pool_y)), pool_y.numpy()))
    for number, (train_idx, val_idx) in enumerate(folds):
        fold_data = DataSplits(data.name, data.class_names, pool_x[train_idx], pool_y[train_idx], pool_x[val_idx],
                               pool_y[val_idx], data.test_x, data.test_y, data.mean, data.std)
        trainer = Trainer(config.with_change("restore_best", False), fold_data)
        accs, losses = [], []
        for event in trainer.events(should_stop):
            if isinstance(event, EpochReport):
                accs.append(event.val_acc)
                losses.append(event.val_loss)
                if progress is not None:
                    progress((number + event.epoch / config.epochs) / k,
                             f"fold {number + 1}/{k}, epoch {event.epoch}: val acc {event.val_acc:.1%}")
        if should_stop():
            raise Cancelled("cross-validation stopped")
        _, _, logits = trainer.evaluate(trainer.val_x, trainer.val_y)
        out_of_fold[val_idx] = logits.argmax(1).cpu().numpy()
        fold_acc.append(accs)
        fold_loss.append(losses)
    table = np.array(fold_acc)
    return CrossValidation(fold_acc, fold_loss, table.mean(0).tolist(), table.std(0).tolist(),
                           float((out_of_fold == pool_y.numpy()).mean()), k, stratified)
