"""The Live Camera's lesson claims, computed by the camera's own analysis code on models with random weights.

Every claim here is about structure and arithmetic (shapes, counts, the RoI pooling bins), which random
weights do not change; none is about what an untrained model finds.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.lessons.model import Checked

DETECTOR = "fasterrcnn_mobilenet_v3_large_320_fpn"
SEGMENTER = "lraspp_mobilenet_v3_large"
SAMPLE = Path(__file__).resolve().parents[3] / "resources" / "samples" / "astronaut.png"


@functools.lru_cache(maxsize=1)
def _frame() -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(SAMPLE))
    if bgr is None:
        raise FileNotFoundError(f"the sample picture {SAMPLE} is missing")
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=2)
def _detector(name: str):
    import torch

    from visionlab.core.camera.detectors import build_detector

    torch.manual_seed(0)
    return build_detector(name, "cpu", pretrained=False)


def seg_vs_det() -> list[Checked]:
    from visionlab.core.camera.inside_model import analyse_rcnn, analyse_segmentation

    frame = _frame()
    segmentation = analyse_segmentation(_detector(SEGMENTER), frame)
    detection = analyse_rcnn(_detector(DETECTOR), frame)
    classes, height, width = segmentation.probabilities.shape
    boxes = detection.detections.boxes
    return [
        Checked("segmentation.per_pixel", _("The segmenter gives every one of the {h}×{w} pixels of its input a "
                                            "score for each of its {c} classes: a class per pixel, no boxes.").format(
            h=height, w=width, c=classes), segmentation.argmax.shape == (height, width) and classes > 1),
        Checked("detection.boxes", _("The detector answers with a list of boxes, four numbers each (x1, y1, x2, y2), "
                                     "with a class and a score; this frame gave {n}.").format(n=len(boxes)),
                boxes.ndim == 2 and boxes.shape[1] == 4 if len(boxes) else boxes.size == 0),
    ]


def fcn() -> list[Checked]:
    import torch
    import torchvision

    from visionlab.core.features.explainer import torch_transposed, transposed_conv_trace

    x = np.random.default_rng(0).integers(0, 4, (1, 3, 3)).astype(float)
    weight = np.random.default_rng(1).integers(-1, 2, (1, 1, 3, 3)).astype(float)
    spread, trace = transposed_conv_trace(x, weight, stride=2, padding=0)
    reference = torch_transposed(x, weight, 2, 0)
    gap = float(np.abs(trace.output - reference).max())
    model = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=5).eval()
    with torch.inference_mode():
        out = model(torch.zeros(1, 3, 96, 128))["out"]
    return [
        Checked("deconv.zeros", _("Deconvolution as the lecture draws it, zeros put between the 3×3 input's pixels "
                                  "({spread}×{spread}) and a border of {border} zeros around them, then a plain "
                                  "{k}×{k} convolution, gives the {h}×{w} output of torch's ConvTranspose2d "
                                  "(difference {gap:g}).").format(
            spread=spread.shape[-1], border=weight.shape[-1] - 1, k=weight.shape[-1], h=trace.output.shape[-2],
            w=trace.output.shape[-1], gap=gap), gap < 1e-9),
        Checked("fcn.size", _("torchvision's FCN (its head ends in a 1×1 convolution; the map is upsampled back) "
                              "turns a 96×128 picture into {c}×{h}×{w} scores: one per class and pixel.").format(
            c=out.shape[1], h=out.shape[2], w=out.shape[3]), tuple(out.shape[2:]) == (96, 128)),
    ]


def rcnn() -> list[Checked]:
    from visionlab.core.camera.selective_search import selective_search

    result = selective_search(_frame(), "fast")
    return [Checked("rcnn.proposals", _("Selective search proposed {n} regions on this {w}×{h} frame in {ms:.0f} ms; "
                                        "R-CNN would warp each one to a fixed size and run the CNN {n} times.").format(
        n=len(result.boxes), w=_frame().shape[1], h=_frame().shape[0], ms=1000 * result.seconds),
        len(result.boxes) > 100)]


def _backbone_calls_in_torch_forward(detector, frame: np.ndarray) -> int:
    """How many times torchvision's own forward of the detector (eval mode, one frame) runs its backbone.

    Counted by a forward hook that lives only for this call (removed in `finally`) and counts only this
    thread's calls: the detector is shared (`_detector`), so a forward run at the same time elsewhere is not
    counted. The app's step-by-step `analyse_rcnn` is not used here: it calls the backbone once by design.
    """
    import threading

    import torch

    model = detector.model.eval()
    me = threading.get_ident()
    calls: list[int] = []

    def count(*_args) -> None:
        if threading.get_ident() == me:
            calls.append(1)

    hook = model.backbone.register_forward_hook(count)
    try:
        with torch.inference_mode():
            model([detector.preprocess(frame)])
    finally:
        hook.remove()
    return len(calls)


def faster_rcnn() -> list[Checked]:
    from visionlab.core.camera.inside_model import analyse_rcnn

    detector = _detector(DETECTOR)
    calls = _backbone_calls_in_torch_forward(detector, _frame())
    inside = analyse_rcnn(detector, _frame())
    counts = inside.counts
    return [Checked("faster.once", _("Faster R-CNN ran its backbone {calls} time for the whole frame; the RPN then "
                                     "proposed {proposals} regions from that one set of feature maps.").format(
        calls=calls, proposals=counts.after_nms if counts else len(inside.proposals_after)),
        calls == 1 and len(inside.proposals_after) > 0, {"calls": calls})]


def rpn_anchors() -> list[Checked]:
    import torch

    from visionlab.core.camera.inside_model import analyse_rcnn

    detector = _detector(DETECTOR)
    inside = analyse_rcnn(detector, _frame())
    generator: Any = detector.model.rpn.anchor_generator
    head: Any = detector.model.rpn.head
    per_position = [len(level.cell_anchors) for level in inside.levels]
    expected = [len(sizes) * len(ratios) for sizes, ratios in zip(generator.sizes, generator.aspect_ratios,
                                                                   strict=True)]
    total = sum(level.size[0] * level.size[1] * len(level.cell_anchors) for level in inside.levels)
    k = head.cls_logits.out_channels
    conv: Any = head.conv[0][0] if isinstance(head.conv[0], torch.nn.Sequential) else head.conv[0]
    return [
        Checked("anchors.k", _("Each position of each feature map carries k = {k} anchors (sizes × aspect ratios), "
                               "{total} anchors in all for this frame, H·W·k summed over the levels.").format(
            k=per_position[0], total=total),
            per_position == expected and counts_ok(inside, total)),
        Checked("rpn.head", _("The RPN slides a {f}×{f} convolution over the feature map, then predicts {k} "
                              "objectness scores and {offsets} box offsets (4 per anchor) at each position.").format(
            f=conv.kernel_size[0], k=k, offsets=head.bbox_pred.out_channels),
            conv.kernel_size == (3, 3) and head.bbox_pred.out_channels == 4 * k and k == per_position[0]),
    ]


def counts_ok(inside, total: int) -> bool:
    return inside.counts is None or inside.counts.anchors == total


def roi_pooling() -> list[Checked]:
    import torch

    from visionlab.core.camera.roi_compare import FeatureMap, compare_roi, pool_bins

    values = torch.from_numpy(np.random.default_rng(2).normal(size=(4, 30, 40)).astype(np.float32))
    features = FeatureMap(values, 1 / 8, (1.0, 1.0), "random")
    box = np.array([37.0, 21.0, 205.0, 150.0], np.float32)
    comparison = compare_roi(features, box)
    bins = pool_bins(comparison.box_cells, comparison.pooled.shape[-1], 30, 40)
    by_hand = np.array([[[values[c, y0:y1, x0:x1].max().item() for x0, x1, y0, y1 in row] for row in bins]
                        for c in range(values.shape[0])])
    gap = float(np.abs(by_hand - comparison.pooled).max())
    size = comparison.pooled.shape[-1]
    return [Checked("roi.bins", _("RoI pooling projects the box onto the feature map (÷ 8), splits it into a {s}×{s} "
                                  "grid and keeps each cell's maximum: the max over those cells, taken by hand, is "
                                  "torchvision's roi_pool to {gap:g}.").format(s=size, gap=gap), gap == 0.0)]
