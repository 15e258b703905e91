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
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.models.detection.rpn import concat_box_prediction_layers
from torchvision.ops import boxes as box_ops

from visionlab.core.camera.overlay import Detections
from visionlab.core.i18n import _

CANONICAL_SIZE, CANONICAL_LEVEL = 224, 4  # FPN paper, eq. 1: a 224×224 box is pooled from P4


def supports_inside(detector: object) -> str:
    """'mtcnn', 'rcnn', 'segmentation' or '' (the views exist for cascades, two-stage detectors and segmenters)."""
    if getattr(detector, "name", "") == "mtcnn_faces":
        return "mtcnn"
    model = getattr(detector, "model", None)
    if getattr(detector, "task", "") == "segmentation" and model is not None:
        return "segmentation"
    if model is not None and hasattr(model, "rpn") and hasattr(model, "roi_heads"):
        return "rcnn"
    return ""


@dataclass
class RPNLevel:
    name: str  # FPN level key ('0', '1', ..., 'pool')
    stride: tuple[int, int]  # (y, x) padded input size // feature size, as torchvision's AnchorGenerator
    size: tuple[int, int]  # feature map (H, W)
    cell_anchors: np.ndarray  # (A, 4) anchors around (0, 0): sizes × aspect ratios
    objectness: np.ndarray  # (H, W): max over the A anchors of sigmoid(objectness logit)
    sizes: tuple[int, ...] = ()  # the AnchorGenerator's sizes for this level (pixels of the resized image)
    ratios: tuple[float, ...] = ()  # its aspect ratios (h / w)

    @property
    def anchor_count(self) -> int:
        return len(self.cell_anchors) * self.size[0] * self.size[1]


@dataclass
class RPNCounts:
    """How many boxes each step of torchvision's RPN and box head keeps, on this frame."""

    anchors: int  # every anchor of every level
    top_per_level: int  # the best pre_nms_top_n of each level
    before_nms: int  # of those, inside the image, not tiny, objectness ≥ score_thresh
    after_nms: int  # after NMS (per level), capped at post_nms_top_n: the proposals
    detections: int  # the box head's output
    pre_nms_top_n: int
    post_nms_top_n: int
    nms_thresh: float


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
    counts: RPNCounts | None = None
    padded: tuple[int, int] = (0, 0)  # (H, W) of the batched input the anchors are laid on

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


def backbone_levels(model, tensors: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
    """The backbone's feature maps by level name, as GeneralizedRCNN.forward hands them to the RPN: a backbone
    without an FPN (the Training Monitor's scene detector) returns one map, which it names "0"."""
    features = model.backbone(tensors)
    if isinstance(features, torch.Tensor):
        return OrderedDict([("0", features)])
    return OrderedDict(features)


def analyse_rcnn(detector, frame: np.ndarray, top_n: int = 50) -> RCNNInside:
    """Run a Faster / Mask R-CNN stage by stage on `frame` (RGB uint8) and keep what each stage made."""
    model = detector.model
    height, width = frame.shape[:2]
    with torch.inference_mode():
        images, _targets = model.transform([detector.preprocess(frame)])
        features = backbone_levels(model, images.tensors)
        feature_list = list(features.values())
        objectness, deltas = model.rpn.head(feature_list)
        anchors = model.rpn.anchor_generator(images, feature_list)[0]
        flat_objectness, flat_deltas = concat_box_prediction_layers(objectness, deltas)
        decoded = model.rpn.box_coder.decode(flat_deltas, [anchors]).view(-1, 4)
        best = flat_objectness.view(-1).topk(min(top_n, flat_objectness.numel())).indices
        before = box_ops.clip_boxes_to_image(decoded[best], images.image_sizes[0])
        proposals, _losses = model.rpn(images, features)
        resized_detections = model.roi_heads(features, proposals, images.image_sizes)[0][0]
        counts = _rpn_counts(model.rpn, flat_objectness, decoded, [int(o[0].numel()) for o in objectness],
                             images.image_sizes[0], len(proposals[0]), len(resized_detections["boxes"]))
        final = model.transform.postprocess([dict(resized_detections)], images.image_sizes, [(height, width)])[0]
        pooler = model.roi_heads.box_roi_pool
        pooled = pooler(features, [resized_detections["boxes"]], images.image_sizes)
        levels_used = pooler.map_levels([resized_detections["boxes"]]) if len(pooled) else torch.zeros(0)
    resized_h, resized_w = images.image_sizes[0]
    scale = (resized_h / height, resized_w / width)
    to_frame = np.array([scale[1], scale[0]] * 2, np.float32)
    padded_h, padded_w = images.tensors.shape[-2:]
    levels = []
    generator = model.rpn.anchor_generator
    for index, (name, feature) in enumerate(features.items()):
        fh, fw = feature.shape[-2:]
        levels.append(RPNLevel(name, (padded_h // fh, padded_w // fw), (fh, fw),
                               generator.cell_anchors[index].float().cpu().numpy(),
                               objectness[index][0].float().sigmoid().amax(0).cpu().numpy(),
                               tuple(int(v) for v in generator.sizes[index]),
                               tuple(float(v) for v in generator.aspect_ratios[index])))
    masks = final.get("masks")
    return RCNNInside(
        frame=frame, scale=scale, levels=levels,
        proposals_before=before.float().cpu().numpy() / to_frame,
        proposals_after=proposals[0][:top_n].float().cpu().numpy() / to_frame,
        detections=Detections(detector.categories, boxes=final["boxes"].float().cpu().numpy(),
                              scores=final["scores"].float().cpu().numpy(),
                              labels=final["labels"].cpu().numpy().astype(np.int64),
                              masks=None if masks is None else masks[:, 0].float().cpu().numpy(),
                              random_weights=not detector.pretrained),
        roi_features=pooled.float().abs().mean(1).cpu().numpy(),
        roi_levels=levels_used.cpu().numpy().astype(np.int64),
        counts=counts, padded=(int(padded_h), int(padded_w)))


def _rpn_counts(rpn, flat_objectness: torch.Tensor, decoded: torch.Tensor, per_level: list[int],
                image_size: tuple[int, int], after_nms: int, detections: int) -> RPNCounts:
    """The steps of torchvision's `RegionProposalNetwork.filter_proposals` before its NMS, counted with the
    RPN's own settings (the NMS itself is the RPN's: `after_nms` is the length of what `model.rpn` returned)."""
    top_index = rpn._get_top_n_idx(flat_objectness.view(1, -1), per_level)[0]
    boxes = box_ops.clip_boxes_to_image(decoded[top_index], image_size)
    scores = flat_objectness.view(-1)[top_index].sigmoid()
    keep = box_ops.remove_small_boxes(boxes, rpn.min_size)
    before = int((scores[keep] >= rpn.score_thresh).sum())
    return RPNCounts(sum(per_level), len(top_index), before, after_nms, detections,
                     rpn.pre_nms_top_n(), rpn.post_nms_top_n(), float(rpn.nms_thresh))


def anchor_lines(inside: RCNNInside) -> list[str]:
    """What the AnchorGenerator of this model lays out, level by level, and why (computed from the model)."""
    padded_h, padded_w = inside.padded
    lines = []
    for level in inside.levels:
        sizes = ", ".join(str(size) for size in level.sizes)
        ratios = ", ".join(f"{ratio:g}" for ratio in level.ratios)
        lines.append(_("level {level}: {width}×{height} cells, stride {stride_x}×{stride_y} ({padded_w}//{width}, "
                       "{padded_h}//{height}), {count} size(s) {sizes} × ratios {ratios} = {per_cell} per cell, "
                       "{anchors:,} anchors").format(
            level=level.name, width=level.size[1], height=level.size[0], stride_x=level.stride[1],
            stride_y=level.stride[0], padded_w=padded_w, padded_h=padded_h, count=len(level.sizes), sizes=sizes,
            ratios=ratios, per_cell=len(level.cell_anchors), anchors=level.anchor_count))
    if all(len(level.sizes) == 1 for level in inside.levels):
        lines.append(_("FPN spreads the anchor sizes over the levels: one size per level, small anchors on the "
                       "fine maps, large ones on the coarse maps (each level sees objects of its own scale)."))
    if len(inside.levels) == 1:
        level = inside.levels[0]
        lines.append(_("One feature map, no FPN: all {count} anchors of a cell sit on the same stride-{stride} grid, "
                       "as in the Faster R-CNN paper (there 3 sizes × 3 ratios = 9 per position of VGG-16's "
                       "stride-16 map).").format(count=len(level.cell_anchors), stride=level.stride[1]))
    strides = [level.stride for level in inside.levels if level.name != "pool"]
    if len(set(strides)) < len(strides):
        lines.append(_("Levels of equal stride come from backbone outputs of the same resolution (torchvision's "
                       "MobileNetV3 FPN takes two outputs of its last, 1/32 stage): with no finer map to spread "
                       "the sizes over, every level carries every size."))
    for index, level in enumerate(inside.levels):
        if level.name == "pool" and index:
            previous = inside.levels[index - 1]
            step = (2 * previous.stride[0], 2 * previous.stride[1])  # what the pooled cells really span
            rounding = "" if level.stride == step else " " + _(
                "where its cells really are {step_x}×{step_y} px apart (anchors drift off by up to a cell)").format(
                step_x=step[1], step_y=step[0])
            lines.append(_("The 'pool' level is a stride-2 max-pool of level {previous} ({previous_w}×{previous_h} → "
                           "{width}×{height}, rounded up); torchvision's stride is the integer division padded size "
                           "// cells: {padded_w}//{width} = {stride_x}, {padded_h}//{height} = {stride_y}"
                           "{rounding}.").format(
                previous=previous.name, previous_w=previous.size[1], previous_h=previous.size[0],
                width=level.size[1], height=level.size[0], padded_w=padded_w, padded_h=padded_h,
                stride_x=level.stride[1], stride_y=level.stride[0], rounding=rounding))
    return lines


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
