"""The layer table: every module with its output shape for the current input, parameters, FLOPs and
receptive field, plus the totals and the conv-versus-fully-connected split the lecture makes for AlexNet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from visionlab.core.features.receptive import ReceptiveField, example_input, receptive_fields, sequential_fields

log = logging.getLogger(__name__)

# The lecture quotes the original two-GPU AlexNet (Krizhevsky et al. 2012); torchvision's single-tower
# AlexNet has other channel counts, so both are shown, each with its label.
NOTES_ALEXNET_SPLIT = {"label": "lecture notes, original two-GPU AlexNet", "conv": 2_000_000, "fc": 65_000_000}


@dataclass
class LayerInfo:
    name: str                    # dotted module name, "" for the whole model
    type_name: str               # Conv2d, ReLU, Sequential, BasicBlock...
    depth: int                   # 0 for the model, 1 for its children...
    is_leaf: bool
    input_shape: tuple[int, ...] | None = None   # (C, H, W) or (features,), batch dimension dropped
    output_shape: tuple[int, ...] | None = None
    params: int = 0              # own and children's parameters
    flops: int = 0               # from torch.utils.flop_counter (a multiply-add counts 2)
    field: ReceptiveField | None = None

    @property
    def has_maps(self) -> bool:
        """True when the output is a stack of 2-D maps the viewer can draw."""
        return self.output_shape is not None and len(self.output_shape) == 3


@dataclass
class ModelSummary:
    layers: list[LayerInfo]
    input_shape: tuple[int, int, int]
    total_params: int
    total_flops: int
    conv_params: int
    fc_params: int
    other_params: int
    exact_fields: bool           # False when the graph could not be traced and fields assume a chain
    by_name: dict[str, LayerInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {layer.name: layer for layer in self.layers}


def _shape(value) -> tuple[int, ...] | None:
    if isinstance(value, (tuple, list)) and value:
        value = value[0]
    if torch.is_tensor(value):
        return tuple(int(v) for v in value.shape[1:])
    if hasattr(value, "logits") and torch.is_tensor(value.logits):  # GoogLeNet's namedtuple in train mode
        return tuple(int(v) for v in value.logits.shape[1:])
    return None


def param_split(model: nn.Module) -> tuple[int, int, int]:
    """(conv, fully connected, other) parameter counts; BatchNorm and the like land in "other"."""
    conv = fc = other = 0
    for module in model.modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
            conv += own
        elif isinstance(module, nn.Linear):
            fc += own
        else:
            other += own
    return conv, fc, other


def analyze_model(model: nn.Module, input_shape: tuple[int, int, int]) -> ModelSummary:
    """Run one forward pass of zeros of `input_shape` (C, H, W) and describe every module.

    Raises RuntimeError (from torch) when the input is too small for the network; callers turn it into a
    message.
    """
    names = {module: name for name, module in model.named_modules()}
    shapes: dict[str, tuple] = {}
    handles = []
    for module, name in names.items():
        def hook(mod, args, output, name=name):
            shapes[name] = (_shape(args[0]) if args else None, _shape(output))
        handles.append(module.register_forward_hook(hook))
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(example_input(model, input_shape))
    finally:
        for handle in handles:
            handle.remove()
    # The counter names modules "ClassName.dotted.path"; drop the class name to match named_modules.
    flops_by_name: dict[str, int] = {}
    for key, per_op in counter.get_flop_counts().items():
        if key == "Global":
            continue
        _, _, dotted = key.partition(".")
        flops_by_name[dotted] = int(sum(per_op.values()))
    try:
        fields, exact = receptive_fields(model, input_shape), True
    except Exception as exc:  # untraceable control flow: a chain is the best guess, and we say so
        log.info("fx trace failed (%s); receptive fields assume a chain of layers", exc)
        fields, exact = sequential_fields(model, input_shape), False
    layers = []
    for module, name in names.items():
        in_shape, out_shape = shapes.get(name, (None, None))
        layers.append(LayerInfo(
            name=name, type_name=type(module).__name__, depth=0 if not name else name.count(".") + 1,
            is_leaf=not list(module.children()), input_shape=in_shape, output_shape=out_shape,
            params=sum(p.numel() for p in module.parameters()), flops=flops_by_name.get(name, 0),
            field=fields.get(name)))
    layers[0].flops = int(counter.get_total_flops())
    conv, fc, other = param_split(model)
    shape = cast("tuple[int, int, int]", tuple(input_shape))  # tuple(): callers may pass a list
    return ModelSummary(layers, shape, layers[0].params, layers[0].flops, conv, fc, other, exact)
