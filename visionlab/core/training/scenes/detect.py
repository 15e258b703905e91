"""Train the shape-scene detector (torchvision's FasterRCNN around detect_model's small backbone) and score it
with mAP@0.5 per epoch: the Training Monitor's "detect" task, also run by `visionlab train --task detect` and
`visionlab bench learn`.

The learning rate follows a warm-up then a cosine decay over the run's *fraction done*, which is the larger of
steps done / steps planned and seconds run / time budget: a run cut by its budget still ends at a low
learning rate, where the weights are at their best, instead of being stopped mid-stride. As in segment.py, the
budget bounds the whole wall time (steps plus the per-epoch validations), checked before every step, and the
partial epoch a budget or a user's stop cuts is scored like a full one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from visionlab.core.i18n import _
from visionlab.core.training.scenes.checkpoint import scene_checkpoint_config
from visionlab.core.training.scenes.detect_metrics import FrameBoxes, detection_map
from visionlab.core.training.scenes.detect_model import build_detector_model, default_model_config
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished, SceneStep
from visionlab.core.training.trainer import pick_device

__all__ = ["LOSS_NAMES", "build_detector_model", "train_detector", "predict_frames"]

# torchvision's loss keys -> the names the curves and the JSON show (the RPN's two, then the box head's two).
LOSS_NAMES = {"loss_objectness": "rpn_objectness", "loss_rpn_box_reg": "rpn_box",
              "loss_classifier": "classifier", "loss_box_reg": "box_regression"}
WARMUP_FRACTION = 0.03
FINAL_LR_FACTOR = 0.02
GRADIENT_CLIP = 10.0
EVAL_BATCH = 25
VAL_LOSS_FRAMES = 64  # a train-mode pass on this many validation frames gives the val loss (a few seconds)


def _images(scenes: Sequence) -> torch.Tensor:
    """All frames as one uint8 N×3×H×W tensor (a quarter of float32's memory; scaled per batch)."""
    return torch.from_numpy(np.stack([scene.image for scene in scenes])).permute(0, 3, 1, 2).contiguous()


def _targets(scenes: Sequence) -> list[dict[str, torch.Tensor]]:
    return [{"boxes": torch.as_tensor(scene.boxes, dtype=torch.float32).reshape(-1, 4),
             "labels": torch.as_tensor(scene.labels, dtype=torch.int64).reshape(-1)} for scene in scenes]


def _flipped(images: torch.Tensor, targets: list[dict], generator: torch.Generator) -> tuple[torch.Tensor, list]:
    """Random horizontal and vertical flips: free extra variety, and no shape class changes under a mirror."""
    height, width = images.shape[-2:]
    images, out = images.clone(), []
    for index, target in enumerate(targets):
        boxes = target["boxes"].clone()
        if torch.rand(1, generator=generator).item() < 0.5:
            images[index] = images[index].flip(-1)
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
        if torch.rand(1, generator=generator).item() < 0.5:
            images[index] = images[index].flip(-2)
            boxes[:, [1, 3]] = height - boxes[:, [3, 1]]
        out.append({"boxes": boxes, "labels": target["labels"]})
    return images, out


def _scaled(images: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    return list((images.to(device).float() / 255.0).unbind(0))


def predict_frames(model: nn.Module, images: torch.Tensor, device: torch.device) -> list[FrameBoxes]:
    """Eval-mode detections for uint8 N×3×H×W frames, in the frames' pixels."""
    model.eval()
    found = []
    with torch.inference_mode():
        for start in range(0, len(images), EVAL_BATCH):
            for output in model(_scaled(images[start:start + EVAL_BATCH], device)):
                found.append(FrameBoxes(output["boxes"].cpu().numpy(), output["labels"].cpu().numpy(),
                                        output["scores"].cpu().numpy()))
    return found


def _validation_loss(model: nn.Module, images: torch.Tensor, targets: list[dict], device: torch.device) -> float:
    """The training loss on validation frames: train mode (the only mode that returns losses) with batch norm
    kept on its running statistics, so measuring does not change the model."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    total, batches = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(images), EVAL_BATCH):
            batch_targets = [{key: value.to(device) for key, value in target.items()}
                             for target in targets[start:start + EVAL_BATCH]]
            losses = model(_scaled(images[start:start + EVAL_BATCH], device), batch_targets)
            total += float(sum(losses.values()))
            batches += 1
    return total / max(1, batches)


def _learning_rate(peak: float, fraction: float) -> float:
    if fraction < WARMUP_FRACTION:
        return peak * (0.1 + 0.9 * fraction / WARMUP_FRACTION)
    progress = min(1.0, (fraction - WARMUP_FRACTION) / (1.0 - WARMUP_FRACTION))
    return peak * (FINAL_LR_FACTOR + (1.0 - FINAL_LR_FACTOR) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def train_detector(config: SceneConfig, train: Sequence, val: Sequence,
                   should_stop: Callable[[], bool] = lambda: False,
                   ) -> Iterator[SceneStep | SceneEpoch | SceneFinished]:
    """Train on `train` scenes (visionlab.core.shapes Scene objects: image, boxes, labels), score mAP@0.5 on
    `val` after each epoch, and finish with the best epoch's weights as the checkpoint payload."""
    from visionlab.core.shapes.scenes import CLASSES

    config.validate()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model_config = default_model_config(config.width, config.frame_width, config.frame_height)
    model = build_detector_model(model_config, len(CLASSES) + 1).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    train_images, train_targets = _images(train), _targets(train)
    val_images, val_targets = _images(val), _targets(val)
    val_truths = [FrameBoxes(t["boxes"].numpy(), t["labels"].numpy()) for t in val_targets]
    steps_per_epoch = len(train) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    generator = torch.Generator().manual_seed(config.seed)
    budget = config.time_budget_s
    started = time.perf_counter()
    step, status = 0, "finished"
    best: tuple[int, float, dict | None, dict] = (0, -1.0, None, {})
    parts_sum: dict[str, float] = {}

    def elapsed() -> float:
        return time.perf_counter() - started

    def finished_epoch(epoch: int, steps_in_epoch: int) -> SceneEpoch:
        nonlocal best
        score = detection_map(val_truths, predict_frames(model, val_images, device), CLASSES)
        val_loss = _validation_loss(model, val_images[:VAL_LOSS_FRAMES], val_targets[:VAL_LOSS_FRAMES], device)
        means = {name: value / max(1, steps_in_epoch) for name, value in parts_sum.items()}
        extra = {"map50_95": score.map50_95, "per_class_ap50": score.per_class_ap50}
        if score.map50 > best[1]:
            weights = {name: tensor.detach().to("cpu").clone() for name, tensor in model.state_dict().items()}
            best = (epoch, score.map50, weights, extra)
        return SceneEpoch(epoch=epoch, train_loss=means.get("loss", float("nan")), val_loss=val_loss,
                          metric=score.map50, metric_name=config.metric_name, losses=means, extra=extra,
                          seconds=elapsed(), model=model)

    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(train), generator=generator)
        parts_sum = {}
        steps_in_epoch = 0
        for batch_start in range(0, steps_per_epoch * config.batch_size, config.batch_size):
            if should_stop():
                status = "stopped"
            elif budget is not None and elapsed() >= budget:
                status = "time budget"
            if status != "finished":
                break
            step_started = time.perf_counter()
            model.train()
            indices = order[batch_start:batch_start + config.batch_size]
            images, targets = _flipped(train_images[indices], [train_targets[i] for i in indices], generator)
            targets = [{key: value.to(device) for key, value in target.items()} for target in targets]
            fraction = max(step / total_steps, elapsed() / budget if budget else 0.0)
            lr = _learning_rate(config.lr, fraction)
            for group in optimizer.param_groups:
                group["lr"] = lr
            losses = model(_scaled(images, device), targets)
            loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), GRADIENT_CLIP)
            optimizer.step()
            values = dict(zip(["loss", *(LOSS_NAMES[key] for key in losses)],
                              torch.stack([loss.detach(), *(v.detach() for v in losses.values())]).tolist(),
                              strict=True))  # one device sync for all five numbers
            step_seconds = time.perf_counter() - step_started
            step += 1
            steps_in_epoch += 1
            if not all(math.isfinite(value) for value in values.values()):
                status = "diverged"
                break
            for name, value in values.items():
                parts_sum[name] = parts_sum.get(name, 0.0) + value
            done = max(step / total_steps, elapsed() / budget if budget else 0.0)
            yield SceneStep(step=step, epoch=epoch - 1 + steps_in_epoch / steps_per_epoch, losses=values, lr=lr,
                            samples_per_s=config.batch_size / step_seconds,
                            eta_s=elapsed() * (1.0 - done) / done, fraction=min(1.0, done))
        # A cut epoch still scores the weights it ended with (after a budget cut, trained at the lowest
        # learning rate); a divergence keeps the best epoch already scored.
        if status != "diverged" and steps_in_epoch:
            yield finished_epoch(epoch, steps_in_epoch)
        if status != "finished":
            break

    best_epoch, best_metric, best_weights, best_extra = best
    checkpoint = None
    if best_weights is not None:
        # FasterRCNN normalizes inside (image_mean / image_std of the model config), so what a caller applies
        # before the model is the identity: frames go in scaled to [0, 1].
        identity = {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
        checkpoint = {"config": scene_checkpoint_config(config, model_config, identity), "state_dict": best_weights}
    extra = {**best_extra, "steps": step, "train_frames": len(train), "val_frames": len(val), "device": str(device)}
    yield SceneFinished(status=status, message=_message(status, step, elapsed(), best_epoch, best_metric,
                                                        config.metric_name),
                        best_epoch=best_epoch, metric=max(0.0, best_metric), metric_name=config.metric_name,
                        checkpoint=checkpoint, seconds=elapsed(), extra=extra)


def _message(status: str, steps: int, seconds: float, best_epoch: int, best_metric: float, metric_name: str) -> str:
    reason = {"finished": _("Training finished"), "stopped": _("Training stopped by the user"),
              "time budget": _("Training reached its time budget"),
              "diverged": _("Training diverged (the loss became NaN or infinite; try a lower learning rate)")}[status]
    if best_epoch == 0:
        return _("{reason} after {steps} steps ({seconds:.0f} s), before any epoch was scored.").format(
            reason=reason, steps=steps, seconds=seconds)
    return _("{reason} after {steps} steps ({seconds:.0f} s); best {metric} {value:.3f} at epoch {epoch}.").format(
        reason=reason, steps=steps, seconds=seconds, metric=metric_name, value=best_metric, epoch=best_epoch)
