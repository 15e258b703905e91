"""The detector the Training Monitor trains on shape scenes: torchvision's FasterRCNN class around a small
backbone written here, with anchors, proposal counts and input size fitted to 160×120 frames of 12–60 px shapes.

Why a single stride-4 feature map and not an FPN: torchvision's MultiScaleRoIAlign assigns a box to a pyramid
level by k = floor(4 + log2(sqrt(area) / 224)), clamped to the pyramid; every box under 112 px gets k ≤ 2, the
finest (stride-4) level, so all RoIs of 12–60 px shapes would be pooled from it anyway, and a multi-level RPN would
only add anchors and time. The backbone still sees the whole
shape: a four-stage encoder (stride 16, receptive field well over 60 px) whose coarse maps are merged back into
the stride-4 map top-down, as in an FPN's top-down path, so 12 px shapes keep their detail (a 12 px square lies
at most 2 px from a stride-4 anchor centre, which keeps an anchor with IoU ≥ 0.5 for it).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign

MODEL_NAME = "fasterrcnn"
FEATURE_STRIDE = 4
# Shapes are 12–60 px (their boxes, after rotation and aspect, up to ~70 px); sizes are anchor side lengths.
ANCHOR_SIZES = (12, 20, 32, 48, 72)
ASPECT_RATIOS = (0.5, 1.0, 2.0)
# Images reach the model scaled to [0, 1]; FasterRCNN's own transform normalizes them with these.
IMAGE_MEAN = (0.5, 0.5, 0.5)
IMAGE_STD = (0.25, 0.25, 0.25)


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class ShapeBackbone(nn.Module):
    """Encoder to stride 16, then a top-down merge into one stride-4 map of `out_channels` channels (the
    attribute FasterRCNN reads)."""

    def __init__(self, widths: tuple[int, int, int, int], out_channels: int) -> None:
        super().__init__()
        w2, w4, w8, w16 = widths
        self.stride2 = _conv(3, w2, 2)
        self.stride4 = nn.Sequential(_conv(w2, w4, 2), _conv(w4, w4))
        self.stride8 = nn.Sequential(_conv(w4, w8, 2), _conv(w8, w8))
        self.stride16 = nn.Sequential(_conv(w8, w16, 2), _conv(w16, w16))
        self.lateral4 = nn.Conv2d(w4, out_channels, 1)
        self.lateral8 = nn.Conv2d(w8, out_channels, 1)
        self.lateral16 = nn.Conv2d(w16, out_channels, 1)
        self.smooth = _conv(out_channels, out_channels)
        self.out_channels = out_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        c4 = self.stride4(self.stride2(images))
        c8 = self.stride8(c4)
        c16 = self.stride16(c8)
        top = self.lateral16(c16)
        top = self.lateral8(c8) + functional.interpolate(top, size=c8.shape[-2:], mode="nearest")
        top = self.lateral4(c4) + functional.interpolate(top, size=c4.shape[-2:], mode="nearest")
        return self.smooth(top)


def default_model_config(width: int, frame_width: int, frame_height: int) -> dict:
    """Everything build_detector_model needs, as plain data for the checkpoint (`width` is the stride-4
    stage's channel count; SceneConfig.width)."""
    half = max(4, width // 2)
    return {
        "name": MODEL_NAME,
        "widths": [half, width, 2 * width, 2 * width],
        "out_channels": 2 * width,
        "anchor_sizes": list(ANCHOR_SIZES),
        "aspect_ratios": list(ASPECT_RATIOS),
        "roi_output_size": 7,
        "representation_size": 256,
        # The frame size, so torchvision's transform does not scale a 160×120 frame up to 800 px.
        "min_size": min(frame_width, frame_height),
        "max_size": max(frame_width, frame_height),
        "image_mean": list(IMAGE_MEAN),
        "image_std": list(IMAGE_STD),
    }


def anchor_generator(model_config: dict) -> AnchorGenerator:
    """One feature map, so one tuple of sizes and one of ratios: every size at every ratio at each position."""
    return AnchorGenerator(sizes=(tuple(model_config["anchor_sizes"]),),
                           aspect_ratios=(tuple(model_config["aspect_ratios"]),))


def build_detector_model(model_config: dict, num_classes: int) -> FasterRCNN:
    """The detector described by `model_config` (default_model_config's keys); `num_classes` counts the
    background (the checkpoint's class_names, "background" first). Proposal and sampling counts are cut from
    torchvision's defaults (sized for 800 px COCO photos with dozens of objects) to what 1–5 shapes on a small
    frame need, which makes a CPU training step several times faster."""
    if model_config.get("name") != MODEL_NAME:
        raise ValueError(f"not a {MODEL_NAME} model config: {model_config.get('name')!r}")
    backbone = ShapeBackbone(tuple(model_config["widths"]), int(model_config["out_channels"]))
    roi_size = int(model_config["roi_output_size"])
    representation = int(model_config["representation_size"])
    return FasterRCNN(
        backbone,
        num_classes=None,  # given by the predictor below
        min_size=int(model_config["min_size"]),
        max_size=int(model_config["max_size"]),
        image_mean=list(model_config["image_mean"]),
        image_std=list(model_config["image_std"]),
        rpn_anchor_generator=anchor_generator(model_config),
        rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=300, rpn_post_nms_top_n_test=100,
        rpn_batch_size_per_image=128,
        box_roi_pool=MultiScaleRoIAlign(featmap_names=["0"], output_size=roi_size, sampling_ratio=2),
        box_head=TwoMLPHead(backbone.out_channels * roi_size ** 2, representation),
        box_predictor=FastRCNNPredictor(representation, num_classes),
        box_batch_size_per_image=128,
        # Low, so every candidate reaches the camera, whose score slider does the filtering.
        box_score_thresh=0.01,
        box_detections_per_img=50,
    )
