"""Per-layer weight and activation histograms, one per epoch, on fixed bins so they stack over time.

Each weighted layer (conv or linear) gets two histograms per snapshot: its weights, and its outputs on a
fixed probe batch of validation images. The bin range of each is fixed at the first snapshot (±1.5 × the
largest magnitude then), so epoch after epoch can be drawn as one picture: values spreading out, weights
shrinking under weight decay, activations saturating or dying.
"""

from __future__ import annotations

import torch
from torch import nn

BINS = 40


class HistogramTracker:
    def __init__(self, model: nn.Module, probe: torch.Tensor, bins: int = BINS) -> None:
        self.layers = {name: module for name, module in model.named_modules()
                       if isinstance(module, (nn.Conv2d, nn.Linear))}
        self.probe = probe
        self.bins = bins
        self.ranges: dict[str, float] = {}  # "layer/weights" → half-width of the fixed bin range

    def _histogram(self, key: str, values: torch.Tensor) -> torch.Tensor:
        values = values.detach().float().flatten()
        if key not in self.ranges:
            self.ranges[key] = max(float(values.abs().max()) * 1.5, 1e-6)
        limit = self.ranges[key]
        # Values beyond the fixed range land in the edge bins instead of disappearing.
        return torch.histc(values.clamp(-limit, limit), bins=self.bins, min=-limit, max=limit)

    @torch.no_grad()
    def snapshot(self, model: nn.Module) -> dict[str, dict[str, list[int]]]:
        outputs: dict[str, torch.Tensor] = {}
        hooks = [module.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
                 for name, module in self.layers.items()]
        was_training = model.training
        model.eval()
        try:
            model(self.probe)
        finally:
            for hook in hooks:
                hook.remove()
            model.train(was_training)
        counts = [(self._histogram(f"{name}/weights", module.weight),
                   self._histogram(f"{name}/activations", outputs[name])) for name, module in self.layers.items()]
        # One transfer for all layers (training runs in the meantime on the same interpreter lock).
        rows = torch.stack([h for pair in counts for h in pair]).long().tolist() if counts else []
        return {name: {"weights": rows[2 * i], "activations": rows[2 * i + 1]}
                for i, name in enumerate(self.layers)}

    def edges(self, layer: str, kind: str) -> tuple[float, float]:
        limit = self.ranges[f"{layer}/{kind}"]
        return -limit, limit
