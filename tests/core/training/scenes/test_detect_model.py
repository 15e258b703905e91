"""The shape detector's construction: anchors that fit 12–60 px shapes, no up-scaling of small frames,
torchvision's four loss parts."""

from __future__ import annotations

import math

import pytest
import torch
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_iou

from visionlab.core.shapes.scenes import CLASSES, make_scenes
from visionlab.core.training.scenes.detect import LOSS_NAMES, build_detector_model
from visionlab.core.training.scenes.detect_model import anchor_generator, default_model_config

WIDTH, HEIGHT = 160, 120


@pytest.fixture(scope="module")
def model_config() -> dict:
    return default_model_config(8, WIDTH, HEIGHT)


def _anchors(model_config: dict) -> torch.Tensor:
    """The generator's own anchors for a 160×120 frame, on the feature map the backbone really makes."""
    model = build_detector_model(model_config, len(CLASSES) + 1).eval()
    images = torch.zeros(1, 3, HEIGHT, WIDTH)
    with torch.no_grad():
        features = model.backbone(images)
    return anchor_generator(model_config)(ImageList(images, [(HEIGHT, WIDTH)]), [features])[0]


@pytest.mark.parametrize("side", [12, 60])
def test_some_anchor_overlaps_every_12_and_60_px_square_by_half(model_config: dict, side: int) -> None:
    anchors = _anchors(model_config)
    # Square centres on and between the anchor grid's points, across the frame.
    centres = [(x, y) for x in (30.0, 31.3, 33.0, 80.5, 101.9) for y in (30.0, 44.7, 62.0, 89.5)]
    squares = torch.tensor([[x - side / 2, y - side / 2, x + side / 2, y + side / 2] for x, y in centres])
    best = box_iou(squares, anchors).max(dim=1).values
    assert best.min().item() >= 0.5, best


def test_a_frame_keeps_its_size_inside_the_model(model_config: dict) -> None:
    model = build_detector_model(model_config, len(CLASSES) + 1).eval()
    image_list, _ = model.transform([torch.rand(3, HEIGHT, WIDTH)])
    assert image_list.image_sizes == [(HEIGHT, WIDTH)]  # torchvision's default would scale it to 800 px


def test_the_losses_are_torchvisions_four_parts_and_finite(model_config: dict) -> None:
    torch.manual_seed(0)
    model = build_detector_model(model_config, len(CLASSES) + 1).train()
    scenes = make_scenes(2, seed=5, width=WIDTH, height=HEIGHT)
    images = [torch.from_numpy(s.image).permute(2, 0, 1).float() / 255 for s in scenes]
    targets = [{"boxes": torch.from_numpy(s.boxes), "labels": torch.from_numpy(s.labels)} for s in scenes]
    losses = model(images, targets)
    assert set(losses) == set(LOSS_NAMES)
    assert set(LOSS_NAMES.values()) == {"rpn_objectness", "rpn_box", "classifier", "box_regression"}
    assert all(math.isfinite(value.item()) for value in losses.values())
    # An untrained 6-way classifier starts near the cross-entropy of a uniform guess, log 6.
    assert losses["loss_classifier"].item() == pytest.approx(math.log(len(CLASSES) + 1), rel=0.3)


def test_the_model_config_names_its_architecture(model_config: dict) -> None:
    with pytest.raises(ValueError):
        build_detector_model({**model_config, "name": "fcn"}, len(CLASSES) + 1)
