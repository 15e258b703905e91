"""Inside Faster R-CNN and FCN-style segmenters, on one frame: what each stage of the lecture computes.

Faster R-CNN (torchvision's `GeneralizedRCNN`): the backbone + FPN runs once; the RPN's 3×3 conv head
gives, for each of A anchors per feature-map position and per FPN level, an objectness score and 4 box
offsets; the best proposals survive NMS; each proposal is cut out of the feature map as a fixed 7×7 grid
and the box head classifies and refines it. torchvision cuts with **RoIAlign** (bilinear samples, no
rounding of the box to the grid) where the lecture's Faster R-CNN uses RoI *pooling* (max over rounded
cells): same idea, no quantisation error. Every stage here calls the model's own modules, so what is shown
is what the model computes (tests compare with the full forward pass).

Segmentation: the per-class score maps (softmax over classes per pixel), their argmax and the winning
probability (confidence), at the model's output resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.models.detection.rpn import concat_box_prediction_layers
from torchvision.ops import boxes as box_ops

from visionlab.core.camera.overlay import Detections

CANONICAL_SIZE, CANONICAL_LEVEL = 224, 4  # FPN paper, eq. 1: a 224×224 box is pooled from P4


def supports_inside(detector: object) -> str:
    """'rcnn', 'segmentation' or '' (the views exist for two-stage detectors and segmenters)."""
    model = getattr(detector, "model", None)
    if getattr(detector, "task", "") == "segmentation" and model is not None:
        return "segmentation"
    if model is not None and hasattr(model, "rpn") and hasattr(model, "roi_heads"):
        return "rcnn"
    return ""


@dataclass
class RPNLevel:
    name: str  # FPN level key ('0', '1', ..., 'pool')
    stride: tuple[int, int]  # (y, x) input pixels per feature cell, in the resized image
    size: tuple[int, int]  # feature map (H, W)
    cell_anchors: np.ndarray  # (A, 4) anchors around (0, 0): sizes × aspect ratios
    objectness: np.ndarray  # (H, W): max over the A anchors of sigmoid(objectness logit)


@dataclass
class RCNNInside:
    frame: np.ndarray
    scale: tuple[float, float]  # (y, x) resized / original: the model resizes the frame first
    levels: list[RPNLevel]
    proposals_before: np.ndarray  # top-N decoded anchors by objectness, before NMS (frame pixels)
    proposals_after: np.ndarray  # the RPN's output after NMS, best first (frame pixels)
    detections: Detections  # final detections (frame pixels), as model([x]) returns them
    roi_features: np.ndarray  # (K, 7, 7): RoIAlign of each detection, mean |activation| over channels
    roi_levels: np.ndarray  # (K,) index into the pooled levels for each detection

    def anchors_at(self, x: float, y: float) -> list[tuple[str, np.ndarray]]:
        """The anchors of the feature cell under frame pixel (x, y), per FPN level, in frame pixels.

        torchvision places cell (i, j)'s anchors around (j·stride_x, i·stride_y) of the resized image.
        """
        sy, sx = self.scale
        out = []
        for level in self.levels:
            row = min(int(y * sy // level.stride[0]), level.size[0] - 1)
            col = min(int(x * sx // level.stride[1]), level.size[1] - 1)
            shift = np.array([col * level.stride[1], row * level.stride[0]] * 2, np.float32)
            out.append((level.name, (level.cell_anchors + shift) / np.array([sx, sy, sx, sy], np.float32)))
        return out


def roi_level(box: np.ndarray, k_min: int, k_max: int) -> int:
    """FPN level a box is pooled from: k = ⌊4 + log2(√(w·h) / 224)⌋, clamped to [k_min, k_max]."""
    area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-12)
    k = math.floor(CANONICAL_LEVEL + math.log2(math.sqrt(area) / CANONICAL_SIZE) + 1e-6)
    return min(max(k, k_min), k_max)


def analyse_rcnn(detector, frame: np.ndarray, top_n: int = 50) -> RCNNInside:
    """Run a Faster / Mask R-CNN stage by stage on `frame` (RGB uint8) and keep what each stage made."""
    model = detector.model
    height, width = frame.shape[:2]
    with torch.inference_mode():
        images, _ = model.transform([detector.preprocess(frame)])
        features = model.backbone(images.tensors)
        feature_list = list(features.values())
        objectness, deltas = model.rpn.head(feature_list)
        anchors = model.rpn.anchor_generator(images, feature_list)[0]
        flat_objectness, flat_deltas = concat_box_prediction_layers(objectness, deltas)
        decoded = model.rpn.box_coder.decode(flat_deltas, [anchors]).view(-1, 4)
        best = flat_objectness.view(-1).topk(min(top_n, flat_objectness.numel())).indices
        before = box_ops.clip_boxes_to_image(decoded[best], images.image_sizes[0])
        proposals, _ = model.rpn(images, features)
        resized_detections = model.roi_heads(features, proposals, images.image_sizes)[0][0]
        final = model.transform.postprocess([dict(resized_detections)], images.image_sizes, [(height, width)])[0]
        pooler = model.roi_heads.box_roi_pool
        pooled = pooler(features, [resized_detections["boxes"]], images.image_sizes)
        levels_used = pooler.map_levels([resized_detections["boxes"]]) if len(pooled) else torch.zeros(0)
    resized_h, resized_w = images.image_sizes[0]
    scale = (resized_h / height, resized_w / width)
    to_frame = np.array([scale[1], scale[0]] * 2, np.float32)
    padded_h, padded_w = images.tensors.shape[-2:]
    levels = []
    cell_anchors = model.rpn.anchor_generator.cell_anchors
    for index, (name, feature) in enumerate(features.items()):
        fh, fw = feature.shape[-2:]
        levels.append(RPNLevel(name, (padded_h // fh, padded_w // fw), (fh, fw),
                               cell_anchors[index].float().cpu().numpy(),
                               objectness[index][0].float().sigmoid().amax(0).cpu().numpy()))
    masks = final.get("masks")
    return RCNNInside(
        frame=frame, scale=scale, levels=levels,
        proposals_before=before.float().cpu().numpy() / to_frame,
        proposals_after=proposals[0][:top_n].float().cpu().numpy() / to_frame,
        detections=Detections(detector.categories, boxes=final["boxes"].float().cpu().numpy(),
                              scores=final["scores"].float().cpu().numpy(),
                              labels=final["labels"].cpu().numpy().astype(np.int64),
                              masks=None if masks is None else masks[:, 0].float().cpu().numpy()),
        roi_features=pooled.float().abs().mean(1).cpu().numpy(),
        roi_levels=levels_used.cpu().numpy().astype(np.int64))


@dataclass
class SegmentationInside:
    frame: np.ndarray
    categories: tuple[str, ...]
    probabilities: np.ndarray  # (C, h, w) softmax over classes at the model's output resolution
    argmax: np.ndarray  # (h, w)
    confidence: np.ndarray  # (h, w) probability of the winning class
    input_size: tuple[int, int]  # the resized input (h, w) the model saw

    def classes_by_area(self) -> list[int]:
        """Classes ordered by how many pixels they win (the interesting score maps first)."""
        counts = np.bincount(self.argmax.ravel(), minlength=len(self.categories))
        return [int(c) for c in np.argsort(-counts, kind="stable")]


def analyse_segmentation(detector, frame: np.ndarray) -> SegmentationInside:
    with torch.inference_mode():
        inputs = detector.preprocess(frame)
        logits = detector.model(inputs.unsqueeze(0))["out"][0].float()
        probabilities = logits.softmax(0)
        confidence, argmax = probabilities.max(0)
    return SegmentationInside(frame, detector.categories, probabilities.cpu().numpy(), argmax.cpu().numpy(),
                              confidence.cpu().numpy(), tuple(inputs.shape[-2:]))
