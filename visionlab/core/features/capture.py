"""Capturing one layer's output, stopping the forward pass there when nothing later is needed.

Showing conv1's maps of a ResNet-50 should cost conv1, not the whole network: a forward hook stores the
output and raises a private exception that unwinds the rest of the forward pass.
"""

from __future__ import annotations

import threading

import torch
import torch.nn as nn

from visionlab.core.i18n import _


class _StopForward(Exception):
    """Raised by the capture hook to end the forward pass at the selected layer (never escapes)."""


class LayerNotFound(KeyError):
    pass


def find_module(model: nn.Module, layer_name: str) -> nn.Module:
    try:
        return model.get_submodule(layer_name)
    except AttributeError:
        raise LayerNotFound(_("the model has no layer named '{layer}'").format(layer=layer_name)) from None


def _first_tensor(output) -> torch.Tensor:
    if isinstance(output, (tuple, list)):
        output = output[0]
    if hasattr(output, "logits"):
        output = output.logits
    return output


def capture_activation(model: nn.Module, layer_name: str, batch: torch.Tensor, stop: bool = True) -> torch.Tensor:
    """The output of `layer_name` for `batch` (N, C, H, W), detached.

    With `stop=True` the forward pass ends at that layer. A layer that runs several times in one pass (a
    ReLU module reused inside a ResNet block) is captured the first time.
    """
    module = find_module(model, layer_name)
    captured: list[torch.Tensor] = []
    owner = threading.get_ident()

    def hook(mod, args, output):
        if threading.get_ident() != owner:
            return  # another thread's forward pass (live mode) through the same model: not ours
        if not captured:
            captured.append(_first_tensor(output).detach())
            if stop:
                raise _StopForward

    handle = module.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            model(batch)
    except _StopForward:
        pass
    finally:
        handle.remove()
    if not captured:
        raise LayerNotFound(_("layer '{layer}' did not run in the forward pass").format(layer=layer_name))
    return captured[0]


def forward_with_capture(model: nn.Module, layer_name: str, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The full output (logits) and the selected layer's output from one forward pass."""
    module = find_module(model, layer_name)
    captured: list[torch.Tensor] = []
    owner = threading.get_ident()

    def hook(mod, args, output):
        if threading.get_ident() == owner and not captured:
            captured.append(_first_tensor(output).detach())

    handle = module.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            logits = _first_tensor(model(batch))
    finally:
        handle.remove()
    return logits, captured[0]
