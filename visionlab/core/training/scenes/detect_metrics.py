"""mAP@0.5 of a detector on held-out frames, computed by pycocotools' COCOeval (the reference that papers and
the detection tools report), on COCO-format ground truth and detections built in memory.

Why not a hand-written AP: COCO's number has details (101-point interpolated precision, one match per ground
truth, greedy matching in score order, at most 100 detections per image) that a quick re-implementation
gets subtly wrong, and a student comparing with a paper should see the same definition.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# COCOeval's stats vector: [0] AP@[.5:.95], [1] AP@.5, [2] AP@.75, ...; precision[T, R, K, A, M] with
# T = IoU thresholds (index 0 is 0.5), A = area ranges (0 = all), M = max detections (2 = 100).
AP50_STAT = 1
AP_STAT = 0


@dataclass
class FrameBoxes:
    """One frame's boxes (N×4, xyxy pixels), class ids (1-based, 0 is background) and, for detections,
    scores."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray | None = None


@dataclass
class DetectionScore:
    map50: float  # AP at IoU 0.5, averaged over the classes that have ground truth
    map50_95: float  # COCO's primary AP@[.5:.95]
    per_class_ap50: dict[str, float] = field(default_factory=dict)  # class name -> AP@0.5 (classes with objects)


def _xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def _coco_dicts(truths: Sequence[FrameBoxes], detections: Sequence[FrameBoxes],
                class_names: Sequence[str]) -> tuple[dict, list[dict]]:
    images: list[dict] = []
    annotations: list[dict] = []
    results: list[dict] = []
    for image_id, (truth, found) in enumerate(zip(truths, detections, strict=True), start=1):
        images.append({"id": image_id})
        for box, label in zip(_xywh(truth.boxes), np.asarray(truth.labels).reshape(-1), strict=True):
            # Annotation ids start at 1: COCOeval stores the matched id and treats 0 as "not matched".
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(label),
                                "bbox": [float(v) for v in box], "area": float(box[2] * box[3]),
                                "iscrowd": 0})
        scores = np.ones(len(found.labels)) if found.scores is None else np.asarray(found.scores)
        for box, label, score in zip(_xywh(found.boxes), np.asarray(found.labels).reshape(-1), scores,
                                     strict=True):
            results.append({"image_id": image_id, "category_id": int(label),
                            "bbox": [float(v) for v in box], "score": float(score)})
    categories = [{"id": index, "name": name} for index, name in enumerate(class_names, start=1)]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def detection_map(truths: Sequence[FrameBoxes], detections: Sequence[FrameBoxes],
                  class_names: Sequence[str]) -> DetectionScore:
    """COCO AP of `detections` against `truths` (one FrameBoxes per frame, same order); `class_names`
    excludes the background, so label k names class_names[k - 1]. No detections at all scores 0."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(truths) != len(detections):
        raise ValueError("there must be one detection list per ground-truth frame")
    ground_truth, results = _coco_dicts(truths, detections, class_names)
    if not ground_truth["annotations"]:
        raise ValueError("the frames hold no ground-truth objects, so average precision is undefined")
    if not results:
        return DetectionScore(0.0, 0.0, {})
    # pycocotools prints its progress; the trainer's events are the only output we want.
    with contextlib.redirect_stdout(io.StringIO()):
        coco_truth = COCO()
        coco_truth.dataset = ground_truth
        coco_truth.createIndex()
        coco_found = coco_truth.loadRes(results)
        evaluation = COCOeval(coco_truth, coco_found, iouType="bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    per_class = {}
    precision = evaluation.eval["precision"]  # T×R×K×A×M, -1 where a class has no ground truth
    for index, category_id in enumerate(evaluation.params.catIds):
        curve = precision[0, :, index, 0, 2]
        if (curve > -1).any():
            per_class[class_names[category_id - 1]] = float(curve[curve > -1].mean())
    return DetectionScore(max(0.0, float(evaluation.stats[AP50_STAT])), max(0.0, float(evaluation.stats[AP_STAT])),
                          per_class)
