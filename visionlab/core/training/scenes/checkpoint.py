"""Checkpoints of the scene tasks (segmentation FCN, detection Faster R-CNN) in VisionLab's one checkpoint format.

They are the classifier's files (visionlab/core/training/checkpoint.py: atomic writes, weights_only loading)
with a config that says which task rebuilds them:

    {"task": "segment" | "detect", "model": {"name": "fcn" | "fasterrcnn", ...widths, anchors...},
     "input_shape": [3, H, W], "class_names": ["background", *CLASSES],
     "normalize": {"mean": [...], "std": [...]}, "scene": SceneConfig.to_dict()}

so `visionlab detect --model CKPT`, the camera and the Feature-Map Viewer need nothing but the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from visionlab.core.atomic import write_bytes
from visionlab.core.i18n import _
from visionlab.core.shapes.scenes import CLASSES
from visionlab.core.training.checkpoint import CheckpointError, checkpoint_bytes, fit_weights, load_checkpoint
from visionlab.core.training.scenes.events import TASKS, SceneConfig
from visionlab.core.training.scenes.scene_data import SCENE_MEAN, SCENE_STD


def scene_checkpoint_config(config: SceneConfig, model_config: dict, normalize: dict | None = None) -> dict:
    """The checkpoint's config for a scene model. `normalize` defaults to the generator's fixed statistics
    (scene_data.SCENE_MEAN / SCENE_STD); a task whose model normalizes by itself may pass its own."""
    return {
        "task": config.task,
        "model": dict(model_config),
        "input_shape": [3, config.frame_height, config.frame_width],
        "class_names": ["background", *CLASSES],
        "normalize": dict(normalize) if normalize else {"mean": list(SCENE_MEAN), "std": list(SCENE_STD)},
        "scene": config.to_dict(),
    }


def save_scene_checkpoint(path: str | os.PathLike, state_dict: dict, ckpt_config: dict,
                          extra: dict | None = None) -> None:
    """Write the weights and the config that rebuilds the model, atomically (never a half-written file)."""
    if ckpt_config.get("task") not in TASKS:
        raise ValueError(_("a scene checkpoint's task must be one of {choices}").format(choices=", ".join(TASKS)))
    write_bytes(path, checkpoint_bytes(state_dict, ckpt_config, extra))  # save_checkpoint's own two steps


def _build(task: str, model_config: dict, num_classes: int) -> nn.Module:
    if task == "segment":
        from visionlab.core.training.scenes.segment import build_segmenter

        return build_segmenter(model_config, num_classes)
    from visionlab.core.training.scenes.detect import build_detector_model  # the detection task's module

    return build_detector_model(model_config, num_classes)


def load_scene_model(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(model in eval mode with the checkpoint's weights, its config); CheckpointError with a sentence for a
    classification checkpoint, an unknown task or weights that do not fit."""
    name = Path(path).name
    data = load_checkpoint(path)
    config = data["config"]
    task = config.get("task")
    if task is None:
        raise CheckpointError(_("{name} is a classification checkpoint; open it in the Training Monitor or Feature "
                                "Maps, not as a segmentation or detection model").format(name=name))
    if task not in TASKS:
        raise CheckpointError(_("{name} is a checkpoint for the task '{task}', which this VisionLab cannot rebuild "
                                "(it knows {choices})").format(name=name, task=task, choices=", ".join(TASKS)))
    try:
        model = _build(task, config["model"], len(config["class_names"]))
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(_("{name}: cannot rebuild its {task} model ({reason})").format(
            name=name, task=task, reason=exc)) from None
    fit_weights(model, data["state_dict"],
                _("{name}: its weights do not fit the {task} model its config describes").format(name=name, task=task))
    return model, config
