"""R-CNN's proposals against Faster R-CNN's, on one frame: the job behind the camera's "Proposals" view.

Selective search (core/camera/selective_search.py) and the RPN of the detector on screen run on the same
frame. The RPN is timed on its own, after the backbone, because that is the point of Faster R-CNN: the
proposals come almost free from features the detector computes anyway. The backbone's features are kept
so the RoI pooling / RoIAlign comparison (core/camera/roi_compare.py) cuts the proposal the student clicks
out of this very frame's feature map.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from visionlab.core.camera.detectors import CPU_DEFAULTS, display_name
from visionlab.core.camera.inside_model import backbone_levels, supports_inside
from visionlab.core.camera.selective_search import (
    DEFAULT_MAX_SIDE,
    MODE_NAMES,
    RECALL_IOU,
    ProposalComparison,
    SelectiveSearchResult,
    compare_proposals,
    selective_search,
)
from visionlab.core.i18n import _


@dataclass
class RPNRun:
    """The RPN's proposals of one frame, its time, and the backbone features they were computed on."""

    boxes: np.ndarray  # (N, 4) float32 frame pixels, best objectness first (after NMS)
    backbone_seconds: float
    rpn_seconds: float
    device: str  # "cpu", "cuda", ...
    features: dict[str, torch.Tensor]  # the levels the box head pools from: (C, h, w) float32 on the CPU
    spatial_scales: dict[str, float]  # feature cells per input pixel, as torchvision's pooler infers them
    resize: tuple[float, float]  # (x, y) model input pixels per frame pixel: the model resizes first


def rpn_note(detector: Any) -> str:
    """Why there is no RPN column for this model, and how to get one (empty when there is one)."""
    if supports_inside(detector) == "rcnn":
        return ""
    default = CPU_DEFAULTS["detection"]
    name = getattr(detector, "name", "") or _("no model")
    return _("The RPN column needs a Faster R-CNN (or Mask R-CNN) model, which {name} is not: choose "
             "'{model}' ({builder}) in the model picker.").format(name=name, model=display_name(default),
                                                                  builder=default)


def _synchronize(device: torch.device) -> None:
    """GPU work is asynchronous: wait for it before reading the clock."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pooler_scale(feature_size: tuple[int, int], image_size: tuple[int, int]) -> float:
    """torchvision's MultiScaleRoIAlign rule: the power of two nearest to feature size / image size."""
    return 2.0 ** round(math.log2(feature_size[0] / image_size[0]))


def run_rpn(detector: Any, frame: np.ndarray) -> RPNRun:
    """Backbone, then RPN, of a Faster / Mask R-CNN on `frame` (RGB uint8), each timed on its own; the
    proposals are what `model.rpn` returns (the input of the box head)."""
    model = detector.model
    device = torch.device(getattr(detector, "device", "cpu"))
    height, width = frame.shape[:2]
    with torch.inference_mode():
        images, _targets = model.transform([detector.preprocess(frame)])
        _synchronize(device)
        started = time.perf_counter()
        features = backbone_levels(model, images.tensors)
        _synchronize(device)
        backbone_done = time.perf_counter()
        proposals, _losses = model.rpn(images, features)
        _synchronize(device)
        rpn_done = time.perf_counter()
    resized_h, resized_w = images.image_sizes[0]
    resize = (resized_w / width, resized_h / height)
    boxes = proposals[0].float().cpu().numpy() / np.array([resize[0], resize[1]] * 2, np.float32)
    pooled_from = getattr(model.roi_heads.box_roi_pool, "featmap_names", list(features))
    kept = {name: level[0].float().cpu() for name, level in features.items() if name in pooled_from}
    scales = {name: pooler_scale((int(level.shape[-2]), int(level.shape[-1])), (resized_h, resized_w))
              for name, level in kept.items()}
    return RPNRun(boxes.astype(np.float32), backbone_done - started, rpn_done - backbone_done, device.type,
                  kept, scales, resize)


@dataclass
class ProposalsRun:
    frame: np.ndarray
    model_name: str
    search: SelectiveSearchResult
    rpn: RPNRun | None
    rpn_note: str  # why there is no RPN column (empty when there is one)
    comparison: ProposalComparison
    summary: str  # the measured "why Faster R-CNN replaced selective search"
    reference_note: str = ""  # what the recall was counted against


def propose(detector: Any, frame: np.ndarray, references: np.ndarray | None = None, mode: str = "fast",
            max_side: int = DEFAULT_MAX_SIDE) -> ProposalsRun:
    """Selective search and (for an R-CNN) the RPN on the same frame, compared against `references`."""
    search = selective_search(frame, mode, max_side)
    note = rpn_note(detector)
    rpn = None if note else run_rpn(detector, frame)
    comparison = compare_proposals(frame, search.boxes, None if rpn is None else rpn.boxes, references,
                                   ss_seconds=search.seconds, rpn_seconds=None if rpn is None else rpn.rpn_seconds)
    return ProposalsRun(frame, getattr(detector, "name", ""), search, rpn, note, comparison,
                        why_rpn_replaced_it(search, rpn, comparison))


REFERENCE_SCORE = 0.5  # without true boxes, the detector's detections this sure stand in for the objects


def reference_boxes(detector: Any, result: Any, source: Any = None) -> tuple[np.ndarray | None, str]:
    """The boxes recall is counted against, and a sentence saying what they are: the frame's true boxes when
    the source knows them (the shape scenes, checked to be this very picture), else the detector's confident
    detections on it."""
    frame = result.frame.image
    scene_of = getattr(source, "scene", None)
    if callable(scene_of):
        scene = scene_of(result.frame.index)
        if scene.image.shape == frame.shape and np.array_equal(scene.image, frame):
            return scene.boxes, _("Recall counts the frame's {count} true object box(es) (the scene source drew "
                                  "them).").format(count=len(scene.boxes))
    detections = result.detections
    name = getattr(detector, "name", None)
    name = _("the model") if name is None else name
    if detections is None or not len(detections.boxes):
        return None, _("No recall: {name} reported no boxes on this frame to count it against.").format(name=name)
    if detections.random_weights:  # its boxes are noise, whatever they score: not objects to find
        return None, _("No recall: {name} runs with random weights, so its boxes are not objects to count it "
                       "against (the random shape scenes source gives true boxes).").format(name=name)
    keep = detections.scores >= REFERENCE_SCORE
    if not keep.any():
        return None, _("No recall: {name} found nothing scoring ≥ {score:g} on this frame to count it "
                       "against.").format(name=name, score=REFERENCE_SCORE)
    if rpn_note(detector):
        note = _("Recall counts the {count} detection(s) of {name} scoring ≥ {score:g} as the objects (a live frame "
                 "has no hand-drawn boxes).")
    else:
        note = _("Recall counts the {count} detection(s) of {name} scoring ≥ {score:g} as the objects (a live frame "
                 "has no hand-drawn boxes; this favours the RPN, whose proposals they were refined from).")
    return detections.boxes[keep], note.format(count=int(keep.sum()), name=name, score=REFERENCE_SCORE)


def propose_on_result(detector: Any, result: Any, source: Any = None, mode: str = "fast",
                      max_side: int = DEFAULT_MAX_SIDE) -> ProposalsRun:
    """The camera view's job: `propose` on the frame of a pipeline result, with its reference boxes."""
    references, note = reference_boxes(detector, result, source)
    run = propose(detector, result.frame.image, references, mode, max_side)
    run.reference_note = note
    return run


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms" if seconds >= 0.01 else f"{1000 * seconds:.1f} ms"


def why_rpn_replaced_it(search: SelectiveSearchResult, rpn: RPNRun | None, comparison: ProposalComparison) -> str:
    """The lecture's argument, with this frame's measured numbers in it."""
    searched = search.searched_size
    count = len(search.boxes)
    text = _("selective search ({mode}): {count:,} boxes in {time} on the CPU (at {width}×{height}, {scale:.2f} of "
             "the frame)").format(mode=_(MODE_NAMES[search.mode]), count=count,
                                  time=_ms(search.seconds), width=searched[0], height=searched[1], scale=search.scale)
    if rpn is None:
        text += "; " + _("R-CNN then ran its CNN once per box, {count:,} forward passes for one frame.").format(
            count=count)
        ss_recall = comparison.selective_search.recall
        if ss_recall is not None:
            text += " " + _("Recall at IoU ≥ {iou:g} of the {references} reference box(es): {recall:.0f}%.").format(
                iou=RECALL_IOU, references=comparison.references, recall=100 * ss_recall)
        return text
    text += "; " + _("the RPN: {count:,} in {time} on the network's shared features ({device}; the backbone itself "
                     "took {backbone} and the detector needs it anyway).").format(
        count=len(rpn.boxes), time=_ms(rpn.rpn_seconds), device=rpn.device, backbone=_ms(rpn.backbone_seconds))
    if rpn.rpn_seconds > 0:
        # Selective search always runs on the CPU: a GPU RPN's ratio compares two machines, and says so.
        where = "" if rpn.device == "cpu" else " " + _("(on {device}; selective search on the CPU)").format(
            device=rpn.device)
        ratio = search.seconds / rpn.rpn_seconds
        # A big backbone on a small searched frame can make the RPN the slower one: then it says so.
        pace = (_("{ratio:,.0f}× faster").format(ratio=ratio) if ratio >= 10 else
                _("{ratio:.1f}× faster").format(ratio=ratio) if ratio >= 1 else
                _("{ratio:.1f}× slower").format(ratio=1 / ratio) if ratio > 0.1 else
                _("{ratio:,.0f}× slower").format(ratio=1 / ratio))
        sentence = _("The RPN was {pace}{where} and R-CNN would still have run its CNN {count:,} times, where Faster "
                     "R-CNN cuts every box out of one feature map.") if ratio >= 1 else \
            _("The RPN was {pace}{where}, and R-CNN would still have run its CNN {count:,} times, where Faster "
              "R-CNN cuts every box out of one feature map.")
        text += " " + sentence.format(pace=pace, where=where, count=count)
    ss_recall, rpn_stats = comparison.selective_search.recall, comparison.rpn
    if ss_recall is not None and rpn_stats is not None and rpn_stats.recall is not None:
        text += " " + _("Recall at IoU ≥ {iou:g} of the {references} reference box(es): selective search "
                        "{search:.0f}%, RPN {rpn:.0f}%.").format(iou=RECALL_IOU, references=comparison.references,
                                                                 search=100 * ss_recall, rpn=100 * rpn_stats.recall)
    return text
