"""The lecture's conv formulas, in their general form, against what torch actually produces."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn as nn

from visionlab.core.features.arithmetic import conv_formulas, conv_output_size, conv_param_count, transposed_output_size


def _random_conv(rng: random.Random) -> tuple[nn.Conv2d, int, int]:
    groups = rng.choice([1, 1, 2, 4])
    in_ch = groups * rng.randint(1, 4)
    out_ch = groups * rng.randint(1, 4)
    kernel, dilation = rng.randint(1, 7), rng.randint(1, 3)
    padding, stride = rng.randint(0, 3), rng.randint(1, 4)
    span = dilation * (kernel - 1) + 1
    height = rng.randint(max(1, span - 2 * padding), 40)
    width = rng.randint(max(1, span - 2 * padding), 40)
    conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                     bias=rng.random() < 0.7)
    return conv, height, width


def test_output_size_and_params_match_torch_on_random_convs() -> None:
    rng = random.Random(5)
    for _ in range(200):
        conv, height, width = _random_conv(rng)
        out = conv(torch.zeros(1, conv.in_channels, height, width))
        k, s, p, d = conv.kernel_size[0], conv.stride[0], conv.padding[0], conv.dilation[0]
        assert conv_output_size(height, k, s, p, d) == out.shape[2]
        assert conv_output_size(width, k, s, p, d) == out.shape[3]
        expected = conv_param_count(conv.in_channels, conv.out_channels, k, conv.groups, conv.bias is not None)
        assert expected == sum(t.numel() for t in conv.parameters())


@pytest.mark.parametrize("pool_type", [nn.MaxPool2d, nn.AvgPool2d])
def test_pooling_size_matches_torch_including_ceil_mode(pool_type) -> None:
    rng = random.Random(7)
    for _ in range(150):
        kernel = rng.randint(1, 5)
        stride, padding = rng.randint(1, 4), rng.randint(0, kernel // 2)
        ceil_mode = rng.random() < 0.5
        size = rng.randint(kernel, 30)
        pool = pool_type(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
        out = pool(torch.zeros(1, 1, size, size))
        assert conv_output_size(size, kernel, stride, padding, 1, ceil_mode) == out.shape[-1], \
            (kernel, stride, padding, size)


def test_transposed_conv_size_matches_torch() -> None:
    rng = random.Random(9)
    for _ in range(100):
        kernel, stride = rng.randint(1, 5), rng.randint(1, 4)
        padding, dilation = rng.randint(0, 2), rng.randint(1, 2)
        output_padding = rng.randint(0, max(0, min(stride, dilation) - 1))
        size = rng.randint(1, 12)
        layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding, dilation=dilation)
        expected = transposed_output_size(size, kernel, stride, padding, dilation, output_padding)
        if expected < 1:
            continue
        assert expected == layer(torch.zeros(1, 1, size, size)).shape[-1]


def test_formula_lines_show_floor_and_agree_with_alexnet_conv1() -> None:
    conv = nn.Conv2d(3, 64, 11, stride=4, padding=2)  # torchvision AlexNet's first layer
    out = conv(torch.zeros(1, 3, 224, 224))
    lines = conv_formulas(conv, (3, 224, 224), tuple(out.shape[1:]))
    by_label = {line.label: line for line in lines}
    assert all(line.matches for line in lines)
    assert by_label["W2"].value == 55
    # (224 − 11 + 4)/4 = 54.25: the division is not exact, so the panel shows the floor.
    assert "⌊217/4 = 54.25⌋ + 1 = 55" in by_label["W2"].text
    assert by_label["params"].value == 23_296 and "(11·11·3)·64 + 64" in by_label["params"].text


def test_formula_lines_for_dilated_grouped_conv_and_pool() -> None:
    conv = nn.Conv2d(8, 16, 3, stride=2, padding=1, dilation=2, groups=4, bias=False)
    out = conv(torch.zeros(1, 8, 31, 20))
    lines = {line.label: line for line in conv_formulas(conv, (8, 31, 20), tuple(out.shape[1:]))}
    assert all(line.matches for line in lines.values())
    assert "F_eff=D·(F−1)+1=2·2+1=5" in lines["H2"].text
    assert "/groups" in lines["params"].text and lines["params"].value == 3 * 3 * 2 * 16
    pool = nn.MaxPool2d(3, 2, ceil_mode=True)
    out = pool(torch.zeros(1, 4, 10, 10))
    lines = {line.label: line for line in conv_formulas(pool, (4, 10, 10), tuple(out.shape[1:]))}
    assert lines["W2"].matches and "⌈" in lines["W2"].text and lines["params"].value == 0


@pytest.mark.parametrize("kernel, dilation", [(3, 2), (3, 3), (4, 1), (2, 3), (5, 2)])
def test_same_padding_with_dilation_matches_torch(kernel, dilation) -> None:
    """padding='same' pads D·(F − 1) in all (odd: one more after), as torch does, not F//2."""
    import warnings

    conv = nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation)
    with warnings.catch_warnings():  # torch warns that even kernels need a padded copy: true, and harmless
        warnings.simplefilter("ignore")
        out = conv(torch.zeros(1, 2, 11, 8))
    lines = {line.label: line for line in conv_formulas(conv, (2, 11, 8), tuple(out.shape[1:]))}
    assert lines["W2"].value == out.shape[3] == 8 and lines["H2"].value == out.shape[2] == 11
    assert all(line.matches for line in lines.values())


def test_linear_formula_matches_the_real_layer() -> None:
    for in_features, out_features, bias in [(256 * 6 * 6, 4096, True), (512, 1000, True), (7, 3, False)]:
        layer = nn.Linear(in_features, out_features, bias=bias)
        out = layer(torch.zeros(1, in_features))
        lines = {line.label: line for line in conv_formulas(layer, (in_features,), tuple(out.shape[1:]))}
        assert lines["params"].value == sum(p.numel() for p in layer.parameters())
        assert lines["out"].actual == out.shape[1] and all(line.matches for line in lines.values())
    fc6 = {line.label: line for line in conv_formulas(nn.Linear(9216, 4096), (9216,), (4096,))}
    assert fc6["params"].text == "params = in·out + out = 9,216·4,096 + 4,096 = 37,752,832"
