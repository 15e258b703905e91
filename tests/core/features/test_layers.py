"""Layer table: parameter counts against torchvision's published ones, receptive fields of known layers,
multiply-adds against torchvision's "_ops", the conv / fully connected split of both AlexNets and where
torchvision differs from the lecture. Models are built on the meta device: shapes, no arithmetic."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm

from visionlab.core.features.layers import (
    ORIGINAL_ALEXNET_INPUT,
    alexnet_splits,
    analyze_model,
    fcn_upsampling,
    lecture_differences,
    original_alexnet,
    param_split,
)
from visionlab.core.features.receptive import receptive_fields, sequential_fields


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return tvm.get_model(name, weights=None, **kwargs).eval()


@pytest.mark.parametrize("name, millions, kwargs", [
    ("alexnet", 61.1, {}), ("vgg16", 138.4, {}), ("googlenet", 6.6, {"aux_logits": False, "init_weights": False}),
    ("resnet18", 11.7, {}), ("resnet50", 25.6, {}),
])
def test_parameter_counts_match_published(name, millions, kwargs) -> None:
    model = _meta(name, **kwargs)
    summary = analyze_model(model, (3, 224, 224))
    assert round(summary.total_params / 1e6, 1) == millions
    # torchvision's own metadata says the same thing
    assert summary.total_params == tvm.get_model_weights(name).DEFAULT.meta["num_params"]


def _torch_count(modules, kind) -> int:
    return sum(p.numel() for m in modules if isinstance(m, kind) for p in m.parameters(recurse=False))


def test_alexnet_conv_versus_fc_split_of_both_nets() -> None:
    torchvision_net = _meta("alexnet")
    conv, fc, other = param_split(torchvision_net)
    assert (conv, fc, other) == (_torch_count(torchvision_net.modules(), nn.Conv2d),
                                 _torch_count(torchvision_net.modules(), nn.Linear), 0)
    tv_split, original_split = alexnet_splits(torchvision_net)
    # The rebuilt original runs: torch itself says fc6 reads 256·6·6 features from a 227×227 image.
    original = original_alexnet()
    with torch.no_grad():
        assert original(torch.zeros(1, *ORIGINAL_ALEXNET_INPUT)).shape == (1, 1000)
    summary = analyze_model(original, ORIGINAL_ALEXNET_INPUT)
    assert summary.by_name["15"].input_shape == (256, 6, 6) and summary.by_name["4"].output_shape == (256, 27, 27)
    assert original_split.conv == _torch_count(original.modules(), nn.Conv2d)
    assert original_split.fc == _torch_count(original.modules(), nn.Linear)
    # Both nets: the same fully connected part, layer by layer (37.75 + 16.78 + 4.10 = 58.6 M).
    expected_fc = tuple(sum(p.numel() for p in m.parameters()) for m in original.modules() if isinstance(m, nn.Linear))
    assert original_split.fc_layers == tv_split.fc_layers == expected_fc
    assert [round(n / 1e6, 2) for n in expected_fc] == [37.75, 16.78, 4.1]
    assert round(tv_split.conv / 1e6, 2) == 2.47 and round(original_split.conv / 1e6, 2) == 2.33
    assert round(original_split.ratio) == 25 and round(tv_split.ratio) == 24  # "≈25×", not the notes' 30×


def test_lecture_differences_are_read_from_the_models() -> None:
    alexnet = lecture_differences("alexnet", _meta("alexnet"))
    assert any("no local response normalization" in note for note in alexnet)
    assert any("64 first-layer kernels" in note for note in alexnet)
    # The original has LRN and 96 kernels: nothing to flag.
    assert lecture_differences("alexnet", original_alexnet()) == []
    googlenet = _meta("googlenet", aux_logits=False, init_weights=False)
    kernel = googlenet.inception3a.branch3[1].conv.kernel_size
    notes = lecture_differences("googlenet", googlenet)
    assert kernel == (3, 3) and any(f"is {kernel[0]}×{kernel[1]}" in note for note in notes)
    assert lecture_differences("resnet18", _meta("resnet18")) == []
    assert fcn_upsampling() == "bilinear"


@pytest.mark.parametrize("name", ["vgg16", "resnet18"])
def test_mult_adds_match_torchvision_published_ops(name) -> None:
    """torchvision publishes multiply-adds (meta "_ops", labelled GFLOPS): VGG16 15.47 G, ResNet-18 1.814 G."""
    summary = analyze_model(_meta(name), (3, 224, 224))
    assert round(summary.total_mult_adds / 1e9, 3) == tvm.get_model_weights(name).DEFAULT.meta["_ops"]


@pytest.mark.parametrize("name, layer, field", [
    ("resnet18", "conv1", 7), ("resnet18", "maxpool", 11), ("resnet18", "layer4", 435),
    ("alexnet", "features.0", 11), ("alexnet", "features", 195),
    ("vgg16", "features.28", 196), ("vgg16", "features", 212),
])
def test_receptive_fields_of_known_layers(name, layer, field) -> None:
    fields = receptive_fields(_meta(name), (3, 224, 224))
    assert fields[layer].size == (field, field)


def test_effective_stride_and_box_of_resnet_layers() -> None:
    fields = receptive_fields(_meta("resnet18"), (3, 224, 224))
    assert fields["layer2"].jump == (8, 8) and fields["layer4"].jump == (32, 32)
    # conv1 (7×7, stride 2, padding 3): output pixel (0, 0) is centred on input pixel 0.
    top, left, height, width = fields["conv1"].box(0, 0)
    assert (top, left, height, width) == (-3.0, -3.0, 7.0, 7.0)
    assert fields["conv1"].box(10, 5)[:2] == (-3.0 + 20, -3.0 + 10)
    assert fields["fc"].is_global


def test_branches_take_the_larger_field_and_chain_fallback_agrees_on_chains() -> None:
    class TwoBranch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.small = nn.Conv2d(1, 1, 1)
            self.big = nn.Conv2d(1, 1, 5, padding=2)

        def forward(self, x):
            return self.small(x) + self.big(x)

    fields = receptive_fields(TwoBranch(), (1, 16, 16))
    assert fields[""].size == (5, 5)
    chain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, dilation=2))
    exact = receptive_fields(chain, (1, 32, 32))
    assert sequential_fields(chain, (1, 32, 32))["2"] == exact["2"]
    assert exact["2"].size == (3 + 1 + 4 * 2, 3 + 1 + 4 * 2)


def test_layer_table_shapes_and_flops_agree_with_torch() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    summary = analyze_model(model, (3, 16, 16))
    conv = summary.by_name["0"]
    assert conv.output_shape == (8, 8, 8) and conv.has_maps
    assert conv.mult_adds == (3 * 3 * 3) * 8 * 8 * 8  # one per multiply-add, as torchvision counts
    assert summary.by_name["3"].mult_adds == 512 * 10
    assert summary.total_mult_adds == conv.mult_adds + summary.by_name["3"].mult_adds
    assert (summary.conv_params, summary.fc_params) == (3 * 9 * 8 + 8, 512 * 10 + 10)
    assert not summary.by_name["3"].has_maps and summary.exact_fields


def test_receptive_field_box_equals_where_torch_gradients_reach() -> None:
    """The outlined box is exactly the set of input pixels that influence the output pixel (autograd)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 5, stride=2, padding=2), nn.AvgPool2d(3, 2, padding=1),
                          nn.Conv2d(2, 2, 3, dilation=2, padding=1), nn.Conv2d(2, 1, 3, stride=2)).double()
    size = 64
    fields = receptive_fields(model, (1, size, size))
    for row, col in [(0, 0), (2, 3), (4, 1)]:
        image = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        model(image)[0, 0, row, col].backward()
        rows, cols = torch.nonzero(image.grad[0, 0], as_tuple=True)
        top, left, height, width = fields["3"].box(row, col)
        # The box may reach into the padding; the gradient lives inside the image.
        assert rows.min().item() == max(0, int(top)) and rows.max().item() == min(size, int(top + height)) - 1
        assert cols.min().item() == max(0, int(left)) and cols.max().item() == min(size, int(left + width)) - 1
