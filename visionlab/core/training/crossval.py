"""k-fold cross-validation with the real trainer: per-fold curves, mean ± std per epoch, out-of-fold score.

The pool is the training + validation part of the split (the test part stays untouched); each fold trains a
fresh model (same seed, so folds differ only by their data) on k−1 folds and validates on the remaining one.
Every sample is predicted exactly once by a model that never saw it: the out-of-fold accuracy.

With early stopping on, folds stop at different epochs, so the per-epoch curves have different lengths: the
mean and spread at an epoch are taken over the folds still training then, and each fold's score is that of
the weights it ended with (the restored best epoch, or the last).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from visionlab.core.i18n import _
from visionlab.core.jobs import JobCancelled
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import DataSplits
from visionlab.core.training.trainer import EpochReport, Finished, Trainer


@dataclass
class CrossValidation:
    fold_val_acc: list[list[float]]  # [fold][epoch]; folds that stopped early have shorter lists
    fold_val_loss: list[list[float]]
    mean_acc: list[float]  # per epoch, over the folds still training at that epoch
    std_acc: list[float]
    folds_at_epoch: list[int]  # how many folds each mean_acc entry averages
    fold_of_sample: np.ndarray  # for each pool sample (training share, then validation share): its held-out fold
    out_of_fold_predictions: np.ndarray  # each pool sample's class, predicted by the fold model that did not see it
    pool_labels: np.ndarray
    fold_acc: list[float]  # each fold model's accuracy on its own held-out fold
    fold_weights_epoch: list[int]  # the epoch whose weights made the fold's predictions
    fold_status: list[str]  # the trainer's status per fold: "finished" or "early stopped"
    out_of_fold_acc: float
    k: int
    stratified: bool


def _channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std, as datasets.split computes them, from the fold's training images only:
    the held-out fold's pixels must not shape its own normalization either."""
    channels = images.transpose(0, 1).flatten(1)
    return channels.mean(dim=1).tolist(), channels.std(dim=1).clamp_min(1e-3).tolist()


def fold_splits(data: DataSplits, k: int, stratified: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's (Stratified)KFold over the pool, shuffled with the run's seed."""
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = torch.cat([data.train_y, data.val_y]).numpy()
    splitter = (StratifiedKFold if stratified else KFold)(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


def cross_validate(config: TrainConfig, data: DataSplits, k: int = 5, stratified: bool = True,
                   progress: Callable[[float, str], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False) -> CrossValidation:
    if not 2 <= k <= 20:
        raise ValueError(_("k must be between 2 and 20"))
    pool_x = torch.cat([data.train_x, data.val_x])
    pool_y = torch.cat([data.train_y, data.val_y])
    fold_val_acc: list[list[float]] = []
    fold_val_loss: list[list[float]] = []
    fold_acc, weights_epochs, statuses = [], [], []
    out_of_fold = np.full(len(pool_y), -1, np.int64)
    fold_of_sample = np.full(len(pool_y), -1, np.int64)
    for number, (train_idx, val_idx) in enumerate(fold_splits(data, k, stratified, config.seed)):
        mean, std = _channel_stats(pool_x[train_idx])
        fold_data = DataSplits(data.name, data.class_names, pool_x[train_idx], pool_y[train_idx], pool_x[val_idx],
                               pool_y[val_idx], data.test_x, data.test_y, mean, std)
        trainer = Trainer(config, fold_data)
        accs, losses, finished = [], [], None
        for event in trainer.events(should_stop):
            if isinstance(event, EpochReport):
                accs.append(event.val_acc)
                losses.append(event.val_loss)
                if progress is not None:
                    progress((number + event.epoch / config.epochs) / k,
                             _("fold {fold}/{k}, epoch {epoch}: val acc {acc:.1%}").format(
                                 fold=number + 1, k=k, epoch=event.epoch, acc=event.val_acc))
            elif isinstance(event, Finished):
                finished = event
        if should_stop() or finished is None or finished.status == "stopped":
            raise JobCancelled()
        if finished.status == "diverged":
            raise ValueError(_("fold {fold} diverged ({reason})").format(fold=number + 1, reason=finished.message))
        # The weights the trainer ended with (restored best or last) predict the fold they never trained on.
        _loss, accuracy, logits = trainer.evaluate(trainer.val_x, trainer.val_y)
        out_of_fold[val_idx] = logits.argmax(1).cpu().numpy()
        fold_of_sample[val_idx] = number
        fold_val_acc.append(accs)
        fold_val_loss.append(losses)
        fold_acc.append(accuracy)
        weights_epochs.append(finished.weights_epoch)
        statuses.append(finished.status)
    mean_acc, std_acc, counts = ragged_mean_std(fold_val_acc)
    labels = pool_y.numpy()
    return CrossValidation(fold_val_acc, fold_val_loss, mean_acc, std_acc, counts, fold_of_sample, out_of_fold,
                           labels, fold_acc, weights_epochs, statuses, float((out_of_fold == labels).mean()), k,
                           stratified)


def ragged_mean_std(rows: list[list[float]]) -> tuple[list[float], list[float], list[int]]:
    """Mean, std (ddof 0) and count per column over the rows long enough to have that column."""
    length = max((len(row) for row in rows), default=0)
    table = np.full((len(rows), length), np.nan)
    for number, row in enumerate(rows):
        table[number, :len(row)] = row
    counts = (~np.isnan(table)).sum(0)
    return np.nanmean(table, 0).tolist(), np.nanstd(table, 0).tolist(), counts.tolist()


def kfold_summary(result: CrossValidation) -> str:
    """What the plot shows, from the result's numbers; the caveat is said only when it applies."""
    scores = np.array(result.fold_acc)
    text = (_("{k}-fold stratified CV on {count} images") if result.stratified else
            _("{k}-fold CV on {count} images")).format(k=result.k, count=len(result.pool_labels))
    text += " " + _("(training + validation shares): out-of-fold accuracy {acc:.1%}, every image predicted once, by "
                    "the fold model that did not train on it; per fold {mean:.1%} ± {std:.1%} (from {low:.1%} to "
                    "{high:.1%}).").format(acc=result.out_of_fold_acc, mean=scores.mean(), std=scores.std(),
                                           low=scores.min(), high=scores.max())
    lengths = [len(accs) for accs in result.fold_val_acc]
    stopped = result.fold_status.count("early stopped")
    if stopped:
        text += " " + (_("Early stopping ended {stopped} of {k} folds (epochs trained: {epochs}); at each epoch the "
                         "band covers the folds still training.") if len(set(lengths)) > 1 else
                       _("Early stopping ended {stopped} of {k} folds (epochs trained: {epochs}).")).format(
            stopped=stopped, k=result.k, epochs=", ".join(map(str, lengths)))
    restored = [epoch for epoch, length in zip(result.fold_weights_epoch, lengths, strict=True) if epoch != length]
    if restored:
        text += " " + (_("{count} folds scored with the weights of their lowest validation loss.") if len(restored) > 1
                       else _("{count} fold scored with the weights of its lowest validation loss.")).format(
            count=len(restored))
    if stopped or restored:
        # The stopping point or the kept epoch was chosen on the held-out fold itself.
        text += " " + _("Those choices used the held-out fold's loss, so the estimate is slightly optimistic.")
    return text
