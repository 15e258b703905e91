"""A randomly initialised torchvision Faster R-CNN as a camera detector: a real RPN and RoI heads to test the
views that take them apart, with no weights to download."""

from __future__ import annotations

import torch
import torchvision

from visionlab.core.camera.detectors import TorchDetector

RCNN_NAME = "fasterrcnn_mobilenet_v3_large_320_fpn"


def random_rcnn() -> TorchDetector:
    torch.manual_seed(0)
    model = torchvision.models.get_model(RCNN_NAME, weights=None, weights_backbone=None)
    return TorchDetector(RCNN_NAME, "detection", model, torchvision.models.get_model_weights(RCNN_NAME).DEFAULT,
                         pretrained=False)
