"""Small untrained scene checkpoints (the Training Monitor's FCN and FasterRCNN at narrow widths), written
with its own save_scene_checkpoint, for the camera's and Feature Maps' tests: real models, real files,
built in a second.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from visionlab.core.shapes.scenes import CLASSES
from visionlab.core.training.scenes.checkpoint import save_scene_checkpoint, scene_checkpoint_config
from visionlab.core.training.scenes.detect_model import build_detector_model, default_model_config
from visionlab.core.training.scenes.events import SceneConfig
from visionlab.core.training.scenes.fcn import build_segmenter

CLASS_NAMES = ["background", *CLASSES]
FRAME_W, FRAME_H = 160, 120
WIDTH = 8


def save_tiny_checkpoint(path: Path, task: str, seed: int = 0) -> tuple[Path, nn.Module]:
    """A seeded narrow model of `task` ("segment" / "detect") saved at `path`; returns (path, the model)."""
    torch.manual_seed(seed)
    scene = SceneConfig(task=task, width=WIDTH, frame_width=FRAME_W, frame_height=FRAME_H)
    if task == "segment":
        model_config = {"name": "fcn", "width": WIDTH, "levels": 3, "skips": 2}
        model = build_segmenter(model_config, len(CLASS_NAMES)).eval()
        with torch.no_grad():  # larger logits than torch's init, so a frame's class map holds several classes,
            model.classifier.weight.normal_(0.0, 1.0)  # and biases that make the net depend on the input's scale
            model.classifier.bias.normal_(0.0, 1.0)  # (a net without them would hide a missing division by std)
            for layer in model.modules():
                if isinstance(layer, nn.BatchNorm2d):
                    layer.bias.normal_(0.0, 0.5)
                    layer.running_mean.normal_(0.0, 0.2)
    else:
        model_config = default_model_config(WIDTH, FRAME_W, FRAME_H)
        model = build_detector_model(model_config, len(CLASS_NAMES)).eval()
        with torch.no_grad():  # a bias towards objects, so the untrained RPN still proposes boxes
            model.rpn.head.cls_logits.bias.fill_(1.0)
    save_scene_checkpoint(path, model.state_dict(), scene_checkpoint_config(scene, model_config), {"epoch": 1})
    return path, model


def normalize_of(path: Path) -> dict:
    from visionlab.core.training.checkpoint import load_checkpoint

    return load_checkpoint(path)["config"]["normalize"]
