"""Conv and pooling arithmetic in the lecture's form, in its general shape (dilation, groups).

The lecture writes W2 = (W1 − F + 2P)/S + 1 and params = (F·F·D1)·K + K. torch computes the same thing
with two generalisations: a dilated kernel covers F_eff = D·(F − 1) + 1 pixels, and with `groups` each
kernel only sees D1/groups input channels. Non-integer divisions are floored (the last partial window is
dropped), which is why the formula panel shows ⌊…⌋.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from visionlab.core.i18n import _


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """How many input pixels a dilated kernel spans: D·(F − 1) + 1."""
    return dilation * (kernel - 1) + 1


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """W2 = ⌊(W1 − F_eff + 2P)/S⌋ + 1 (⌈…⌉ with ceil_mode, as torch's pooling allows)."""
    span = size - effective_kernel(kernel, dilation) + 2 * padding
    if span < 0:
        return 0
    steps = math.ceil(span / stride) if ceil_mode else span // stride
    if ceil_mode and steps * stride >= size + padding:
        steps -= 1  # torch's rule: the last window must start inside the input or its left padding
    return steps + 1


def transposed_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                           output_padding: int = 0) -> int:
    """Transposed conv ("deconvolution"): (W1 − 1)·S − 2P + F_eff + output_padding."""
    return (size - 1) * stride - 2 * padding + effective_kernel(kernel, dilation) + output_padding


def conv_param_count(in_channels: int, out_channels: int, kernel: tuple[int, int] | int, groups: int = 1,
                     bias: bool = True) -> int:
    """params = (F·F·D1/groups)·K + K (the + K only with a bias)."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return kh * kw * (in_channels // groups) * out_channels + (out_channels if bias else 0)


@dataclass(frozen=True)
class FormulaLine:
    """One formula with the layer's real numbers, and whether it matches what torch produced."""

    label: str
    text: str
    value: int
    actual: int

    @property
    def matches(self) -> bool:
        return self.value == self.actual


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of torch's padding='same': D·(F − 1) zeros in all, the odd one after."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def _size_line(axis: str, size: int, kernel: int, stride: int, padding: int | tuple[int, int], dilation: int,
               actual: int, ceil_mode: bool = False) -> FormulaLine:
    """`padding` is P on both sides, or (before, after) where they differ (torch's padding='same')."""
    before, after = (padding, padding) if isinstance(padding, int) else padding
    f_eff = effective_kernel(kernel, dilation)
    numerator = size - f_eff + before + after
    steps = math.ceil(numerator / stride) if ceil_mode else numerator // stride
    if ceil_mode and steps * stride >= size + before:
        steps -= 1  # the same rule as conv_output_size
    value = steps + 1 if numerator >= 0 else 0
    rounding = "⌈{}⌉" if ceil_mode else "⌊{}⌋"
    fraction = f"{numerator}/{stride}"
    if numerator % stride:
        fraction += f" = {numerator / stride:.2f}"  # the student sees the division was not exact
    pad_text = f"2·{before}" if before == after else f"{before}+{after}"
    pad_symbol = "2P" if before == after else _("P_before + P_after")
    text = (f"{axis}2 = {rounding.format(f'({axis}1 − F + {pad_symbol})/S')} + 1 = "
            f"{rounding.format(f'({size} − {f_eff} + {pad_text})/{stride}')} + 1 = {rounding.format(fraction)} + 1"
            f" = {value}")
    if dilation != 1:
        text += "  " + _("(dilated: {formula})").format(formula=f"F_eff=D·(F−1)+1={dilation}·{kernel - 1}+1={f_eff}")
    return FormulaLine(f"{axis}2", text, value, actual)


def linear_formulas(module, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> list[FormulaLine]:
    """A fully connected layer: every output reads every input, params = in·out + out."""
    bias = module.bias is not None
    params = module.in_features * module.out_features + (module.out_features if bias else 0)
    text = (_("params = in·out + out = {inputs:,}·{outputs:,} + {outputs:,} = {count:,}") if bias else
            _("params = in·out = {inputs:,}·{outputs:,} (no bias) = {count:,}")).format(
        inputs=module.in_features, outputs=module.out_features, count=params)
    return [FormulaLine("in", _("in = {count:,} features").format(count=module.in_features), module.in_features,
                        input_shape[-1]),
            FormulaLine("out", _("out = {count:,} features").format(count=module.out_features), module.out_features,
                        output_shape[-1]),
            FormulaLine("params", text, params, sum(p.numel() for p in module.parameters()))]


def conv_formulas(module, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> list[FormulaLine]:
    """The formula lines for a Conv2d / MaxPool2d / AvgPool2d with its real input and output shapes.

    `input_shape` / `output_shape` are (C, H, W) as recorded during the forward pass; each line carries the
    real value so the panel can show a check mark (or a warning if the lecture's form did not apply).
    """
    import torch.nn as nn  # local: keeps this module importable without torch for the pure functions

    if isinstance(module, nn.Linear):
        return linear_formulas(module, input_shape, output_shape)
    if len(input_shape) < 3 or len(output_shape) < 3:
        return []
    c_in, h_in, w_in = input_shape[-3:]
    c_out, h_out, w_out = output_shape[-3:]
    if isinstance(module, nn.Conv2d):
        kh, kw = _pair(module.kernel_size)
        sh, sw = _pair(module.stride)
        dh, dw = _pair(module.dilation)
        pad_h: int | tuple[int, int]
        pad_w: int | tuple[int, int]
        if module.padding == "same":  # torch pads D·(F − 1) in all, the odd zero after (not F//2)
            pad_h, pad_w = same_padding(kh, dh), same_padding(kw, dw)
        elif module.padding == "valid":
            pad_h, pad_w = 0, 0
        else:
            pad_h, pad_w = _pair(module.padding)
        lines = [_size_line("W", w_in, kw, sw, pad_w, dw, w_out), _size_line("H", h_in, kh, sh, pad_h, dh, h_out)]
        groups = module.groups
        bias = module.bias is not None
        params = conv_param_count(c_in, module.out_channels, (kh, kw), groups, bias)
        per_kernel = "F·F·D1" if groups == 1 else "F·F·D1/groups"
        group_text = "" if groups == 1 else f"/{groups}"
        numbers = f"({kh}·{kw}·{c_in}{group_text})·{module.out_channels}"
        text = (_("params = ({per_kernel})·K + K = {numbers} + {kernels} = {count:,}") if bias else
                _("params = ({per_kernel})·K = {numbers} (no bias) = {count:,}")).format(
            per_kernel=per_kernel, numbers=numbers, kernels=module.out_channels, count=params)
        actual = sum(p.numel() for p in module.parameters())
        lines.append(FormulaLine("D2", f"D2 = K = {module.out_channels}", module.out_channels, c_out))
        lines.append(FormulaLine("params", text, params, actual))
        return lines
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kh, kw = _pair(module.kernel_size)
        sh, sw = _pair(module.stride or module.kernel_size)
        ph, pw = _pair(module.padding)
        dilation = getattr(module, "dilation", 1)
        dh, dw = _pair(dilation)
        ceil_mode = bool(module.ceil_mode)
        lines = [_size_line("W", w_in, kw, sw, pw, dw, w_out, ceil_mode),
                 _size_line("H", h_in, kh, sh, ph, dh, h_out, ceil_mode)]
        lines.append(FormulaLine("D2", _("D2 = D1 = {channels} (pooling keeps the channels)").format(channels=c_in),
                                 c_in, c_out))
        lines.append(FormulaLine("params", _("params = 0 (pooling has no weights)"), 0,
                                 sum(p.numel() for p in module.parameters())))
        return lines
    return []
