"""The layer table: every module with its output shape for the current input, parameters, multiply-adds
and receptive field, plus the totals, the conv-versus-fully-connected split the lecture makes for AlexNet
(counted on torchvision's net and on a rebuilt original two-GPU net) and where torchvision's models differ
from the lecture's description, read from the model itself.

Compute is counted in multiply-adds, the unit torchvision publishes (its weights' meta "_ops", which it
labels GFLOPS, is multiply-adds: VGG16 15.47 G); torch's FlopCounterMode counts 2 FLOPs per multiply-add,
so its counts are halved here, and the panel labels the column "mult-adds".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from visionlab.core.features.receptive import ReceptiveField, example_input, receptive_fields, sequential_fields
from visionlab.core.i18n import _

log = logging.getLogger(__name__)

FLOPS_PER_MULT_ADD = 2  # FlopCounterMode's convention; torchvision's "_ops" counts one per multiply-add


@dataclass
class LayerInfo:
    name: str                    # dotted module name, "" for the whole model
    type_name: str               # Conv2d, ReLU, Sequential, BasicBlock...
    depth: int                   # 0 for the model, 1 for its children...
    is_leaf: bool
    input_shape: tuple[int, ...] | None = None   # (C, H, W) or (features,), batch dimension dropped
    output_shape: tuple[int, ...] | None = None
    params: int = 0              # own and children's parameters
    mult_adds: int = 0           # multiply-adds of one forward pass (torch's flop counter / 2)
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
    total_mult_adds: int
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
        dotted = key.partition(".")[2]
        flops_by_name[dotted] = int(sum(per_op.values())) // FLOPS_PER_MULT_ADD
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
            params=sum(p.numel() for p in module.parameters()), mult_adds=flops_by_name.get(name, 0),
            field=fields.get(name)))
    layers[0].mult_adds = int(counter.get_total_flops()) // FLOPS_PER_MULT_ADD
    conv, fc, other = param_split(model)
    shape = cast("tuple[int, int, int]", tuple(input_shape))  # tuple(): callers may pass a list
    return ModelSummary(layers, shape, layers[0].params, layers[0].mult_adds, conv, fc, other, exact)


def vector_words(info: LayerInfo, activation) -> str:
    """What a layer whose output is one value per channel or unit computes, from its shapes ("" for maps)."""
    shape = tuple(activation.shape)
    if len(shape) == 3 and shape[1:] != (1, 1):
        return ""
    count, source = int(activation.size), info.input_shape
    if "AdaptiveAvgPool" in info.type_name and source is not None and len(source) == 3:
        return _("{layer}: global average pooling. Each of the {count} values is the mean of one "
                 "{height}×{width} map of the layer before: one number per channel, no weights.").format(
            layer=info.name, count=count, height=source[1], width=source[2])
    if info.type_name == "Linear" and source is not None:
        return _("{layer}: fully connected, {inputs:,} inputs → {count:,} outputs (no maps: each "
                 "output reads every input). Bars: the output vector for this image.").format(
            layer=info.name, inputs=source[-1], count=count)
    return _("{layer}: a vector of {count:,} values (no spatial maps).").format(layer=info.name, count=count)


def original_alexnet(num_classes: int = 1000) -> nn.Module:
    """The two-GPU AlexNet of Krizhevsky et al. (2012), as one module: conv2, conv4 and conv5 each read only
    their own GPU's half of the channels, which `groups=2` expresses. 96 first-layer kernels, LRN after
    conv1 and conv2, a 227×227 input (the paper's "224" does not give its 55×55 maps)."""
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096),
        nn.ReLU(), nn.Linear(4096, num_classes))


ORIGINAL_ALEXNET_INPUT = (3, 227, 227)


@dataclass(frozen=True)
class ParamSplit:
    label: str
    conv: int
    fc: int
    fc_layers: tuple[int, ...]   # each Linear layer's parameters, in order (fc6, fc7, fc8 for AlexNet)

    @property
    def ratio(self) -> float:
        return self.fc / self.conv if self.conv else float("inf")


def split_of(model: nn.Module, label: str) -> ParamSplit:
    conv, fc, _other = param_split(model)
    fc_layers = tuple(sum(p.numel() for p in m.parameters()) for m in model.modules() if isinstance(m, nn.Linear))
    return ParamSplit(label, conv, fc, fc_layers)


def alexnet_splits(torchvision_alexnet: nn.Module) -> list[ParamSplit]:
    """The lecture's conv-versus-FC comparison, counted on torchvision's net and on the original."""
    with torch.device("meta"):  # only shapes are needed to count parameters
        original = original_alexnet()
    return [split_of(torchvision_alexnet, _("torchvision's single-tower AlexNet")),
            split_of(original, _("original two-GPU AlexNet (conv2, conv4, conv5 in 2 groups)"))]


def lecture_differences(name: str, model: nn.Module) -> list[str]:
    """Where torchvision's `name` differs from the lecture's description, read from the model's modules."""
    notes = []
    if name.startswith("alexnet"):
        lrn = sum(isinstance(m, nn.LocalResponseNorm) for m in model.modules())
        first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        if lrn == 0:
            notes.append(_("no local response normalization (the lecture's AlexNet has it after conv1 and conv2)"))
        if first is not None and first.out_channels != 96:
            notes.append(_("{count} first-layer kernels (the paper: 96)").format(count=first.out_channels))
    if name.startswith("googlenet") and hasattr(model, "inception3a"):
        branch = model.get_submodule("inception3a.branch3")
        convs = [m for m in branch.modules() if isinstance(m, nn.Conv2d)]
        kernel = convs[-1].kernel_size if convs else None
        if kernel is not None and kernel != (5, 5):
            notes.append(_("the inception \"5×5\" branch (branch3) is {rows}×{cols} "
                           "(a known quirk of the port)").format(rows=kernel[0], cols=kernel[1]))
    return notes


def fcn_upsampling() -> str:
    """How torchvision's FCN brings its stride-8 scores back to the image size, read from its forward code
    (the lecture's FCN learns transposed convolutions; torchvision's port interpolates)."""
    import inspect

    from torchvision.models.segmentation._utils import _SimpleSegmentationModel

    source = inspect.getsource(_SimpleSegmentationModel.forward)
    for mode in ("bilinear", "nearest", "bicubic"):
        if f'mode="{mode}"' in source or f"mode='{mode}'" in source:
            return mode
    return "transposed convolution" if "ConvTranspose" in source else "unknown"
