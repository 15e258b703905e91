"""Grad-CAM (Selvaraju et al. 2017) and top-k predictions.

Grad-CAM weighs each channel A_k of a conv layer by the spatial mean of ∂score_c/∂A_k, sums, keeps the
positive part and scales it up to the input: ReLU(Σ_k α_k·A_k) with α_k = mean_ij ∂y_c/∂A_k[i, j]. It
shows where in the image the evidence for class c lies, as seen by that layer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from visionlab.core.features.capture import _first_tensor, find_module


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
        label = categories[index] if categories and index < len(categories) else f"class {index}"
        result.append(Prediction(index, label, value))
    return result


def grad_cam(model: nn.Module, layer_name: str, batch: torch.Tensor, class_index: int) -> np.ndarray:
    """Grad-CAM of `class_index` at `layer_name` for one image (1, C, H, W): an (H, W) map in [0, 1]."""
    module = find_module(model, layer_name)
    stored: dict[str, torch.Tensor] = {}
    owner = threading.get_ident()

    def hook(mod, args, output):
        activation = _first_tensor(output)
        if threading.get_ident() == owner and "activation" not in stored:
            activation.retain_grad()
            stored["activation"] = activation

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            batch = batch.detach().clone().requires_grad_(True)  # makes the graph exist even if weights are frozen
            logits = _first_tensor(model(batch))
            model.zero_grad(set_to_none=True)
            logits[0, class_index].backward()
    finally:
        handle.remove()
    activation = stored["activation"]
    gradients = activation.grad
    assert gradients is not None, "retain_grad() above keeps the layer's gradient"
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=batch.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    peak = float(cam.max())
    if peak > 0:
        cam = cam / peak
    return cam.numpy().astype(np.float32)
