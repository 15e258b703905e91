"""Every number the convolution explainer shows, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from visionlab.core.features.arithmetic import transposed_output_size
from visionlab.core.features.explainer import (
    bilinear_upsample,
    conv_trace,
    flat_input_pattern,
    pool_trace,
    stacked_versus_single,
    transposed_conv_trace,
    zero_insert,
)
from visionlab.core.features.receptive import receptive_fields

rng = np.random.default_rng(3)


@pytest.mark.parametrize("channels, kernels, size, stride, padding", [
    (1, 1, 3, 1, 0), (1, 1, 3, 2, 1), (3, 1, 3, 1, 1), (1, 3, 2, 1, 0), (8, 4, 1, 1, 0), (2, 2, 3, 3, 2),
])
def test_conv_trace_matches_torch(channels, kernels, size, stride, padding) -> None:
    x = rng.integers(-3, 4, (channels, 6, 7)).astype(float)
    w = rng.integers(-2, 3, (kernels, channels, size, size)).astype(float)
    b = rng.integers(-1, 2, kernels).astype(float)
    trace = conv_trace(x, w, b, stride, padding)
    expected = F.conv2d(torch.tensor(x)[None], torch.tensor(w), torch.tensor(b), stride, padding)[0].numpy()
    np.testing.assert_allclose(trace.output, expected)
    assert len(trace.steps) == expected.size
    step = trace.steps[-1]
    assert step.value == pytest.approx(expected[step.channel, step.row, step.col])


def test_step_formula_shows_products_and_sum() -> None:
    x = np.array([[[1, 2], [3, 4]]], dtype=float)
    w = np.array([[[[1, 0], [0, -1]]]], dtype=float)
    step = conv_trace(x, w).steps[0]
    assert step.formula() == "1·1 + 2·0 + 3·0 + 4·-1 = -3"  # zero weights are products too
    edge = np.array([[-1, 0, 1]] * 3, dtype=float)[None, None]
    nine = conv_trace(np.arange(9.0).reshape(1, 3, 3), edge).steps[0]
    assert nine.formula().count("·") == 9 and nine.value == pytest.approx(6.0)
    three = conv_trace(np.ones((3, 2, 2)), np.ones((1, 3, 3, 3)), padding=1).steps[0]
    assert three.formula().count("[") == 3  # one bracket of nine products per input channel, summed
    one_by_one = conv_trace(np.arange(8.0).reshape(8, 1, 1), np.ones((1, 8, 1, 1))).steps[0]
    # 1×1: one notation, a dot product across the channels (no brackets)
    assert one_by_one.formula() == "0·1 + 1·1 + 2·1 + 3·1 + 4·1 + 5·1 + 6·1 + 7·1 = 28"


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_matches_torch(mode) -> None:
    x = rng.integers(0, 9, (2, 6, 6)).astype(float)
    trace = pool_trace(x, 2, 2, mode)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    np.testing.assert_allclose(trace.output, pool(torch.tensor(x)[None], 2, 2)[0].numpy())
    assert trace.steps[0].formula(mode).endswith(f"= {trace.output[0, 0, 0]:g}")


def test_one_by_one_conv_reduces_8_channels_to_4() -> None:
    x = rng.normal(size=(8, 3, 3))
    w = rng.normal(size=(4, 8, 1, 1))
    trace = conv_trace(x, w)
    assert trace.output.shape == (4, 3, 3)
    layer = nn.Conv2d(8, 4, 1, bias=False).double()
    layer.weight.data = torch.tensor(w)
    np.testing.assert_allclose(trace.output, layer(torch.tensor(x)[None])[0].detach().numpy())


@pytest.mark.parametrize("stride, padding", [(2, 0), (2, 1), (3, 1), (1, 0)])
def test_transposed_conv_is_zero_insertion_then_conv(stride, padding) -> None:
    x = rng.integers(-2, 3, (1, 3, 3)).astype(float)
    w = rng.integers(-2, 3, (1, 1, 3, 3)).astype(float)
    spread, trace = transposed_conv_trace(x, w, stride, padding)
    expected = F.conv_transpose2d(torch.tensor(x)[None], torch.tensor(w), stride=stride, padding=padding)[0]
    np.testing.assert_allclose(trace.output, expected.numpy())
    assert spread.shape[1] == (3 - 1) * stride + 1 and np.count_nonzero(zero_insert(np.ones((1, 3, 3)), stride)) == 9


def test_checkerboard_versus_bilinear() -> None:
    flat = np.ones((1, 4, 4))
    _, trace = transposed_conv_trace(flat, np.ones((1, 1, 3, 3)), stride=2, padding=1)
    inner = trace.output[0, 1:-1, 1:-1]
    assert inner.max() > inner.min()  # overlapping stamps: an uneven, checkerboard output from a flat input
    smooth = bilinear_upsample(flat, trace.output.shape[1:])
    np.testing.assert_allclose(smooth, 1.0)  # bilinear keeps a flat image flat
    assert smooth.shape == trace.output.shape == (1, 7, 7)  # the same grid size, cell for cell


@pytest.mark.parametrize("stride, padding, words, size", [
    (3, 0, "flat: all 1", 9), (2, 0, "checkerboard of 1, 2, 4", 7), (1, 0, "pyramid: 1 at the border rising to 9", 5),
    (2, 1, "checkerboard", 5),
])
def test_flat_input_pattern_describes_what_torch_computes(stride, padding, words, size) -> None:
    text, output = flat_input_pattern(stride, padding)
    ones = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    expected = F.conv_transpose2d(ones, ones, stride=stride, padding=padding)[0, 0].numpy()
    np.testing.assert_array_equal(output, expected)
    assert words in text and output.shape == (size, size)
    assert transposed_output_size(3, 3, stride, padding) == expected.shape[0]  # (W1 − 1)·S − 2P + F


def test_two_3x3_see_as_much_as_one_5x5_with_fewer_weights() -> None:
    counts = stacked_versus_single()
    assert (counts["single_weights"], counts["stacked_weights"]) == (25, 18)
    single = nn.Conv2d(1, 1, 5, bias=False)
    stacked = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False), nn.Conv2d(1, 1, 3, bias=False))
    assert sum(p.numel() for p in single.parameters()) == counts["single_weights"]
    assert sum(p.numel() for p in stacked.parameters()) == counts["stacked_weights"]
    assert receptive_fields(stacked, (1, 9, 9))["1"].size[0] == counts["stacked_field"] == 5
    assert receptive_fields(nn.Sequential(single), (1, 9, 9))["0"].size[0] == counts["single_field"]
