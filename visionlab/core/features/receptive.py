"""Receptive field and effective stride of every layer, propagated through the network's graph.

For each tensor we keep, per axis, the receptive field size r (input pixels that can influence one output
pixel), the jump j (input pixels between two neighbouring outputs, the "effective stride") and the start s
(input coordinate of the centre of output pixel 0). A layer with kernel F (dilated: F_eff), stride S and
padding P maps them as
    r' = r + (F_eff − 1)·j,   j' = j·S,   s' = s + ((F_eff − 1)/2 − P)·j.
Branches that meet (ResNet's add, GoogLeNet's concatenation) take the larger field. We walk a torch.fx
graph rather than module hooks because the adds and concatenations are plain functions no hook sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.fx as fx
import torch.nn as nn
from torch.fx.passes.shape_prop import ShapeProp

from visionlab.core.i18n import _


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple[float, float]   # (rows, cols) in input pixels; the image size once a layer is global
    jump: tuple[float, float]   # effective stride
    start: tuple[float, float]  # centre of output pixel (0, 0) in input pixel coordinates
    is_global: bool = False     # after global pooling / flatten every output sees the whole image

    def box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(top, left, height, width) of the field of output pixel (row, col), in input pixels.

        Input pixel i spans [i, i + 1), so the first pixel's centre is at 0.5.
        """
        center_r = self.start[0] + row * self.jump[0]
        center_c = self.start[1] + col * self.jump[1]
        return center_r - self.size[0] / 2, center_c - self.size[1] / 2, self.size[0], self.size[1]


INPUT_FIELD = ReceptiveField((1.0, 1.0), (1.0, 1.0), (0.5, 0.5))


@dataclass(frozen=True)
class FieldOnImage:
    """A field's outline clipped to the image (a deep layer's reaches far into the padding) and in words."""

    box: tuple[float, float, float, float] | None   # (top, left, height, width) inside the image
    whole_image: bool
    text: str


def field_on_image(field: ReceptiveField, row: int, col: int, image_hw: tuple[int, int],
                   layer: str = "") -> FieldOnImage:
    """What output pixel (row, col) sees of an image of `image_hw`, clipped to it."""
    height, width = image_hw
    who = (_("pixel ({row}, {col}) of {layer}").format(row=row, col=col, layer=layer) if layer
           else _("pixel ({row}, {col})").format(row=row, col=col))
    if field.is_global:
        return FieldOnImage(None, True, _("{who} sees the whole image ({height}×{width} px)").format(
            who=who, height=height, width=width))
    top, left, box_h, box_w = field.box(row, col)
    inside = (max(0.0, top), max(0.0, left), min(float(height), top + box_h), min(float(width), left + box_w))
    box = (inside[0], inside[1], inside[2] - inside[0], inside[3] - inside[1])
    span = _("{rows}, {columns} ({height:g}×{width:g} px field)").format(
        rows=_pixels("rows", top, box_h), columns=_pixels("columns", left, box_w), height=box_h, width=box_w)
    if inside == (0.0, 0.0, float(height), float(width)):
        return FieldOnImage(box, True, _("{who} sees the whole image ({height}×{width} px): its field spans "
                                         "{span}").format(who=who, height=height, width=width, span=span))
    return FieldOnImage(box, False, _("{who} sees {span}; outlined inside the image").format(who=who, span=span))


def _pixels(axis: str, start: float, size: float) -> str:
    """"rows 71–77" (first and last pixel, both included: 7 rows) when the field covers whole pixels; a field
    whose edges fall between pixel centres (an even kernel) is given by its edges, which are not pixel numbers.
    `axis` is "rows" or "columns"."""
    if start == int(start) and size == int(size):
        whole = _("rows {first:g}–{last:g}") if axis == "rows" else _("columns {first:g}–{last:g}")
        return whole.format(first=start, last=start + size - 1)
    edges = _("rows from {start:g} to {end:g} (edges)") if axis == "rows" else \
        _("columns from {start:g} to {end:g} (edges)")
    return edges.format(start=start, end=start + size)


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _windowed(field: ReceptiveField, kernel, stride, padding, dilation=1) -> ReceptiveField:
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    size, jump, start = [], [], []
    for axis in range(2):
        f_eff = d[axis] * (k[axis] - 1) + 1
        size.append(field.size[axis] + (f_eff - 1) * field.jump[axis])
        start.append(field.start[axis] + ((f_eff - 1) / 2 - p[axis]) * field.jump[axis])
        jump.append(field.jump[axis] * s[axis])
    return ReceptiveField((size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]), field.is_global)


def _global(image_hw: tuple[int, int]) -> ReceptiveField:
    h, w = image_hw
    return ReceptiveField((float(h), float(w)), (float(h), float(w)), (h / 2, w / 2), True)


def _merge(fields: list[ReceptiveField]) -> ReceptiveField | None:
    if not fields:
        return None
    return max(fields, key=lambda f: (f.is_global, f.size[0] * f.size[1]))


def layer_step(module: nn.Module, field: ReceptiveField, in_hw: tuple[int, int] | None,
               out_hw: tuple[int, int] | None, image_hw: tuple[int, int]) -> ReceptiveField:
    """The field after `module`, given the field of its input (shapes are needed for adaptive pooling)."""
    if field.is_global:
        return field
    if isinstance(module, nn.Conv2d):
        padding = module.padding if not isinstance(module.padding, str) else tuple(
            (k - 1) * d // 2 for k, d in zip(_pair(module.kernel_size), _pair(module.dilation), strict=True))
        return _windowed(field, module.kernel_size, module.stride, padding, module.dilation)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return _windowed(field, module.kernel_size, module.stride or module.kernel_size, module.padding,
                         getattr(module, "dilation", 1))
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        if in_hw is None or out_hw is None or out_hw == (1, 1):
            return _global(image_hw)
        if in_hw == out_hw:
            return field
        # An adaptive pool from n to o cells uses windows of at most ⌈n/o⌉ with stride about ⌊n/o⌋.
        kernel = tuple(math.ceil(i / o) for i, o in zip(in_hw, out_hw, strict=True))  # both (H, W)
        stride = tuple(max(1, i // o) for i, o in zip(in_hw, out_hw, strict=True))
        return _windowed(field, kernel, stride, 0)
    if isinstance(module, (nn.Linear, nn.Flatten)):
        return _global(image_hw)
    return field  # element-wise layers (ReLU, BatchNorm, Dropout, LRN, ...) keep the field


def example_input(model: nn.Module, input_shape: tuple[int, int, int]) -> torch.Tensor:
    """Zeros of (1, *input_shape) on the model's device and dtype (tests use the meta device, where shapes
    propagate without any arithmetic)."""
    first = next(model.parameters(), None)
    if first is None:
        return torch.zeros(1, *input_shape)
    return torch.zeros(1, *input_shape, device=first.device, dtype=first.dtype)


def _spatial(shape) -> tuple[int, int] | None:
    return (int(shape[-2]), int(shape[-1])) if shape is not None and len(shape) == 4 else None


def receptive_fields(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, ReceptiveField]:
    """Field of every module's output, keyed by module name (containers get the field of their last node).

    Raises whatever torch.fx raises for models it cannot trace (data-dependent control flow); the caller
    falls back to `sequential_fields`.
    """
    graph_module = fx.symbolic_trace(model)
    example = example_input(model, input_shape)
    with torch.no_grad():
        ShapeProp(graph_module).propagate(example)
    image_hw = (int(input_shape[1]), int(input_shape[2]))
    modules = dict(graph_module.named_modules())
    fields: dict[fx.Node, ReceptiveField] = {}
    by_module: dict[str, ReceptiveField] = {}
    for node in graph_module.graph.nodes:
        if node.op == "placeholder":
            fields[node] = INPUT_FIELD
            continue
        inputs = [fields[arg] for arg in node.all_input_nodes if arg in fields]
        field = _merge(inputs)
        if field is None:
            continue
        out_meta = node.meta.get("tensor_meta")
        out_hw = _spatial(getattr(out_meta, "shape", None))
        if node.op == "call_module":
            source = node.args[0] if node.args and isinstance(node.args[0], fx.Node) else None
            in_meta = source.meta.get("tensor_meta") if source is not None else None
            field = layer_step(modules[node.target], field, _spatial(getattr(in_meta, "shape", None)), out_hw,
                               image_hw)
        elif node.op in ("call_function", "call_method"):
            name = getattr(node.target, "__name__", str(node.target))
            if name in ("flatten", "view", "reshape", "linear") or (out_meta is not None and out_hw is None
                                                                   and getattr(out_meta, "shape", None)):
                field = _global(image_hw)
            elif name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
                field = _global(image_hw)
        fields[node] = field
        # Every module this node ran inside now ends (so far) with this field: the last node wins.
        for module_name in node.meta.get("nn_module_stack", {}):
            by_module[module_name.split("@")[0]] = field
        if node.op == "output":
            by_module[""] = field  # the whole model
    return by_module


def sequential_fields(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, ReceptiveField]:
    """Fallback for untraceable models: leaf modules in execution order, as if the net were a chain."""
    image_hw = (int(input_shape[1]), int(input_shape[2]))
    order: list[tuple[str, nn.Module, tuple | None, tuple | None]] = []
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            def hook(mod, args, output, name=name):
                in_shape = tuple(args[0].shape) if args and torch.is_tensor(args[0]) else None
                out_shape = tuple(output.shape) if torch.is_tensor(output) else None
                order.append((name, mod, in_shape, out_shape))
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example_input(model, input_shape))
    finally:
        for handle in handles:
            handle.remove()
    field, result = INPUT_FIELD, {}
    for name, module, in_shape, out_shape in order:
        field = layer_step(module, field, _spatial(in_shape), _spatial(out_shape), image_hw)
        result[name] = field
    return result
