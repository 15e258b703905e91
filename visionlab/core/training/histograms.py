"""Per-layer weight and activation histograms, one per snapshot, on fixed bins so they stack over time.

Each weighted layer (conv or linear) gets two histograms per snapshot: its weights, and its activations,
defined as the layer's own output (before the batch norm, ReLU or dropout that may follow it), in eval
mode, on a fixed probe batch of validation images. The output is cloned inside the forward hook: the hook
sees the tensor before the next module runs, but an in-place ReLU (`nn.ReLU(inplace=True)`) would then
overwrite that same tensor, and a stored reference would show post-ReLU values (no negatives, half zeros).
The bin range of each starts at the first snapshot (±1.5 × the largest magnitude then) and doubles
whenever a later snapshot reaches beyond it (values that grow must not pile up in the edge bins). As BINS
is a multiple of 4, a histogram on ±l re-bins exactly onto ±2l (pairs of bins merge, the range is padded),
so `on_common_range` draws every snapshot on the widest range shown, snapshot after snapshot as one
picture: values spreading out, weights shrinking under weight decay, pre-activations drifting negative
(units about to die behind their ReLU).
"""

from __future__ import annotations

import torch
from torch import nn

BINS = 64  # a multiple of 4: doubling the range re-bins exactly


def on_common_range(columns: list[tuple[list[int], float]]) -> tuple[list[list[int]], float]:
    """Snapshots as (counts on ±limit) re-binned exactly onto the widest limit; limits differ by powers of 2."""
    target = max(limit for _, limit in columns)
    rebinned = []
    for counts, limit in columns:
        counts = list(counts)
        while limit < target * (1 - 1e-9):  # each doubling: merge pairs, pad a quarter of zeros each side
            pad = [0] * (len(counts) // 4)
            counts = pad + [counts[i] + counts[i + 1] for i in range(0, len(counts), 2)] + pad
            limit *= 2
        rebinned.append(counts)
    return rebinned, target


class HistogramTracker:
    def __init__(self, model: nn.Module, probe: torch.Tensor, bins: int = BINS) -> None:
        self.layers = {name: module for name, module in model.named_modules()
                       if isinstance(module, (nn.Conv2d, nn.Linear))}
        self.probe = probe
        self.bins = bins
        self.ranges: dict[str, float] = {}  # "layer/weights" → half-width of the bin range now

    def _histogram(self, key: str, values: torch.Tensor, peak: float) -> torch.Tensor:
        limit = self.ranges.get(key) or max(peak * 1.5, 1e-6)
        while peak > limit:
            limit *= 2
        self.ranges[key] = limit
        return torch.histc(values.clamp(-limit, limit), bins=self.bins, min=-limit, max=limit)

    @torch.no_grad()
    def snapshot(self, model: nn.Module) -> dict[str, dict[str, list[int]]]:
        outputs: dict[str, torch.Tensor] = {}
        def keep(name: str, output: torch.Tensor) -> None:
            outputs[name] = output.detach().clone()  # a copy: an in-place op after this layer must not change it

        hooks = [module.register_forward_hook(lambda _m, _i, out, name=name: keep(name, out))
                 for name, module in self.layers.items()]
        was_training = model.training
        model.eval()
        try:
            model(self.probe)
        finally:
            for hook in hooks:
                hook.remove()
            model.train(was_training)
        values = [(f"{name}/{kind}", tensor.detach().float().flatten()) for name, module in self.layers.items()
                  for kind, tensor in (("weights", module.weight), ("activations", outputs[name]))]
        peaks = torch.stack([v.abs().max() for _, v in values]).tolist() if values else []  # one transfer
        histograms = [self._histogram(key, v, peak) for (key, v), peak in zip(values, peaks, strict=True)]
        # One transfer for all layers (training runs in the meantime on the same interpreter lock).
        rows = torch.stack(histograms).long().tolist() if histograms else []
        return {name: {"weights": rows[2 * i], "activations": rows[2 * i + 1]}
                for i, name in enumerate(self.layers)}

    def edges(self, layer: str, kind: str) -> tuple[float, float]:
        limit = self.ranges[f"{layer}/{kind}"]
        return -limit, limit
