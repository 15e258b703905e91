"""Convolutionalization: a trained classifier's Linear layers rewritten as convolutions with the same weights.

This is the first step of FCN (Long et al. 2015) in the lecture. A Linear layer that reads a C×k×k feature map
computes, for its one output vector, exactly what a k×k convolution over C channels computes at one position;
so its weight reshaped to (out, C, k, k) is such a convolution, and every later Linear is a 1×1 convolution.
On the classifier's own input size the rewritten network gives the same scores as one 1×1 cell; on a larger
image the convolutions slide, and the output is a coarse map of scores, one cell per window of the input.

The flatten between the convolutional part and the classifier is what pinned the input size, and it is
removed. Adaptive pooling needs a decision, because it would squeeze any larger map back to its fixed size:
- where, at the input size, it does nothing (torchvision AlexNet's 6×6 pool on a 224 input), it is dropped;
- a global pool (ResNet, the zoo's ResNet and Inception) becomes a sliding average over the window it pooled
  at the input size, stride 1, so each window position of the larger map is one cell;
- a pool whose input is a whole multiple of its output becomes the fixed pool it acts as (kernel = stride).
In all three cases the rewritten net equals the original at the input size.

Zero padding makes the correspondence "cell = the classifier on that crop" exact only for a network without
padding: inside a crop the border sees zeros, in the larger image it sees the neighbouring pixels.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable

import torch
from torch import nn

from visionlab.core.errors import UserError
from visionlab.core.i18n import _

ELEMENTWISE = (nn.ReLU, nn.Dropout, nn.Identity)  # act per value: the same on a vector and on a map


class ConvolutionalizeError(UserError):
    """A model this rewrite does not know how to take apart, or a layer it cannot turn into a convolution."""


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _parts(model: nn.Module) -> tuple[list[tuple[str, nn.Module]], list[tuple[str, nn.Module]]]:
    """(the convolutional part, the classifier part): the modules before and after the flatten, by name."""
    from torchvision.models import VGG, AlexNet, ResNet

    from visionlab.core.training.models import ZooModel

    if isinstance(model, ZooModel):
        features = model.features
        body = list(features.named_children()) if isinstance(features, nn.Sequential) else [("features", features)]
        body = [(f"features.{name}" if isinstance(features, nn.Sequential) else name, module)
                for name, module in body if not isinstance(module, nn.Flatten)]
        head: list[tuple[str, nn.Module]] = [("feature_dropout", model.feature_dropout)]
        head += [(f"classifier.{name}", module) for name, module in model.classifier.named_children()]
        return body, head
    if isinstance(model, (AlexNet, VGG)):
        head = [(f"classifier.{name}", module) for name, module in model.classifier.named_children()]
        return [("features", model.features), ("avgpool", model.avgpool)], head
    if isinstance(model, ResNet):
        names = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool")
        return [(name, getattr(model, name)) for name in names], [("fc", model.fc)]
    if getattr(model, "fully_convolutional", False):
        raise ConvolutionalizeError(_(
            "this FCN is already fully convolutional: its 1×1 classifier scores every cell at any input size and "
            "its learned upsampling brings the scores back to pixels. Its class map is drawn live in the Live "
            "Camera (Open checkpoint…, then the 'Inside the model' tab)."))
    raise ConvolutionalizeError(_(
        "this model has no fully connected layers after its convolutional part (a detector's backbone ends in "
        "feature maps), so there is nothing to convolutionalize: open AlexNet, VGG, ResNet or a Training "
        "Monitor classifier (a convolutional part, a flatten, then fully connected layers)"))


def _pool_inputs(model: nn.Module, modules: Iterable[nn.Module], input_shape: tuple[int, int, int]) -> dict:
    """The (C, H, W) each adaptive pool receives on an input of `input_shape`, measured by one forward pass."""
    seen: dict[int, tuple[int, int, int]] = {}
    handles = [module.register_forward_hook(
        lambda mod, args, output: seen.__setitem__(id(mod), tuple(args[0].shape[1:]))) for module in modules]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return seen


def _fixed_pool(pool: nn.Module, in_hw: tuple[int, int]) -> nn.Module | None:
    """The ordinary pool an adaptive one acts as on `in_hw` (None: it does nothing there)."""
    size = getattr(pool, "output_size")  # noqa: B009 (an adaptive pool of either kind)
    wanted = (size, size) if isinstance(size, int) else tuple(size)
    out_hw = tuple(in_hw[axis] if wanted[axis] is None else int(wanted[axis]) for axis in (0, 1))
    pool_class = nn.AvgPool2d if isinstance(pool, nn.AdaptiveAvgPool2d) else nn.MaxPool2d
    if out_hw == in_hw:
        return None
    if out_hw == (1, 1):  # global pooling: the window it pooled slides, one cell per position
        return pool_class(in_hw, stride=1)
    if in_hw[0] % out_hw[0] == 0 and in_hw[1] % out_hw[1] == 0:
        kernel = (in_hw[0] // out_hw[0], in_hw[1] // out_hw[1])
        return pool_class(kernel, stride=kernel)
    raise ConvolutionalizeError(_("its adaptive pool turns {in_h}×{in_w} into {out_h}×{out_w}, which is no fixed "
                                  "pooling window: there is no convolutional form of it").format(
        in_h=in_hw[0], in_w=in_hw[1], out_h=out_hw[0], out_w=out_hw[1]))


def _as_conv(linear: nn.Linear, map_shape: tuple[int, int, int]) -> nn.Conv2d:
    """The Linear as a convolution whose kernel covers the whole (C, h, w) map it read, weights reshaped."""
    channels, height, width = map_shape
    if channels * height * width != linear.in_features:
        raise ConvolutionalizeError(_("a Linear layer reads {count} values but the map before it has "
                                      "{channels}×{height}×{width}").format(
            count=linear.in_features, channels=channels, height=height, width=width))
    conv = nn.Conv2d(channels, linear.out_features, (height, width), bias=linear.bias is not None)
    with torch.no_grad():
        # flatten(1) orders a map channel by channel, then row by row: exactly the (C, h, w) order of a kernel.
        conv.weight.copy_(linear.weight.detach().reshape(linear.out_features, channels, height, width))
        if linear.bias is not None and conv.bias is not None:
            conv.bias.copy_(linear.bias.detach())
    return conv


def _as_norm_2d(norm: nn.BatchNorm1d) -> nn.BatchNorm2d:
    """BatchNorm over a vector's features is BatchNorm over a map's channels: same statistics, same γ and β."""
    converted = nn.BatchNorm2d(norm.num_features, norm.eps, norm.momentum, norm.affine, norm.track_running_stats)
    converted.load_state_dict(norm.state_dict())
    return converted


def convolutionalize(model: nn.Module, input_shape: tuple[int, int, int] = (3, 224, 224)) -> nn.Module:
    """A copy of `model` whose output is a (N, classes, h, w) map of scores; h = w = 1 on `input_shape`.

    `input_shape` is the (C, H, W) the classifier was built for: it fixes the shape of the map the first
    Linear read (so the size of its kernel) and what each adaptive pool does. Module names are the
    original's with dots as underscores, so a student finds each layer: AlexNet's fc6 ("classifier.1") is
    "classifier_1", now a 6×6 convolution.
    """
    body, head = _parts(model)
    adaptive = [module for _name, module in body if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))]
    pool_inputs = _pool_inputs(model, adaptive, input_shape)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for name, module in body:
        if id(module) in pool_inputs:
            fixed = _fixed_pool(module, pool_inputs[id(module)][1:])
            if fixed is not None:
                layers[name.replace(".", "_")] = fixed
        else:
            layers[name.replace(".", "_")] = copy.deepcopy(module)
    convolutional = nn.Sequential(layers)
    was_training = model.training
    convolutional.eval()
    with torch.no_grad():
        map_shape = tuple(convolutional(torch.zeros(1, *input_shape)).shape[1:])
    if len(map_shape) != 3:
        raise ConvolutionalizeError(_("its convolutional part does not end in a map of channels × rows × columns"))
    first = True
    for name, module in head:
        key = name.replace(".", "_")
        if isinstance(module, nn.Linear):
            read = map_shape if first else (module.in_features, 1, 1)
            layers[key] = _as_conv(module, (int(read[0]), int(read[1]), int(read[2])))
            first = False
        elif isinstance(module, nn.BatchNorm1d):
            layers[key] = _as_norm_2d(module)
        elif isinstance(module, ELEMENTWISE):
            layers[key] = copy.deepcopy(module)
        else:
            raise ConvolutionalizeError(_("its classifier holds a {layer_type}, which has no convolutional form "
                                          "here").format(layer_type=type(module).__name__))
    if first:
        raise ConvolutionalizeError(_("its classifier has no Linear layer to turn into a convolution"))
    result = nn.Sequential(layers)
    result.train(was_training)
    return result


def total_stride(convolutional: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Input pixels between two neighbouring cells of the score map (the product of the strides on the
    network's path, measured by the receptive-field walk, so parallel branches are not counted twice)."""
    from visionlab.core.features.receptive import receptive_fields, sequential_fields

    try:
        field = receptive_fields(convolutional, input_shape)[""]
    except Exception:  # not traceable by torch.fx: the chain of its leaf modules
        field = list(sequential_fields(convolutional, input_shape).values())[-1]
    return int(field.jump[1])
