"""The Feature Maps panel's "Convolutionalized" job: the opened classifier slid over a larger picture.

The job builds the convolutional version of the classifier (convolutionalize.py), checks it against the
original on the classifier's own input size, runs it on the current picture enlarged so that a whole number
of windows fits, and runs the original on the crops under two cells to show how close "one cell = the
classifier on that crop" holds (exactly without zero padding, only roughly with it). Every sentence the view
shows is built here from those measurements.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from visionlab.core.features.convolutionalize import convolutionalize, total_stride
from visionlab.core.features.images import resize_for_model, to_batch
from visionlab.core.features.models import LoadedModel
from visionlab.core.i18n import _
from visionlab.core.jobs import check_cancel

# model → its convolutional version, kept while the panel keeps the model (a copy of AlexNet's is 240 MB).
EXACT_DIFFERENCE = 1e-4  # probability: float32 rounding, not a different answer
_converted: weakref.WeakKeyDictionary[nn.Module, nn.Module] = weakref.WeakKeyDictionary()


@dataclass
class CropCheck:
    """One cell against the original classifier run on the crop under it."""

    cell: tuple[int, int]
    offset: tuple[int, int]       # top-left of the crop in the larger picture, in pixels
    largest_difference: float     # max |P_cell − P_crop| over the classes
    cell_class: int
    crop_class: int


@dataclass
class ScoreMap:
    probabilities: np.ndarray     # (classes, rows, cols): softmax over the classes, per cell
    categories: list[str]
    picture: np.ndarray           # (height, width, 3) uint8: the larger picture, as fed
    window: tuple[int, int]       # the classifier's own input (height, width)
    stride: int                   # input pixels between neighbouring cells
    same_scores_gap: float        # max |logit difference| of both versions on a window-sized input
    padded: bool                  # some convolution or pooling pads with zeros
    pretrained: bool
    checks: list[CropCheck] = field(default_factory=list)

    @property
    def best(self) -> np.ndarray:
        """The most probable class of each cell, (rows, cols)."""
        return self.probabilities.argmax(axis=0)

    def label(self, index: int) -> str:
        return self.categories[index] if index < len(self.categories) else _("class {index}").format(index=index)

    def sentences(self) -> list[str]:
        rows, cols = self.probabilities.shape[1:]
        height, width = self.picture.shape[:2]
        (win_h, win_w), stride = self.window, self.stride
        formula = (width - win_w) // stride + 1
        # The count across is the map's own; the formula is shown beside it, and a mismatch is said, not hidden.
        first = _("A {height}×{width} picture gives a {rows}×{cols} map of scores: (W − window)/stride + 1 = "
                  "({width} − {win_w})/{stride} + 1 = {cols} cells across. Each cell is the classifier's answer "
                  "for one {win_h}×{win_w} window; windows are {stride} px apart (the network's total stride).") \
            if formula == cols else \
            _("A {height}×{width} picture gives a {rows}×{cols} map of scores: (W − window)/stride + 1 = "
              "({width} − {win_w})/{stride} + 1 = {cols} cells across (the formula says {formula}; the network's "
              "rounding gives {cols}). Each cell is the classifier's answer for one {win_h}×{win_w} window; windows "
              "are {stride} px apart (the network's total stride).")
        lines = [first.format(height=height, width=width, rows=rows, cols=cols, win_h=win_h, win_w=win_w,
                              stride=stride, formula=formula),
                 _("On a {win_h}×{win_w} picture the convolutional version gives the original's scores (largest "
                   "difference {gap:.1e}): the same weights, reshaped.").format(
                     win_h=win_h, win_w=win_w, gap=self.same_scores_gap)]
        for check in self.checks:
            if check.cell_class == check.crop_class:
                line = _("Cell {cell} against the classifier on the crop at {offset}: it picks the same class, "
                         "largest probability difference {difference:.2g}.")
            else:
                line = _("Cell {cell} against the classifier on the crop at {offset}: it picks {crop_class} where "
                         "the cell says {cell_class}, largest probability difference {difference:.2g}.")
            lines.append(line.format(cell=check.cell, offset=check.offset, difference=check.largest_difference,
                                     crop_class=self.label(check.crop_class), cell_class=self.label(check.cell_class)))
        # "Exactly" only when the crops checked say so; padding is the reason given when they do not.
        worst = max((check.largest_difference for check in self.checks), default=math.nan)
        if self.checks and worst <= EXACT_DIFFERENCE:
            exact = _("The cells checked are the classifier on their crops (largest difference {worst:.1e}).") \
                if self.padded else \
                _("The cells checked are the classifier on their crops (largest difference {worst:.1e}): this "
                  "network pads nothing.")
            lines.append(exact.format(worst=worst))
        elif self.padded:
            lines.append(_("The cells match their crops only roughly: this network pads with zeros, so inside a "
                           "crop the border sees zeros where the larger picture has pixels."))
        elif self.checks:
            lines.append(_("This network pads nothing, yet the cells checked differ from their crops by up to "
                           "{worst:.2g}: some layer rounds the window positions differently on the larger "
                           "picture.").format(worst=worst))
        if not self.pretrained:
            lines.append(_("These weights are untrained: the scores are random, the sizes and equalities still "
                           "hold."))
        return lines


def _convolutional(loaded: LoadedModel) -> nn.Module:
    converted = _converted.get(loaded.model)
    if converted is None:
        _converted.clear()  # one model at a time
        converted = _converted[loaded.model] = convolutionalize(loaded.model, loaded.input_shape).eval()
    return converted


def _pads(model: nn.Module) -> bool:
    def pads(module: nn.Module) -> bool:
        padding = getattr(module, "padding", 0)
        return padding != "valid" and any(int(p) > 0 for p in (padding if isinstance(padding, tuple) else
                                                               (padding,)) if not isinstance(p, str))
    return any(pads(module) for module in model.modules()
               if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)))


def score_map(loaded: LoadedModel, image: np.ndarray, cells: int = 6, *, progress: Callable | None = None,
              should_stop=None) -> ScoreMap:
    """`image` (H, W, 3 uint8) enlarged so that `cells` windows fit across, and its map of class scores."""
    with torch.inference_mode():  # thread-local: entered here, in the job's thread
        channels, win_h, win_w = loaded.input_shape
        convolutional = _convolutional(loaded)
        stride = total_stride(convolutional, loaded.input_shape)
        check_cancel(should_stop)
        window_input = torch.randn(1, channels, win_h, win_w, generator=torch.Generator().manual_seed(0))
        gap = float((convolutional(window_input).flatten(1) - loaded.model(window_input)).abs().max())
        height, width = win_h + (cells - 1) * stride, win_w + (cells - 1) * stride
        picture = resize_for_model(image, (height, width))
        if channels == 1:  # as the viewer shows a grey model's input: the grey levels it reads
            grey = picture.astype(np.float32).mean(axis=2).round().astype(np.uint8)
            picture = np.repeat(grey[..., None], 3, axis=2)
        batch = to_batch(picture, channels, loaded.mean, loaded.std)
        check_cancel(should_stop)
        probabilities = torch.softmax(convolutional(batch)[0].float(), dim=0)
        result = ScoreMap(probabilities.numpy(), list(loaded.categories), picture, (win_h, win_w), stride, gap,
                          _pads(convolutional), loaded.pretrained)
        rows, cols = probabilities.shape[1:]
        for row, col in sorted({(0, 0), (rows - 1, cols - 1)}):
            check_cancel(should_stop)
            top, left = row * stride, col * stride
            crop = batch[:, :, top:top + win_h, left:left + win_w]
            crop_probabilities = torch.softmax(loaded.model(crop)[0].float(), dim=0)
            cell = probabilities[:, row, col]
            result.checks.append(CropCheck((row, col), (top, left), float((cell - crop_probabilities).abs().max()),
                                           int(cell.argmax()), int(crop_probabilities.argmax())))
    return result
