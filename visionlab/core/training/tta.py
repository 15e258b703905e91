"""Test-time augmentation, as AlexNet did it: predict on several crops (and their mirrors), average.

AlexNet took the four corner crops and the centre crop of each test image, plus their horizontal mirrors,
and averaged the ten softmax outputs (Krizhevsky et al. 2012: 2–3 % less error than one view). Here each
crop is `crop_fraction` of the image's side (AlexNet's 224 of 256 is 0.875), rounded to whole pixels, and
resized back to the model's input size with bilinear interpolation, since a trained classifier takes one
input size only. Whether it helps depends on the model and the data: a mirrored digit is not always the
same digit, so the report measures both accuracies rather than promising a gain.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from visionlab.core.errors import UserError
from visionlab.core.i18n import N_, _
from visionlab.core.jobs import check_cancel

CropSet = Literal["one", "five", "ten"]
VIEWS = {"one": 1, "five": 5, "ten": 10}
ALEXNET_FRACTION = 224 / 256
BATCH = 256  # images per forward pass: bounded memory whatever the test split's size


class TTAError(UserError):
    """A run or a setting test-time augmentation cannot use; the sentence says why."""


def crop_side(size: int, crop_fraction: float) -> int:
    """The crop's side in whole pixels: `crop_fraction` of `size`, rounded, at least 1."""
    return max(1, min(size, round(size * crop_fraction)))


def views(images: torch.Tensor, crops: CropSet = "ten", crop_fraction: float = ALEXNET_FRACTION) -> list[torch.Tensor]:
    """The augmented copies of a batch (N, C, H, W), each resized back to H×W: "one" is the centre crop,
    "five" the four corners and the centre (torchvision's five_crop order), "ten" those and their mirrors."""
    if crops not in VIEWS:
        raise TTAError(_("crops must be one of {choices}, not {crops!r}").format(choices=", ".join(VIEWS), crops=crops))
    if not 0.0 < crop_fraction <= 1.0:
        raise TTAError(_("the crop fraction must be above 0 and at most 1 (1: the whole image)"))
    height, width = images.shape[-2:]
    crop_h, crop_w = crop_side(height, crop_fraction), crop_side(width, crop_fraction)
    # The centre as torchvision's center_crop places it: round((H − h) / 2).
    centre = (int(round((height - crop_h) / 2.0)), int(round((width - crop_w) / 2.0)))
    corners = [(0, 0), (0, width - crop_w), (height - crop_h, 0), (height - crop_h, width - crop_w)]
    offsets = [centre] if crops == "one" else corners + [centre]
    result = []
    for top, left in offsets:
        crop = images[..., top:top + crop_h, left:left + crop_w]
        if (crop_h, crop_w) != (height, width):
            crop = nn.functional.interpolate(crop, size=(height, width), mode="bilinear", align_corners=False)
        result.append(crop)
    if crops == "ten":
        result += [view.flip(-1) for view in result]
    return result


def tta_predict(model: nn.Module, images: torch.Tensor, crops: CropSet = "ten",
                crop_fraction: float = ALEXNET_FRACTION) -> torch.Tensor:
    """Class probabilities (N, classes): the softmax of each view, averaged over the views."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            device = next(model.parameters()).device
            chunks = []
            for start in range(0, len(images), BATCH):
                batch = images[start:start + BATCH].to(device)
                probabilities = [torch.softmax(model(view), dim=1) for view in views(batch, crops, crop_fraction)]
                chunks.append(torch.stack(probabilities).mean(dim=0).cpu())
    finally:
        model.train(was_training)
    return torch.cat(chunks)


def tta_report(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, crops: CropSet = "ten",
               crop_fraction: float = ALEXNET_FRACTION) -> dict:
    """Accuracy of one plain view and of the averaged views on the same (normalized) images."""
    if len(images) == 0:
        raise TTAError(_("there are no test images to measure on"))
    plain = tta_predict(model, images, "one", 1.0)  # the centre crop of the whole image: the image itself
    averaged = tta_predict(model, images, crops, crop_fraction)
    labels = labels.cpu()
    return {"plain_acc": float((plain.argmax(1) == labels).float().mean()),
            "tta_acc": float((averaged.argmax(1) == labels).float().mean()),
            "views": VIEWS[crops], "count": len(labels), "crop_fraction": crop_fraction,
            "image_size": (int(images.shape[-2]), int(images.shape[-1]))}


def run_tta(run_folder: str | Path, *, progress: Callable | None = None, should_stop=None) -> dict:
    """Both crop sets on a finished run's held-out test share, with the weights of its best.pt.

    The test share is rebuilt from the run's own config (the split is seeded), so it is the very set the
    run's final line measured. Returns {"five": report, "ten": report, "epoch": best.pt's epoch}.
    """
    from visionlab.core.training.checkpoint import build_model_from_checkpoint, load_checkpoint
    from visionlab.core.training.datasets import load_splits
    from visionlab.core.training.runs import Run

    folder = Path(run_folder)
    best = folder / "best.pt"
    if not best.is_file():
        raise TTAError(_("this run saved no weights (best.pt) to measure"))
    config = Run(folder).config
    if config.test_fraction <= 0:
        raise TTAError(_("this run held out no test share (test fraction 0): there is nothing to measure on"))
    if progress:
        progress(0.1, _("loading the test share"))
    data = load_splits(config, should_stop=should_stop or (lambda: False))
    model, checkpoint_config = build_model_from_checkpoint(best)
    normalize = checkpoint_config.get("normalize") or {"mean": data.mean, "std": data.std}
    mean = torch.tensor(normalize["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(normalize["std"]).view(1, -1, 1, 1)
    images = (data.test_x - mean) / std
    result: dict = {"epoch": load_checkpoint(best)["extra"].get("epoch")}
    for step, crops in enumerate(("five", "ten")):
        check_cancel(should_stop)
        if progress:
            progress(0.3 + 0.35 * step, _("{count} views per image").format(count=VIEWS[crops]))
        result[crops] = tta_report(model, images, data.test_y, crops)  # type: ignore[arg-type]
    return result


def tta_line(result: dict) -> str:
    """The sentence the Training Monitor shows, from the measured numbers only (at most five lines at 1024 px,
    the row's height)."""
    five, ten = result["five"], result["ten"]
    epoch = _("best.pt, epoch {epoch}").format(epoch=result["epoch"]) if result.get("epoch") else "best.pt"
    parts = [_("On {count} held-out test images ({epoch}): 1 view {acc:.1%}").format(
        count=ten["count"], epoch=epoch, acc=ten["plain_acc"])]
    for report, name in ((five, N_("5 crops")), (ten, N_("10 crops and mirrors"))):
        change = 100 * (report["tta_acc"] - report["plain_acc"])
        images = round((report["tta_acc"] - report["plain_acc"]) * report["count"])
        # A handful of images in a large test share is under 0.05 points: "+0.0 points" would read as "same".
        effect = _("same") if images == 0 else (
            _("{change:+.1f} points").format(change=change) if abs(change) >= 0.05 else
            (_("{count:+d} images") if abs(images) > 1 else _("{count:+d} image")).format(count=images)
        ).replace("-", "−")
        parts.append(_("{name} averaged {acc:.1%} ({effect})").format(name=_(name), acc=report["tta_acc"],
                                                                       effect=effect))
    line = " · ".join(parts) + _("; each crop {fraction:.3g} of the side.").format(fraction=five["crop_fraction"])
    if "image_size" in five and min(five["tta_acc"], ten["tta_acc"]) < five["plain_acc"]:
        # Why averaging can lose: say what each view is, in the images' own pixels.
        height, width = five["image_size"]
        crop = f"{crop_side(height, five['crop_fraction'])}×{crop_side(width, five['crop_fraction'])}"
        line += " " + _("Lost here: each view is a {crop} crop of the {height}×{width} image stretched back, and "
                        "half of the ten are mirrored (a mirrored digit can read as another).").format(
            crop=crop, height=height, width=width)
    return line
