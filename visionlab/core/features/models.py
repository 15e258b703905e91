"""The networks the viewer opens: torchvision's classics, with ImageNet weights when the weights store
has them (never downloading by itself), otherwise untrained and labelled so; and training checkpoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch.nn as nn

from visionlab.core.errors import UserError
from visionlab.core.features.images import IMAGENET_MEAN, IMAGENET_STD
from visionlab.core.i18n import N_, _
from visionlab.core.weights.source import IMPORT_BUTTON

log = logging.getLogger(__name__)

# The lecture's networks, in the order it introduces them; the second item names the layer shown first.
TORCHVISION_NAMES = ("alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet50")
# MTCNN's three face nets: trained weights with no download (they ship in the facenet-pytorch package).
# (net, input side, Grad-CAM layer: its last spatial activation, before the heads).
MTCNN_NAMES = {"mtcnn_pnet": ("pnet", 224, "prelu3"), "mtcnn_rnet": ("rnet", 24, "prelu3"),
               "mtcnn_onet": ("onet", 48, "prelu4")}
MODEL_NAMES = TORCHVISION_NAMES + tuple(MTCNN_NAMES)
FIRST_CONV = {"alexnet": "features.0", "vgg11": "features.0", "vgg16": "features.0", "googlenet": "conv1.conv",
              "resnet18": "conv1", "resnet50": "conv1"}
# Grad-CAM looks at the last spatial layer, where the evidence for a class is already assembled.
CAM_LAYER = {"alexnet": "features", "vgg11": "features", "vgg16": "features", "googlenet": "inception5b",
             "resnet18": "layer4", "resnet50": "layer4"}
INPUT_SIZE = 224
UNTRAINED_LABEL = N_("UNTRAINED (random weights)")  # translated where a model is built


class ModelError(UserError, ValueError):
    """A model or checkpoint that cannot be opened, with the reason in words."""


@dataclass
class LoadedModel:
    name: str
    model: nn.Module
    pretrained: bool
    categories: list[str] = field(default_factory=list)
    input_shape: tuple[int, int, int] = (3, INPUT_SIZE, INPUT_SIZE)
    mean: tuple[float, ...] | None = IMAGENET_MEAN   # per-channel normalization of [0, 1] pixels
    std: tuple[float, ...] | None = IMAGENET_STD
    note: str = ""                         # shown beside the picker ("untrained: ...")
    # Whose weights, in a few words for the model bar and the top-5 ("ImageNet weights", "imported,
    # unverified: my.pth"); unverified: not the file torchvision published, whatever its name says.
    weights_label: str = UNTRAINED_LABEL
    weights_unverified: bool = False
    default_layer: str = ""
    cam_layer: str = ""
    dataset: str = ""                      # a checkpoint's training set ("digits", "shapes"): its sample input
    scores_note: str = ""                  # why this model has no top-5 / Grad-CAM (a detector's backbone)


def _weights_enum(name: str):
    import torchvision.models as tvm

    return tvm.get_model_weights(name).DEFAULT


def _categories(name: str) -> list[str]:
    try:  # the enum's metadata is part of torchvision itself and works offline
        return list(_weights_enum(name).meta["categories"])
    except Exception:
        return []


def _untrained(name: str) -> nn.Module:
    import torchvision.models as tvm

    extra = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    return tvm.get_model(name, weights=None, **extra)


def load_torchvision(name: str, weights_store=None) -> LoadedModel:
    """`name` from MODEL_NAMES; pretrained if `weights_store` (or the default store) has its file."""
    if name in MTCNN_NAMES:
        return load_mtcnn_net(name)
    if name not in TORCHVISION_NAMES:
        raise ModelError(_("unknown model '{name}' (choose one of {names})").format(
            name=name, names=", ".join(MODEL_NAMES)))
    store = weights_store if weights_store is not None else _default_store()
    model, source, note = None, None, ""
    if store is not None:
        try:
            if store.is_available(name):
                model, _source = store.build(name, pretrained=True)
                source = store.loaded_source(name)
        except Exception as exc:  # a damaged file must not stop the viewer: fall back and say why
            log.warning("pretrained %s unavailable: %s", name, exc)
            note = _("untrained: the weights file could not be loaded ({error})").format(error=exc)
    if model is None:
        model = _untrained(name)
        note = note or _("untrained: random weights (get the ImageNet weights with Download or “{button}”)").format(
            button=_(IMPORT_BUTTON))
    loaded = LoadedModel(name, model.eval(), source is not None, _categories(name), note=note,
                         weights_label=_(UNTRAINED_LABEL), default_layer=FIRST_CONV[name], cam_layer=CAM_LAYER[name])
    if source is not None:
        loaded.note, loaded.weights_label = source.description, source.label
        loaded.weights_unverified = not source.verified
    return loaded


class FaceScores(nn.Module):
    """One of MTCNN's nets as the viewer reads a classifier: one row of (no face, face) log-probabilities.

    The net's layers are this module's own children, under their own names (conv1, prelu1, …), and its
    forward is the net's class's forward run on them; P-Net scores every 12×12 window of its input, and the
    row is that of the most face-like window."""

    def __init__(self, net: nn.Module, spatial: bool) -> None:
        super().__init__()
        self._net_forward = type(net).forward
        self._spatial = spatial  # a plain flag, not a test of the tensor: torch.fx traces no such branch
        for child_name, child in net.named_children():
            self.add_module(child_name, child)

    def forward(self, x):
        probabilities = self._net_forward(self, x)[-1]  # every MTCNN net returns its probabilities last
        if self._spatial:  # P-Net: (N, 2, H, W) -> the window where P(face) is highest
            flat = probabilities.flatten(2)
            best = flat[:, 1].argmax(1)  # gather, not indexing by len(): torch.fx traces it (receptive fields)
            probabilities = flat.gather(2, best[:, None, None].expand(-1, 2, 1)).squeeze(2)
        return probabilities.clamp_min(1e-12).log()


def load_mtcnn_net(name: str) -> LoadedModel:
    """P-Net (on a 224×224 picture: it is fully convolutional), R-Net (24×24) or O-Net (48×48), trained."""
    from visionlab.core.camera import mtcnn

    net_name, side, cam_layer = MTCNN_NAMES[name]
    try:
        net = mtcnn.load_net(net_name)
    except mtcnn.MTCNNUnavailable as exc:
        raise ModelError(str(exc)) from None
    # MTCNN's inputs are (pixel - 127.5) / 128: on [0, 1] pixels, mean 127.5/255 and std 128/255.
    model = FaceScores(net, spatial=net_name == "pnet").eval()
    return LoadedModel(name, model, True, [_("no face"), _("face")], input_shape=(3, side, side),
                       mean=(127.5 / 255,) * 3, std=(128 / 255,) * 3,
                       note=_("MTCNN {net} (Zhang et al. 2016): trained weights from facenet-pytorch, "
                              "no download").format(net=net_name),
                       weights_label=_("trained (MTCNN, facenet-pytorch)"),
                       default_layer="conv1", cam_layer=cam_layer)


def _default_store():
    try:
        from visionlab.core.weights.store import WeightsStore
    except ImportError:
        return None
    try:
        return WeightsStore()
    except Exception as exc:
        log.warning("weights store unavailable: %s", exc)
        return None


def _names(keys: list[str], shown: int = 4) -> str:
    if len(keys) > shown:
        return _("{names} (+{count} more)").format(names=", ".join(keys[:shown]), count=len(keys) - shown)
    return ", ".join(keys[:shown])


def _key_mismatch(path: str | Path) -> str:
    """For a checkpoint whose weights do not fit its model: which keys are missing, unexpected or reshaped.

    Uses the training module's own (weights_only) loader and model builder; "" when that is not the problem.
    """
    try:
        from visionlab.core.training.checkpoint import load_checkpoint as read_checkpoint
        from visionlab.core.training.models import ModelSpec, build_model

        data = read_checkpoint(path)
        config = data["config"]
        expected = build_model(ModelSpec.from_dict(config["model"]), tuple(config["input_shape"]),
                               len(config["class_names"])).state_dict()
    except Exception:  # the file's problem is elsewhere (already in the message)
        return ""
    found = data["state_dict"]
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    reshaped = [f"{key} {tuple(found[key].shape)} vs {tuple(value.shape)}" for key, value in expected.items()
                if key in found and tuple(found[key].shape) != tuple(value.shape)]
    parts = [f"{label}: {_names(keys)}" for label, keys in
             ((_("missing"), missing), (_("unexpected"), unexpected), (_("other shape"), reshaped)) if keys]
    return (" — " + "; ".join(parts)) if parts else ""


def load_checkpoint(path: str | Path) -> LoadedModel:
    """A model saved by the training monitor; raises ModelError with the checkpoint module's reason."""
    try:
        from visionlab.core.training.checkpoint import CheckpointError, build_model_from_checkpoint
    except ImportError:
        raise ModelError(_("this build has no training checkpoints support yet")) from None
    if _is_scene_checkpoint(path):
        return _load_scene_checkpoint(path)
    try:
        model, config = build_model_from_checkpoint(path)
    except CheckpointError as exc:
        raise ModelError(f"{exc}{_key_mismatch(path)}") from None
    shape = tuple(int(v) for v in config["input_shape"])
    if len(shape) == 2:
        shape = (1, *shape)
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    spec = config.get("model")
    name = str(spec.get("name", "model")) if isinstance(spec, dict) else str(spec)
    normalize = config.get("normalize") or {}
    mean, std = normalize.get("mean"), normalize.get("std")
    dataset = str(config.get("dataset", ""))
    return LoadedModel(f"{name} ({Path(path).name})", model.eval(), True,
                       [class_words(c, dataset) for c in config.get("class_names", [])],
                       input_shape=cast("tuple[int, int, int]", shape),  # a checkpoint stores [C, H, W]
                       mean=tuple(mean) if mean else None, std=tuple(std) if std else None,
                       note=_("trained checkpoint {file}").format(file=Path(path).name),
                       weights_label=_("trained checkpoint"),
                       default_layer=convs[0] if convs else "", cam_layer=convs[-1] if convs else "",
                       dataset=dataset)


def _is_scene_checkpoint(path: str | Path) -> bool:
    """A segment / detect checkpoint of the Training Monitor (its config names the task)."""
    from visionlab.core.training.checkpoint import CheckpointError
    from visionlab.core.training.checkpoint import load_checkpoint as read_checkpoint

    try:
        return read_checkpoint(path)["config"].get("task") in ("segment", "detect")
    except CheckpointError:
        return False  # the classifier's loader below says what is wrong with the file


def _load_scene_checkpoint(path: str | Path) -> LoadedModel:
    from visionlab.core.features.scene_models import SCENE_DATASET, scene_parts
    from visionlab.core.training.checkpoint import CheckpointError

    try:
        parts = scene_parts(path)
    except CheckpointError as exc:
        raise ModelError(str(exc)) from None
    kind = "FCN" if parts["scores_note"] == "" else _("Faster R-CNN backbone")
    return LoadedModel(f"{kind} ({Path(path).name})", parts["model"], True, parts["categories"],
                       input_shape=parts["input_shape"], mean=parts["mean"], std=parts["std"], note=parts["note"],
                       weights_label=_("trained checkpoint"), default_layer=parts["default_layer"],
                       cam_layer=parts["cam_layer"], dataset=SCENE_DATASET, scores_note=parts["scores_note"])


def class_words(name: object, dataset: str) -> str:
    """A class name as the top-5 prints it: a bare number after a percentage ("12.4% 0") reads as part of
    the number, so digits say "digit 0" (and other numbered classes "class 3")."""
    text = str(name)
    if not text.isdigit():
        return text
    return _("digit {digit}").format(digit=text) if dataset == "digits" else _("class {index}").format(index=text)
