"""RoI max pooling (Fast / Faster R-CNN as in the lecture) beside RoIAlign (Mask R-CNN, torchvision), on one
proposal of one frame's feature map, with the geometry each one samples.

RoI pooling rounds the box to whole feature cells, splits it into an H×W grid of whole cells (floor / ceil,
so neighbouring bins may overlap or differ in size) and takes the maximum of each bin: the box it really
reads is up to half a cell off on each side, at stride 16 that is 8 input pixels. RoIAlign keeps the box
where it is, splits it exactly and averages a few bilinear samples per bin. Both come from torchvision
(`ops.roi_pool`, `ops.roi_align`); the bin edges and sample points returned here follow torchvision's CPU
kernels so the view can draw where each value came from (the tests check that those edges and points give
back torchvision's values).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchvision.ops import roi_align, roi_pool

from visionlab.core.camera.inside_model import roi_level
from visionlab.core.camera.proposals import ProposalsRun, RPNRun
from visionlab.core.errors import UserError
from visionlab.core.i18n import _

OUTPUT_SIZE = 7  # the box head's grid in Faster R-CNN and torchvision
SAMPLING_RATIO = 2  # torchvision's MultiScaleRoIAlign: 2×2 bilinear samples per bin
IMAGE_STRIDE = 16  # without a backbone, the frame averaged over 16×16 cells stands in for a VGG-16 conv5 map
CROP_MARGIN = 1  # feature cells kept around what the two methods read, for the picture


@dataclass
class FeatureMap:
    values: torch.Tensor  # (C, H, W) float32 on the CPU
    spatial_scale: float  # feature cells per input pixel
    to_input: tuple[float, float]  # (x, y) input pixels per frame pixel
    description: str  # what the map is, in words for the view


def image_feature_map(frame: np.ndarray, stride: int = IMAGE_STRIDE) -> FeatureMap:
    """The frame's luminance averaged over stride×stride cells: a feature map for models with no backbone,
    coarse enough that RoI pooling's rounding is visible (a full-size image would hide it)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    height, width = gray.shape
    cells = cv2.resize(gray, (max(1, width // stride), max(1, height // stride)), interpolation=cv2.INTER_AREA)
    scale = (cells.shape[1] / width, cells.shape[0] / height)
    return FeatureMap(torch.from_numpy(cells)[None], 1.0, scale,
                      _("the frame's brightness averaged over {stride}×{stride} pixel cells (this model has no "
                        "backbone feature map)").format(stride=stride))


def detector_feature_map(run: RPNRun, box: np.ndarray) -> FeatureMap:
    """The FPN level torchvision's box head pools `box` (frame pixels) from: k = ⌊4 + log2(√(wh)/224)⌋."""
    names = list(run.features)
    levels = [round(-np.log2(run.spatial_scales[name])) for name in names]
    input_box = np.asarray(box, np.float32) * np.array([run.resize[0], run.resize[1]] * 2, np.float32)
    level = roi_level(input_box, min(levels), max(levels)) - min(levels)
    name = names[min(level, len(names) - 1)]
    scale = run.spatial_scales[name]
    # A backbone without an FPN (the Training Monitor's detector) has one map, which torchvision names '0'.
    where = _("FPN level '{level}' of the detector's backbone").format(level=name) if len(names) > 1 else \
        _("the detector's one feature map")
    return FeatureMap(run.features[name], scale, run.resize,
                      _("{where} (stride {stride:g}, {channels} channels)").format(
                          where=where, stride=1 / scale, channels=run.features[name].shape[0]))


@dataclass
class RoIComparison:
    box: np.ndarray  # (4,) the proposal in frame pixels
    box_cells: np.ndarray  # (4,) the same box in feature-cell coordinates (input box × spatial scale)
    pooled: np.ndarray  # (C, S, S) torchvision.ops.roi_pool
    aligned: np.ndarray  # (C, S, S) torchvision.ops.roi_align (aligned=False, as torchvision's detectors)
    pool_bins: np.ndarray  # (S, S, 4) int: cells [x0, x1) × [y0, y1) each RoI-pool bin takes the max over
    sample_points: np.ndarray  # (S, S, g, g, 2) x, y RoIAlign interpolates at; cell j's value sits at j
    crop: np.ndarray  # (C, h, w) the feature cells around both, for the picture
    crop_origin: tuple[int, int]  # (column, row) of crop[:, 0, 0] in the feature map
    channel: int  # the channel shown first: the one whose pooled values vary most (the most to see)
    feature: str  # what the feature map is


def pool_bins(box_cells: np.ndarray, output_size: int, height: int, width: int) -> np.ndarray:
    """RoI pooling's integer bins, as torchvision's kernel computes them in float32: the box's ends rounded
    (half away from zero), floor / ceil bin edges, clipped to the map."""
    rounded = np.sign(box_cells) * np.floor(np.abs(box_cells) + np.float32(0.5))
    x_start, y_start, x_end, y_end = (int(v) for v in rounded)
    roi_w, roi_h = max(x_end - x_start + 1, 1), max(y_end - y_start + 1, 1)
    bin_w, bin_h = np.float32(roi_w) / np.float32(output_size), np.float32(roi_h) / np.float32(output_size)
    bins = np.zeros((output_size, output_size, 4), np.int64)
    for row in range(output_size):
        y0 = min(max(int(np.floor(np.float32(row) * bin_h)) + y_start, 0), height)
        y1 = min(max(int(np.ceil(np.float32(row + 1) * bin_h)) + y_start, 0), height)
        for col in range(output_size):
            x0 = min(max(int(np.floor(np.float32(col) * bin_w)) + x_start, 0), width)
            x1 = min(max(int(np.ceil(np.float32(col + 1) * bin_w)) + x_start, 0), width)
            bins[row, col] = (x0, x1, y0, y1)
    return bins


def sample_points(box_cells: np.ndarray, output_size: int, sampling_ratio: int) -> np.ndarray:
    """RoIAlign's bilinear sample points (aligned=False): the box split exactly into bins (at least one cell
    wide), `sampling_ratio`² points evenly inside each bin."""
    x_start, y_start, x_end, y_end = (np.float32(v) for v in box_cells)
    bin_w = max(x_end - x_start, np.float32(1)) / np.float32(output_size)
    bin_h = max(y_end - y_start, np.float32(1)) / np.float32(output_size)
    offsets = (np.arange(sampling_ratio, dtype=np.float32) + np.float32(0.5)) / np.float32(sampling_ratio)
    bins = np.arange(output_size, dtype=np.float32)
    ys = y_start + (bins[:, None] + offsets[None, :]) * bin_h  # (S, g)
    xs = x_start + (bins[:, None] + offsets[None, :]) * bin_w
    points = np.zeros((output_size, output_size, sampling_ratio, sampling_ratio, 2), np.float32)
    points[..., 0] = xs[None, :, None, :]
    points[..., 1] = ys[:, None, :, None]
    return points


def compare_roi(features: FeatureMap, box: np.ndarray, output_size: int = OUTPUT_SIZE,
                sampling_ratio: int = SAMPLING_RATIO) -> RoIComparison:
    """Cut `box` (frame pixels, x1 y1 x2 y2) out of `features` with both operators, and keep where each read."""
    box = np.asarray(box, np.float32).reshape(4)
    if not (box[2] > box[0] and box[3] > box[1]):
        raise UserError(_("Pick a proposal with a positive width and height to compare RoI pooling with RoIAlign."))
    values = features.values
    input_box = box * np.array([features.to_input[0], features.to_input[1]] * 2, np.float32)
    rois = [torch.from_numpy(input_box)[None]]
    with torch.inference_mode():
        pooled = roi_pool(values[None], rois, output_size, features.spatial_scale)[0].numpy()
        aligned = roi_align(values[None], rois, output_size, features.spatial_scale, sampling_ratio,
                            aligned=False)[0].numpy()
    box_cells = input_box * np.float32(features.spatial_scale)
    height, width = values.shape[-2:]
    bins = pool_bins(box_cells, output_size, height, width)
    points = sample_points(box_cells, output_size, sampling_ratio)
    left = max(0, min(int(bins[..., 0].min()), int(np.floor(points[..., 0].min()))) - CROP_MARGIN)
    top = max(0, min(int(bins[..., 2].min()), int(np.floor(points[..., 1].min()))) - CROP_MARGIN)
    right = min(width, max(int(bins[..., 1].max()), int(np.ceil(points[..., 0].max())) + 1) + CROP_MARGIN)
    bottom = min(height, max(int(bins[..., 3].max()), int(np.ceil(points[..., 1].max())) + 1) + CROP_MARGIN)
    both = np.concatenate([pooled, aligned], axis=1).reshape(len(pooled), -1)
    channel = int((both.max(1) - both.min(1)).argmax())
    return RoIComparison(box, box_cells, pooled, aligned, bins, points,
                         values[:, top:bottom, left:right].numpy().copy(), (left, top), channel,
                         features.description)


def compare_proposal(run: ProposalsRun, box: np.ndarray) -> RoIComparison:
    """The view's job: `box` cut from the detector's own feature map when it has an RPN, else from the frame."""
    features = image_feature_map(run.frame) if run.rpn is None else detector_feature_map(run.rpn, box)
    return compare_roi(features, box)


def quantization_lines(comparison: RoIComparison, channel: int | None = None) -> list[str]:
    """What rounding did to this box and how far the two 7×7 grids differ, from the computed geometry."""
    channel = comparison.channel if channel is None else channel
    x0, y0, x1, y1 = comparison.box_cells
    bins = comparison.pool_bins
    read = (int(bins[..., 0].min()), int(bins[..., 2].min()), int(bins[..., 1].max()), int(bins[..., 3].max()))
    widths = sorted({int(w) for w in (bins[0, :, 1] - bins[0, :, 0])})
    pooled, aligned = comparison.pooled[channel], comparison.aligned[channel]
    spread = float(max(pooled.max(), aligned.max()) - min(pooled.min(), aligned.min())) or 1.0
    difference = float(np.abs(pooled - aligned).mean())
    joiner = " " + _("or") + " "  # "1 or 2 cell(s) wide"
    return [
        _("The box covers cells x {x0:.2f}…{x1:.2f}, y {y0:.2f}…{y1:.2f} of {feature}.").format(
            x0=x0, x1=x1, y0=y0, y1=y1, feature=comparison.feature),
        _("RoI pooling rounds it to whole cells and reads x {left}…{right}, y {top}…{bottom} (end exclusive); its "
          "bins are {widths} cell(s) wide, and it takes each bin's maximum.").format(
            left=read[0], right=read[2], top=read[1], bottom=read[3], widths=joiner.join(str(w) for w in widths)),
        _("RoIAlign samples {rows}×{cols} bilinear points per bin at the exact box and averages them "
          "(aligned=False, as torchvision's detectors).").format(
            rows=comparison.sample_points.shape[2], cols=comparison.sample_points.shape[3]),
        _("Channel {channel}: mean |RoI pool − RoIAlign| = {difference:.3g}, {share:.0f}% of the range both grids "
          "span ({spread:.3g}).").format(channel=channel, difference=difference, share=100 * difference / spread,
                                         spread=spread),
    ]
