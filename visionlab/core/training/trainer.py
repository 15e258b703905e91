"""The trainer: a Qt-free generator that trains one model and yields what a student should watch.

`Trainer(config, data).events(should_stop)` yields `StepReport`s (every `report_every` steps: mean loss and
accuracy since the last report, learning rate, per-layer gradient norms, samples/s, ETA), one `EpochReport`
per epoch (train and validation loss / accuracy, best epoch, early-stopping counter) and a final `Finished`
(status, confusion matrix, misclassified validation images, and the final weights' train / validation / test
accuracy: the test share's one evaluation). Pausing needs nothing here: a generator that
is not advanced does not run. Values are pulled from the device only once per report, never per step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from visionlab.core.i18n import N_, _
from visionlab.core.training.augment import augment_batch, build_transform
from visionlab.core.training.config import TrainConfig
from visionlab.core.training.datasets import DataSplits
from visionlab.core.training.histograms import HistogramTracker
from visionlab.core.training.metrics import confusion_matrix, misclassified
from visionlab.core.training.models import build_model, parameter_count
from visionlab.core.training.optimizers import build_optimizer, lr_at

if TYPE_CHECKING:
    from visionlab.core.training.distributed import TrainingGroup

EVAL_BATCH = 512
# Validation images whose layer outputs are histogrammed: the smallest layer (10 logits) still gives 320 values
# for 64 bins, and the probe's forward pass, most of a snapshot's cost, is half that of 64 images.
HISTOGRAM_PROBE = 32
HISTOGRAM_SHARE = 0.01  # histogram snapshots may cost about this share of training time...
HISTOGRAM_MIN_SNAPSHOTS = 12  # ...unless that leaves a run fewer snapshots than this: too few to see change
# The eval-mode train accuracy is measured on a fixed sample of training images as large as the validation
# set (at least this many, at most TRAIN_EVAL_MAX): one more validation-sized pass per epoch.
TRAIN_EVAL_MIN, TRAIN_EVAL_MAX = 256, 2048


@dataclass
class StepReport:
    step: int  # optimizer steps done so far
    epoch: float  # fractional epoch, for plotting steps and epochs on one axis
    train_loss: float
    train_acc: float
    lr: float
    grad_norms: dict[str, float]
    samples_per_s: float
    eta_s: float
    fraction: float


@dataclass
class EpochReport:
    epoch: int  # 1-based
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    best_epoch: int
    best_val_loss: float
    patience_used: int  # epochs since the best one (the early-stopping counter)
    improved: bool
    # train_loss / train_acc above are running means over the epoch's steps, in train mode (dropout on, batch
    # statistics, augmented and noisy inputs, weights changing). These are measured like val_*: eval mode,
    # after the epoch, on a fixed sample of un-augmented training images. The diagnosis compares these.
    train_eval_loss: float = math.nan
    train_eval_acc: float = math.nan
    histograms: dict = field(default_factory=dict)  # layer → {"weights": counts, "activations": counts}; {} if skipped
    histogram_ranges: dict = field(default_factory=dict)  # "layer/kind" → half-width of the fixed bins


@dataclass
class Finished:
    status: str  # "finished", "early stopped", "stopped", "diverged"
    message: str
    best_epoch: int
    confusion: list[list[int]] = field(default_factory=list)
    mistakes: list[dict] = field(default_factory=list)
    # The final weights, measured once when the run ends, all in eval mode. weights_epoch: the completed
    # epoch they come from (the restored best, else the last; a stop in mid-epoch adds that epoch's steps).
    weights_epoch: int = 0
    restored: bool = False  # the best epoch's weights replaced the last ones
    train_acc: float = math.nan  # on the same fixed training sample as EpochReport.train_eval_acc
    val_loss: float = math.nan
    val_acc: float = math.nan
    # The held-out test share is evaluated here only, never during training: a number that steered the
    # run (early stopping, the best epoch, the student's next settings) would no longer be a test.
    test_loss: float | None = None  # None: no test share, or weights that diverged
    test_acc: float | None = None
    test_count: int = 0


# Run statuses: stored in run.json and compared in English, shown translated.
STATUSES = (N_("finished"), N_("early stopped"), N_("stopped"), N_("diverged"), N_("running"), N_("new"), N_("failed"))


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Trainer:
    def __init__(self, config: TrainConfig, data: DataSplits, report_every: int = 5,
                 start_epoch: int = 0, state: dict | None = None, group: TrainingGroup | None = None) -> None:
        """`group`: this process's place in a torchrun run (distributed.py); None trains in this process alone."""
        config.validate()
        self.config, self.data, self.report_every, self.group = config, data, max(report_every, 1), group
        self.device = group.device if group else pick_device(config.device)
        torch.manual_seed(config.seed)  # same seed: same initial weights (on every rank of a group, too)
        self.model = build_model(config.model, data.input_shape, len(data.class_names)).to(self.device)
        self.parameter_count = parameter_count(self.model)
        self.optimizer = build_optimizer(config.optimizer, self.model.parameters(), config.optimizer_params,
                                         config.weight_decay)
        self.base_lr = config.learning_rate
        self.start_epoch = start_epoch
        if state is not None:  # resuming: weights and optimizer moments of the last saved epoch
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        self.best_state = self._copy_weights()
        # Training steps go through DDP (it averages the gradients); everything else (evaluation, state
        # dicts, histograms) uses the plain model, whose parameters are the same tensors.
        self._train_model = group.wrap(self.model) if group else self.model
        self.epoch = start_epoch
        self._weighted = [(name, p) for name, p in self.model.named_parameters() if p.dim() > 1]
        self._transform = build_transform(config.augment, data.input_shape[-1])
        self.train_x = data.train_x.to(self.device)
        self.train_y = data.train_y.to(self.device)
        self.val_x = data.normalize(data.val_x.to(self.device))
        self.val_y = data.val_y.to(self.device)
        # A fixed sample (same seed, same images every epoch), never augmented or noised.
        size = min(len(data.train_y), max(len(data.val_y), TRAIN_EVAL_MIN), TRAIN_EVAL_MAX)
        sample = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(config.seed))[:size]
        self.train_eval_x = data.normalize(data.train_x[sample].to(self.device))
        self.train_eval_y = data.train_y[sample].to(self.device)
        self.histograms = HistogramTracker(self.model, self.val_x[:HISTOGRAM_PROBE])
        self._histogram_every = 1

    @property
    def steps_per_epoch(self) -> int:
        if self.group:
            return self.group.steps_per_epoch(len(self.train_y), self.config.batch_size)
        return math.ceil(len(self.train_y) / self.config.batch_size)

    def model_config(self) -> dict:
        """The checkpoint config that rebuilds this model (see checkpoint.py)."""
        return {"model": self.config.model.to_dict(), "dataset": self.data.name,
                "input_shape": list(self.data.input_shape), "class_names": list(self.data.class_names),
                "normalize": {"mean": list(self.data.mean), "std": list(self.data.std)}}

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float, torch.Tensor]:
        """Mean loss, accuracy and the logits over already-normalized images, in eval mode."""
        self.model.eval()
        with torch.no_grad():
            logits = torch.cat([self.model(images[i:i + EVAL_BATCH]) for i in range(0, len(images), EVAL_BATCH)])
            loss = nn.functional.cross_entropy(logits, labels).item()
            acc = (logits.argmax(1) == labels).float().mean().item()
        self.model.train()
        return loss, acc, logits

    def _train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step; returns the batch's mean loss and its logits (both detached)."""
        cfg = self.config
        images = self.data.normalize(augment_batch(images, self._transform))
        if cfg.input_noise > 0:
            images = images + cfg.input_noise * torch.randn_like(images)
        noises = []
        if cfg.weight_noise > 0:  # perturb, take the gradient there, restore before the update
            with torch.no_grad():
                for _name, p in self._weighted:
                    noise = cfg.weight_noise * torch.randn_like(p)
                    p.add_(noise)
                    noises.append(noise)
        logits = self._train_model(images)
        loss = nn.functional.cross_entropy(logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if noises:
            with torch.no_grad():
                for (_name, p), noise in zip(self._weighted, noises, strict=True):
                    p.sub_(noise)
        self.optimizer.step()
        # Accuracy is not computed here: the report takes the window's logits at once (fewer small ops a step).
        return loss.detach(), logits.detach()

    def events(self, should_stop: Callable[[], bool] = lambda: False,
               stop_reason: Callable[[], str] = lambda: N_("stopped by the user"),
               ) -> Iterator[StepReport | EpochReport | Finished]:
        """`stop_reason` is asked once, when `should_stop` said yes: who stopped the run, for its message."""
        threads = torch.get_num_threads()
        if self.device.type == "cpu":
            torch.set_num_threads(self.config.cpu_threads)
        try:
            yield from self._events(should_stop, stop_reason)
        finally:
            torch.set_num_threads(threads)

    def _events(self, should_stop: Callable[[], bool],
                stop_reason: Callable[[], str]) -> Iterator[StepReport | EpochReport | Finished]:
        cfg, group = self.config, self.group
        batch_size = group.local_batch(cfg.batch_size) if group else cfg.batch_size
        if group:  # a stop anywhere (a signal, a request) is a stop everywhere, at the same step
            should_stop = group.agreed_stop(should_stop)
        order = torch.Generator().manual_seed(cfg.seed)  # same seed: same batches in the same order
        for _epoch in range(self.start_epoch):  # a resumed run continues the same data order
            torch.randperm(len(self.train_y), generator=order)
        total_steps = cfg.epochs * self.steps_per_epoch
        step = self.start_epoch * self.steps_per_epoch
        best_loss, best_epoch, waited = math.inf, self.start_epoch, 0
        started, started_step = time.perf_counter(), step
        blocked_s = 0.0  # time spent inside should_stop (a paused run waits there): not training, not speed
        status, message = "finished", _("trained {epochs} epochs").format(epochs=cfg.epochs)
        best_logits = last_logits = None  # validation logits of the best / latest epoch (reused by finish)
        lr = math.nan  # no step yet: the first scheduled value always differs and is written
        for epoch in range(self.start_epoch, cfg.epochs):
            epoch_started = time.perf_counter()
            perm = (group.epoch_order(len(self.train_y), epoch, cfg.seed) if group else
                    torch.randperm(len(self.train_y), generator=order)).to(self.device)
            # Epoch sums are Python numbers built from the values each report pulls anyway. A window keeps
            # (loss, logits, labels) per step; its accuracy and weighted loss are a few ops per report
            # instead of five small tensor ops every step (a tiny model's step is ~3 ms of Python dispatch).
            loss_sum, correct, epoch_seen = 0.0, 0, 0
            window: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
            for start in range(0, len(perm), batch_size):
                asked = time.perf_counter()
                stop = should_stop()
                blocked_s += time.perf_counter() - asked
                if stop:
                    reason = stop_reason()  # an N_-marked English reason, translated here
                    status, message = "stopped", _("{reason} in epoch {epoch}").format(reason=_(reason),
                                                                                          epoch=epoch + 1)
                    break
                step_lr = lr_at(step, total_steps, self.base_lr, cfg.schedule,
                                cfg.step_every_epochs * self.steps_per_epoch, cfg.step_gamma)
                if step_lr != lr:
                    lr = step_lr
                    for param_group in self.optimizer.param_groups:
                        param_group["lr"] = lr
                index = perm[start:start + batch_size]
                labels = self.train_y[index]
                loss, logits = self._train_step(self.train_x[index], labels)
                step += 1
                window.append((loss, logits, labels))
                if step % self.report_every == 0 or start + batch_size >= len(perm):
                    window_loss, window_correct, window_seen = self._window_sums(window)  # one device sync
                    if group:  # all ranks' images: the same numbers everywhere, and a NaN anywhere stops all
                        summed = group.summed([window_loss, window_correct, window_seen])
                        window_loss, window_correct, window_seen = summed[0], int(summed[1]), int(summed[2])
                    window = []
                    mean_loss = window_loss / window_seen
                    if not math.isfinite(mean_loss):
                        status = "diverged"
                        message = _("the loss became {loss} at step {step}: lower the learning rate").format(
                            loss=mean_loss, step=step)
                        break
                    loss_sum += window_loss
                    correct += window_correct
                    epoch_seen += window_seen
                    elapsed = time.perf_counter() - started - blocked_s
                    speed = (step - started_step) * cfg.batch_size / max(elapsed, 1e-9)
                    yield StepReport(step, epoch + start / len(perm), mean_loss, window_correct / window_seen,
                                     lr, self.grad_norms(), speed,
                                     (total_steps - step) * cfg.batch_size / max(speed, 1e-9), step / total_steps)
            if status != "finished":
                break
            val_loss, val_acc, last_logits = self.evaluate(self.val_x, self.val_y)
            if group:  # rank 0's numbers steer early stopping and the best epoch on every rank alike
                val_loss, val_acc = group.rank0_values([val_loss, val_acc])
            if not math.isfinite(val_loss):
                status, message = "diverged", _("the validation loss became {loss} in epoch {epoch}").format(
                    loss=val_loss, epoch=epoch + 1)
                last_logits = None
                break
            self.epoch = epoch + 1
            train_eval_loss, train_eval_acc, _logits = self.evaluate(self.train_eval_x, self.train_eval_y)
            improved = val_loss < best_loss
            if improved:
                best_loss, best_epoch, waited = val_loss, epoch + 1, 0
                self.best_state = self._copy_weights()
                best_logits = last_logits
            else:
                waited += 1
            yield EpochReport(epoch + 1, loss_sum / max(epoch_seen, 1), correct / max(epoch_seen, 1),
                              val_loss, val_acc, lr, best_epoch, best_loss, waited, improved,
                              train_eval_loss=train_eval_loss, train_eval_acc=train_eval_acc,
                              histograms=self._histograms_for(epoch + 1, time.perf_counter() - epoch_started),
                              histogram_ranges=dict(self.histograms.ranges))
            if cfg.early_stopping and waited >= cfg.patience:
                status = "early stopped"
                message = _("validation loss did not improve for {waited} epochs (best epoch {best})").format(
                    waited=waited, best=best_epoch)
                break
        # The final confusion matrix needs validation logits of the final weights. When those are the weights
        # of an epoch that was just evaluated (the last one, or the restored best), its logits are reused:
        # same weights in eval mode give the same logits, so a second pass would only cost time.
        final_logits = last_logits if status in ("finished", "early stopped") else None
        weights_epoch, restored = self.epoch, False
        # Restoring is said only when it changed the weights: a best epoch that is the last one keeps them.
        # A stopped run keeps its last weights (it may be resumed from them).
        if cfg.restore_best and best_epoch > 0 and status in ("finished", "early stopped", "diverged") \
                and (best_epoch != self.epoch or status == "diverged"):
            self.model.load_state_dict(self.best_state)
            weights_epoch, restored = best_epoch, True
            message += _("; weights of epoch {epoch} (lowest validation loss) restored").format(epoch=best_epoch)
            final_logits = best_logits if best_epoch > self.start_epoch else None
        yield self.finish(status, message, best_epoch, final_logits, weights_epoch, restored)

    @staticmethod
    def _window_sums(window: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> tuple[float, int, int]:
        """(Σ batch loss × batch size, correct predictions, samples) over the steps since the last report."""
        hits = (torch.cat([logits for _loss, logits, _labels in window]).argmax(1) ==
                torch.cat([labels for _loss, _logits, labels in window])).sum()
        # Losses and hit count leave the device together: one sync per report.
        losses = torch.stack([loss for loss, _logits, _labels in window]).float()
        values = torch.cat([losses, hits.view(1).float()]).tolist()
        sizes = [len(labels) for _loss, _logits, labels in window]
        # `values` ends with the hit count, one more than `sizes`: zip stops before it.
        return sum(loss * size for loss, size in zip(values, sizes, strict=False)), int(values[-1]), sum(sizes)

    def _histograms_for(self, epoch: int, epoch_seconds: float) -> dict:
        """A histogram snapshot at this epoch, or {} when skipped to keep their cost near HISTOGRAM_SHARE.

        A snapshot costs ~1-5 ms here; a digits epoch can take 50 ms, so on such tiny epochs only every k-th
        epoch is histogrammed (the view holds each snapshot until the next). k never leaves a run fewer than
        HISTOGRAM_MIN_SNAPSHOTS (a 10-epoch run gets every epoch, whatever it costs), and the first and the
        last epoch of the run always get one: the picture starts and ends with the real weights.
        """
        first, last = 1 + self.start_epoch, self.config.epochs
        if epoch not in (first, last) and (epoch - first) % self._histogram_every:
            return {}
        started = time.perf_counter()
        snapshot = self.histograms.snapshot(self.model)
        cost = time.perf_counter() - started
        within_budget = math.ceil(cost / (HISTOGRAM_SHARE * max(epoch_seconds, 1e-6)))
        enough_to_see = max(1, (last - first + 1) // HISTOGRAM_MIN_SNAPSHOTS)
        self._histogram_every = max(1, min(within_budget, enough_to_see))
        return snapshot

    def _copy_weights(self) -> dict[str, torch.Tensor]:
        # Tensor clones, not copy.deepcopy: deepcopy's per-object bookkeeping cost ~4 % of a digits run.
        return {name: value.detach().clone() for name, value in self.model.state_dict().items()}

    def resume_state(self) -> dict:
        """What a resumed run continues from: completed epochs, weights and optimizer moments.

        Taken at an epoch's end it is exact; after a stop in mid-epoch, the weights include that partial
        epoch's steps and the resumed run starts the next epoch's data from its beginning.
        """
        return {"epoch": self.epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def grad_norms(self) -> dict[str, float]:
        """‖∇W‖ of every weight tensor: one fused norm over all of them and one transfer (report steps only)."""
        named = [(name, p.grad) for name, p in self._weighted if p.grad is not None]
        if not named:
            return {}
        norms = torch.stack(torch._foreach_norm([grad for _name, grad in named])).tolist()
        return {name: norm for (name, _grad), norm in zip(named, norms, strict=True)}

    def finish(self, status: str, message: str, best_epoch: int, logits: torch.Tensor | None = None,
               weights_epoch: int | None = None, restored: bool = False) -> Finished:
        """The final report, with the one evaluation of the test share; `logits` are the validation logits
        of the current weights if already known."""
        if logits is None:
            _loss, _acc, logits = self.evaluate(self.val_x, self.val_y)
        val_loss = nn.functional.cross_entropy(logits, self.val_y).item()
        val_acc = (logits.argmax(1) == self.val_y).float().mean().item()
        _loss, train_acc, _logits = self.evaluate(self.train_eval_x, self.train_eval_y)
        test_loss = test_acc = None
        if len(self.data.test_y) and math.isfinite(val_loss):
            test_loss, test_acc, _logits = self.evaluate(self.data.normalize(self.data.test_x.to(self.device)),
                                                   self.data.test_y.to(self.device))
        predictions = logits.argmax(1).cpu()
        matrix = confusion_matrix(self.data.val_y, predictions, len(self.data.class_names))
        mistakes = misclassified(self.data.val_x, self.data.val_y, logits.cpu(), limit=24)
        return Finished(status, message, best_epoch, matrix, mistakes,
                        weights_epoch=self.epoch if weights_epoch is None else weights_epoch, restored=restored,
                        train_acc=train_acc, val_loss=val_loss, val_acc=val_acc, test_loss=test_loss,
                        test_acc=test_acc, test_count=len(self.data.test_y))
