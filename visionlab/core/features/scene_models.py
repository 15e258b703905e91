"""A Training Monitor scene checkpoint in Feature Maps: the FCN's conv layers, or the Faster R-CNN's backbone,
on a shape scene (their own kind of picture).

The viewer reads a model as a classifier (one row of class scores per image, for the top-5 and Grad-CAM).
  - The FCN scores every pixel. Its row here is the log of each class's probability averaged over the
    picture's pixels, so the top-5 reads "the share of the picture the FCN gives to each class" (softmax of
    log-probabilities that sum to 1 gives them back unchanged), and Grad-CAM shows where that share comes from.
  - A detector's class scores belong to its boxes, not to the picture: the viewer shows its backbone (the maps
    the RPN and the RoI head read), on the frame normalized as the detector's own transform does it, and says
    that its scores are on the Live Camera.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from visionlab.core.i18n import N_, _
from visionlab.core.training.scenes.checkpoint import load_scene_model

SCENE_DATASET = "shape scenes"  # what the input picker calls a checkpoint's own sample picture
DETECTOR_SCORES = N_("A detector scores boxes, not pictures: its class scores are on the Live Camera (Run live); "
                   "here are the maps its backbone gives the RPN and the RoI head.")  # translated in scene_parts


class SegmenterScores(nn.Module):
    """The FCN as one row of class scores: log of the mean per-pixel probability of each class.

    Its layers are this module's own children, under the checkpoint's names (encoder.0.0, classifier, …);
    the FCN itself is kept outside the module tree and runs them, so hooks on a layer see its real pass."""

    fully_convolutional = True  # Feature Maps' Convolutionalized tab says so instead of converting it

    _fcn: Any  # set with object.__setattr__, so nn.Module does not register it

    def __init__(self, fcn: nn.Module) -> None:
        super().__init__()
        object.__setattr__(self, "_fcn", fcn)  # not registered: its children are registered below instead
        for child_name, child in fcn.named_children():
            self.add_module(child_name, child)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probabilities = self._fcn(x)["out"].softmax(1)
        return probabilities.mean(dim=(2, 3)).clamp_min(1e-12).log()


def scene_parts(path: str | Path) -> dict:
    """The pieces of a LoadedModel for a scene checkpoint: model, categories, input shape, mean / std, note,
    the layers shown first, and `scores_note` (why a detector has no top-5 here)."""
    model: Any
    model, config = load_scene_model(path)
    name = Path(path).name
    shape = tuple(int(v) for v in config["input_shape"])
    classes = [str(c) for c in config["class_names"]]
    if config["task"] == "segment":
        scores = SegmenterScores(model).eval()
        convs = [n for n, m in scores.named_modules() if isinstance(m, nn.Conv2d)]
        normalize = config.get("normalize") or {}
        return {"model": scores, "categories": classes, "input_shape": shape,
                "mean": tuple(normalize.get("mean") or ()) or None, "std": tuple(normalize.get("std") or ()) or None,
                "note": _segmenter_note(model, shape, name), "default_layer": convs[0] if convs else "",
                "cam_layer": "classifier" if hasattr(model, "classifier") else (convs[-1] if convs else ""),
                "scores_note": ""}
    backbone = model.backbone.eval()
    convs = [n for n, m in backbone.named_modules() if isinstance(m, nn.Conv2d)]
    transform = model.transform  # torchvision's GeneralizedRCNNTransform: the detector's own normalization
    return {"model": backbone, "categories": classes, "input_shape": shape,
            "mean": tuple(float(v) for v in transform.image_mean), "std": tuple(float(v) for v in transform.image_std),
            "note": _("trained Faster R-CNN {file}: its backbone").format(file=name),
            "default_layer": convs[0] if convs else "", "cam_layer": "", "scores_note": _(DETECTOR_SCORES)}


def _segmenter_note(fcn: Any, shape: tuple[int, ...], name: str) -> str:
    """The FCN's note, saying why the first layer's formula reads another height or width than the picture
    when the FCN pads first."""
    stride, (height, width) = int(getattr(fcn, "stride", 1)), (int(shape[-2]), int(shape[-1]))
    padded = (height + -height % stride, width + -width % stride)
    if padded == (height, width):
        return _("trained segmentation FCN {file}: the top-5 is each class's mean probability over the "
                 "picture's pixels").format(file=name)
    return _("trained segmentation FCN {file}: the top-5 is each class's mean probability over the picture's "
             "pixels; it pads each picture with zeros to a multiple of its stride {stride}, so a {height}×{width} "
             "picture enters its first layer as {padded_height}×{padded_width}").format(
        file=name, stride=stride, height=height, width=width, padded_height=padded[0], padded_width=padded[1])


def scene_sample(input_shape: tuple[int, ...]) -> np.ndarray:
    """One shape scene at the checkpoint's frame size (seed 0), so the model first sees what it learned on."""
    from visionlab.core.shapes.scenes import make_scene

    return make_scene(np.random.default_rng(0), width=int(input_shape[-1]), height=int(input_shape[-2])).image
