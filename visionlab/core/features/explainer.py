"""The numbers behind the convolution explainer, one output position at a time.

Everything here is plain numpy so each step can be shown (window, products, sum); the tests check every
result against torch's conv2d, pooling, 1×1 conv and conv_transpose2d, so what the student reads is
exactly what a network computes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from visionlab.core.i18n import _


@dataclass(frozen=True)
class Step:
    """One output value: which output channel and position, the window, and its multiply-accumulate."""

    channel: int                 # output channel
    row: int                     # output position
    col: int
    top: int                     # window's top-left corner in the padded input
    left: int
    terms: list[tuple[int, int, int, float, float]]   # (input channel, dy, dx, input value, weight)
    value: float

    def formula(self, mode: str = "conv") -> str:
        """The MAC (or max / mean) written out with the real numbers, as shown under the grids."""
        if mode == "max":
            return f"max({', '.join(f'{term[3]:g}' for term in self.terms)}) = {self.value:g}"
        if mode == "avg":
            return f"({' + '.join(f'{term[3]:g}' for term in self.terms)}) / {len(self.terms)} = {self.value:g}"
        # Every product is written, zero weights included: a 3×3 kernel shows its nine.
        channels = sorted({term[0] for term in self.terms})
        products = {channel: [f"{x:g}·{w:g}" for c, _dy, _dx, x, w in self.terms if c == channel]
                    for channel in channels}
        if len(channels) > 1 and all(len(terms) == 1 for terms in products.values()):
            # 1×1 convolution: one product per input channel, a dot product across channels
            return f"{' + '.join(terms[0] for terms in products.values())} = {self.value:g}"
        parts = [f"[{' + '.join(terms)}]" if len(channels) > 1 else " + ".join(terms) for terms in products.values()]
        return f"{' + '.join(parts)} = {self.value:g}"


@dataclass
class Trace:
    padded: np.ndarray           # (C, H + 2P, W + 2P) input with its zero padding
    output: np.ndarray           # (K, H2, W2)
    steps: list[Step]
    kernel: int
    stride: int
    padding: int


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


Window = Callable[[int, int, int], tuple[float, list]]  # (output map, top, left) → (value, terms)


def _slide(maps: int, out_h: int, out_w: int, stride: int, window: Window) -> tuple[np.ndarray, list[Step]]:
    """Evaluate `window` at every output position of every map, keeping each step for the explainer."""
    output = np.zeros((maps, out_h, out_w))
    steps = []
    for k in range(maps):
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                value, terms = window(k, top, left)
                output[k, i, j] = value
                steps.append(Step(k, i, j, top, left, terms, value))
    return output, steps


def conv_trace(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: int = 1,
               padding: int = 0) -> Trace:
    """Convolution (cross-correlation, as torch computes it) of x (C, H, W) with weight (K, C, F, F)."""
    channels, height, width = x.shape
    kernels, size = weight.shape[0], weight.shape[2]
    padded = np.pad(x.astype(np.float64), ((0, 0), (padding, padding), (padding, padding)))
    out_h, out_w = _out_size(height, size, stride, padding), _out_size(width, size, stride, padding)
    if out_h < 1 or out_w < 1:
        raise ValueError(_("a {size}×{size} kernel does not fit a {height}×{width} input with padding "
                           "{padding}").format(size=size, height=height, width=width, padding=padding))

    def products(k: int, top: int, left: int) -> tuple[float, list]:
        terms = [(c, dy, dx, float(padded[c, top + dy, left + dx]), float(weight[k, c, dy, dx]))
                 for c in range(channels) for dy in range(size) for dx in range(size)]
        return sum(xv * wv for *_where, xv, wv in terms) + (float(bias[k]) if bias is not None else 0.0), terms

    output, steps = _slide(kernels, out_h, out_w, stride, products)
    return Trace(padded, output, steps, size, stride, padding)


def pool_trace(x: np.ndarray, kernel: int, stride: int, mode: str) -> Trace:
    """Max or average pooling of x (C, H, W), channel by channel (pooling has no weights)."""
    if mode not in ("max", "avg"):
        raise ValueError("mode must be 'max' or 'avg'")
    channels, height, width = x.shape
    out_h, out_w = _out_size(height, kernel, stride, 0), _out_size(width, kernel, stride, 0)
    if out_h < 1 or out_w < 1:
        raise ValueError(_("a {size}×{size} window does not fit a {height}×{width} input").format(
            size=kernel, height=height, width=width))

    def pooled(c: int, top: int, left: int) -> tuple[float, list]:
        window = x[c, top:top + kernel, left:left + kernel].astype(np.float64)
        terms = [(c, dy, dx, float(window[dy, dx]), 1.0) for dy in range(kernel) for dx in range(kernel)]
        return float(window.max() if mode == "max" else window.mean()), terms

    output, steps = _slide(channels, out_h, out_w, stride, pooled)
    return Trace(x.astype(np.float64), output, steps, kernel, stride, 0)


def zero_insert(x: np.ndarray, stride: int) -> np.ndarray:
    """(C, H, W) → (C, (H−1)·S + 1, (W−1)·S + 1) with S − 1 zeros between neighbouring pixels."""
    channels, height, width = x.shape
    spread = np.zeros((channels, (height - 1) * stride + 1, (width - 1) * stride + 1), dtype=np.float64)
    spread[:, ::stride, ::stride] = x
    return spread


def transposed_conv_trace(x: np.ndarray, weight: np.ndarray, stride: int = 2,
                          padding: int = 0) -> tuple[np.ndarray, Trace]:
    """Transposed conv ("deconvolution") as the lecture describes it: insert zeros, pad, convolve.

    weight is torch's ConvTranspose2d layout (C_in, C_out, F, F); the equivalent plain convolution uses the
    kernel flipped in both axes, with C_in and C_out swapped, over the zero-inserted input padded by F−1−P.
    """
    size = weight.shape[-1]
    spread = zero_insert(x, stride)
    flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return spread, conv_trace(spread, flipped, stride=1, padding=size - 1 - padding)


def bilinear_upsample(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The smooth alternative to a transposed conv, as torch's interpolate computes it, to `size` (H, W):
    the transposed conv's output size, so the two grids compare cell by cell."""
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None]
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)[0].numpy()


def torch_transposed(x: np.ndarray, weight: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """torch's own conv_transpose2d of x (C, H, W) with weight (C_in, C_out, F, F): the reference."""
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None]
    kernel = torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float64))
    return F.conv_transpose2d(tensor, kernel, stride=stride, padding=padding)[0].numpy()


def flat_input_pattern(stride: int, padding: int, kernel: int = 3, size: int = 3) -> tuple[str, np.ndarray]:
    """What a transposed conv with a kernel of ones makes of a flat input (all ones), in words.

    Computed, not assumed: torch's conv_transpose2d runs on ones and the words describe its output. Each
    input pixel stamps an F×F copy of the kernel; where stamps overlap the counts add up.
    """
    output = torch_transposed(np.ones((1, size, size)), np.ones((1, 1, kernel, kernel)), stride, padding)[0]
    low, high = float(output.min()), float(output.max())
    values = ", ".join(f"{v:g}" for v in np.unique(output))
    if low == high:
        flat = _("flat: all {value:g} (every output cell is covered by 1 stamp)") if low == 1 else \
            _("flat: all {value:g} (every output cell is covered by {value:g} stamps)")
        return flat.format(value=low), output
    middle = output[output.shape[0] // 2]
    rises = np.diff(middle[: len(middle) // 2 + 1])
    if np.all(rises >= 0) and np.all(np.diff(middle[len(middle) // 2:]) <= 0):
        return _("a pyramid: {low:g} at the border rising to {high:g} in the middle (cells nearer the middle "
                 "are covered by more stamps)").format(low=low, high=high), output
    if low == 0:
        return _("stamps with gaps of zeros between them (values {values}): the stride is larger than the "
                 "kernel").format(values=values), output
    return _("a checkerboard of {values}: neighbouring cells are covered by different numbers of "
             "stamps").format(values=values), output


def stacked_versus_single(in_channels: int = 1, out_channels: int = 1) -> dict[str, int]:
    """One 5×5 against two stacked 3×3 (VGG's argument): the same 5×5 view, fewer weights (no biases)."""
    return {"single_weights": 5 * 5 * in_channels * out_channels,
            "stacked_weights": 2 * 3 * 3 * in_channels * out_channels,
            "single_field": 5, "stacked_field": 3 + (3 - 1)}
