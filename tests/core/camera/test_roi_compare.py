"""RoI pooling beside RoIAlign: the grids are torchvision's, and the geometry the view draws (RoI pooling's
whole-cell bins, RoIAlign's sample points) gives those very values back when pooled by hand here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align, roi_pool

from visionlab.core.camera.proposals import RPNRun, pooler_scale
from visionlab.core.camera.roi_compare import (
    FeatureMap,
    compare_roi,
    detector_feature_map,
    image_feature_map,
    quantization_lines,
)
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.errors import UserError

# Frame-pixel boxes at stride 16: fractional ends, a box smaller than a cell, one hanging over the border.
BOXES = [(37.0, 21.5, 200.3, 151.9), (100.0, 100.0, 108.0, 110.0), (250.0, 5.0, 340.0, 90.0), (3.2, 4.7, 63.9, 40.1)]


@pytest.fixture(scope="module")
def feature_map() -> FeatureMap:
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3, 15, 20, generator=generator)  # a 320×240 input at stride 16
    return FeatureMap(values, 1 / 16, (1.0, 1.0), "random test map")


def max_pool_by_hand(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Each bin's maximum over the cells [x0, x1) × [y0, y1) the comparison says it reads (0 for an empty bin)."""
    out = np.zeros(values.shape[:1] + bins.shape[:2], np.float32)
    for row in range(bins.shape[0]):
        for col in range(bins.shape[1]):
            x0, x1, y0, y1 = bins[row, col]
            if x1 > x0 and y1 > y0:
                out[:, row, col] = values[:, y0:y1, x0:x1].max(axis=(1, 2))
    return out


def bilinear(values: np.ndarray, x: float, y: float) -> np.ndarray:
    """Bilinear interpolation with cell j's value at coordinate j; zero outside [-1, size] (torchvision's rule)."""
    height, width = values.shape[1:]
    if y < -1 or y > height or x < -1 or x > width:
        return np.zeros(values.shape[0], np.float32)
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    return ((1 - ly) * (1 - lx) * values[:, y_low, x_low] + (1 - ly) * lx * values[:, y_low, x_high]
            + ly * (1 - lx) * values[:, y_high, x_low] + ly * lx * values[:, y_high, x_high])


@pytest.mark.parametrize("box", BOXES)
def test_both_grids_are_torchvisions(feature_map, box):
    comparison = compare_roi(feature_map, np.array(box))
    rois = torch.tensor([[0.0, *box]])
    expected_pool = roi_pool(feature_map.values[None], rois, (7, 7), 1 / 16)[0].numpy()
    expected_align = roi_align(feature_map.values[None], rois, (7, 7), 1 / 16, 2, aligned=False)[0].numpy()
    np.testing.assert_array_equal(comparison.pooled, expected_pool)
    np.testing.assert_allclose(comparison.aligned, expected_align, rtol=1e-6, atol=1e-6)
    assert not np.allclose(comparison.pooled, comparison.aligned)  # the two operators really differ here


@pytest.mark.parametrize("box", BOXES)
def test_the_drawn_bins_max_pooled_by_hand_give_roi_pools_values(feature_map, box):
    comparison = compare_roi(feature_map, np.array(box))
    by_hand = max_pool_by_hand(feature_map.values.numpy(), comparison.pool_bins)
    np.testing.assert_array_equal(by_hand, comparison.pooled)


@pytest.mark.parametrize("box", BOXES)
def test_the_drawn_sample_points_interpolated_by_hand_give_roi_aligns_values(feature_map, box):
    comparison = compare_roi(feature_map, np.array(box))
    values = feature_map.values.numpy()
    points = comparison.sample_points  # (7, 7, 2, 2, 2)
    by_hand = np.zeros_like(comparison.aligned)
    for row in range(7):
        for col in range(7):
            samples = [bilinear(values, float(x), float(y)) for x, y in points[row, col].reshape(-1, 2)]
            by_hand[:, row, col] = np.mean(samples, axis=0)
    np.testing.assert_allclose(by_hand, comparison.aligned, rtol=1e-5, atol=1e-5)
    # The points lie inside the exact box (in cells): no rounding, unlike RoI pooling's bins.
    x1, y1, x2, y2 = np.array(box) / 16
    assert x1 < points[..., 0].min() and points[..., 0].max() < max(x2, x1 + 1)
    assert y1 < points[..., 1].min() and points[..., 1].max() < max(y2, y1 + 1)


def test_the_crop_holds_every_cell_both_methods_read(feature_map):
    comparison = compare_roi(feature_map, np.array(BOXES[0]))
    left, top = comparison.crop_origin
    bins, points = comparison.pool_bins, comparison.sample_points
    assert left <= bins[..., 0].min() and top <= bins[..., 2].min() and left <= math.floor(points[..., 0].min())
    height, width = comparison.crop.shape[1:]
    assert bins[..., 1].max() <= left + width and bins[..., 3].max() <= top + height
    np.testing.assert_array_equal(comparison.crop, feature_map.values[:, top:top + height, left:left + width])
    lines = quantization_lines(comparison)
    assert "x 2.31…12.52" in lines[0] and "random test map" in lines[0]
    assert f"reads x {bins[..., 0].min()}…{bins[..., 1].max()}" in lines[1]


def test_the_fpn_level_is_the_one_torchvisions_pooler_uses():
    """Four FPN levels (strides 4…32) of a 256×320 input: each box is cut from the level MultiScaleRoIAlign
    maps it to, and the RoIAlign grid equals the pooler's output."""
    generator = torch.Generator().manual_seed(1)
    image_size = (256, 320)
    features = {name: torch.randn(1, 4, image_size[0] // stride, image_size[1] // stride, generator=generator)
                for name, stride in (("0", 4), ("1", 8), ("2", 16), ("3", 32))}
    boxes = torch.tensor([[10.0, 12.0, 40.0, 50.0], [30.0, 20.0, 150.0, 140.0], [0.0, 0.0, 300.0, 250.0]])
    pooler = MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    expected = pooler(features, [boxes], [image_size])
    levels = pooler.map_levels([boxes]).tolist()
    assert len(set(levels)) == 3  # the boxes really land on different levels
    run = RPNRun(boxes.numpy(), 0.1, 0.01, "cpu", {name: level[0] for name, level in features.items()},
                 {name: pooler_scale(tuple(level.shape[-2:]), image_size) for name, level in features.items()},
                 (1.0, 1.0))
    for box, level, pooled in zip(boxes.numpy(), levels, expected, strict=True):
        chosen = detector_feature_map(run, box)
        assert chosen.values is run.features[str(level)]
        np.testing.assert_allclose(compare_roi(chosen, box).aligned, pooled.numpy(), rtol=1e-5, atol=1e-6)


def test_a_model_without_a_backbone_pools_the_frame_itself():
    frame = SyntheticSource(320, 240).render(3)
    features = image_feature_map(frame)
    assert tuple(features.values.shape) == (1, 15, 20) and features.to_input == (1 / 16, 1 / 16)
    comparison = compare_roi(features, np.array([40.0, 30.0, 250.0, 200.0]))
    assert comparison.pooled.shape == (1, 7, 7) and "16×16" in comparison.feature
    assert 0 <= comparison.pooled.min() and comparison.pooled.max() <= 1
    with pytest.raises(UserError, match="positive width"):
        compare_roi(features, np.array([50.0, 30.0, 50.0, 200.0]))
