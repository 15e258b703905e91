"""Grad-CAM (Selvaraju et al. 2017) and top-k predictions.

Grad-CAM weighs each channel A_k of a conv layer by the spatial mean of ∂score_c/∂A_k, sums, keeps the
positive part and scales it up to the input: ReLU(Σ_k α_k·A_k) with α_k = mean_ij ∂y_c/∂A_k[i, j]. It
shows where in the image the evidence for class c lies, as seen by that layer.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from visionlab.core.features.capture import _first_tensor, find_module
from visionlab.core.i18n import _


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


def top_k(logits: torch.Tensor, categories: list[str] | None, k: int = 5) -> list[Prediction]:
    """The k most probable classes of one image's logits (softmax probabilities)."""
    probabilities = torch.softmax(logits.reshape(-1).float(), dim=0)
    values, indices = probabilities.topk(min(k, probabilities.numel()))
    result = []
    for value, index in zip(values.tolist(), indices.tolist(), strict=True):  # topk: one index per value
        label = categories[index] if categories and index < len(categories) else _("class {index}").format(index=index)
        result.append(Prediction(index, label, value))
    return result


@contextmanager
def _frozen(model: nn.Module):
    """Parameters stop recording gradients for the duration: Grad-CAM needs ∂score/∂activation only, so
    autograd keeps no graph for the layers before the activation and computes no weight gradients."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for parameter, _flag in flags:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


@dataclass
class ForwardPass:
    """What one forward pass gives the panel: logits, the shown layer's maps and the Grad-CAM layer's."""

    logits: torch.Tensor
    activation: torch.Tensor | None      # the shown layer's output, detached
    cam_activation: torch.Tensor | None  # the Grad-CAM layer's output: a graph leaf (requires grad)


def forward_for_cam(model: nn.Module, layer_name: str, cam_layer: str, batch: torch.Tensor) -> ForwardPass:
    """One forward pass that records the shown layer and makes the Grad-CAM layer's output a graph leaf.

    The hook hands the rest of the network a copy of a fresh leaf, so autograd builds a graph only from the
    Grad-CAM layer onwards (parameters are frozen): the backward pass later is as short as it can be.
    """
    shown, cam_module = find_module(model, layer_name), find_module(model, cam_layer)
    stored: dict[str, torch.Tensor] = {}
    owner = threading.get_ident()

    def keep_shown(mod, args, output):
        if threading.get_ident() == owner and "shown" not in stored:
            stored["shown"] = _first_tensor(output).detach()

    def make_leaf(mod, args, output):
        if threading.get_ident() != owner or "cam" in stored or not torch.is_tensor(output):
            return None
        leaf = output.detach().requires_grad_(True)
        stored["cam"] = leaf
        return leaf.clone()  # a non-leaf copy: a following in-place ReLU may change it, not the leaf

    handles = [shown.register_forward_hook(keep_shown), cam_module.register_forward_hook(make_leaf)]
    try:
        with torch.enable_grad(), _frozen(model):
            logits = _first_tensor(model(batch))
    finally:
        for handle in handles:
            handle.remove()
    return ForwardPass(logits, stored.get("shown"), stored.get("cam"))


def cam_from_pass(forward: ForwardPass, class_index: int, image_hw: tuple[int, int]) -> np.ndarray:
    """Grad-CAM of `class_index` from a pass of `forward_for_cam`: (H, W) in [0, 1]."""
    activation = forward.cam_activation
    if activation is None or activation.dim() != 4:
        raise ValueError(_("the Grad-CAM layer did not produce maps in this forward pass"))
    (gradients,) = torch.autograd.grad(forward.logits[0, class_index], activation)
    return _cam_picture(activation.detach(), gradients, image_hw)


def _cam_picture(activation: torch.Tensor, gradients: torch.Tensor, image_hw: tuple[int, int]) -> np.ndarray:
    weights = gradients.mean(dim=(2, 3), keepdim=True)          # α_k: mean gradient of each channel
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=image_hw, mode="bilinear", align_corners=False)[0, 0]
    peak = float(cam.max())
    if peak > 0:
        cam = cam / peak
    return cam.numpy().astype(np.float32)


def grad_cam(model: nn.Module, layer_name: str, batch: torch.Tensor, class_index: int) -> np.ndarray:
    """Grad-CAM of `class_index` at `layer_name` for one image (1, C, H, W): an (H, W) map in [0, 1]."""
    forward = forward_for_cam(model, layer_name, layer_name, batch)
    return cam_from_pass(forward, class_index, (int(batch.shape[-2]), int(batch.shape[-1])))
