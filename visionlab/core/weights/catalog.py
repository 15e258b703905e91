"""Which torchvision models the store offers, their cards, and how to rebuild them without a download.

Every number on a card comes from torchvision's weights enum (`meta` works offline), never typed by hand.

torchvision's builders change the architecture when they are given weights: segmentation models grow an
auxiliary head, GoogLeNet builds (then drops) its auxiliary classifiers and normalises its input
differently, and some detection backbones switch to FrozenBatchNorm2d. The store always builds with
`weights=None, weights_backbone=None` (so torchvision never downloads anything), so each `Recipe` below
restores what the builder would have done with weights; tests compare the result to torchvision's own
pretrained architecture.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from visionlab.core.weights.card import ModelCard, WeightsError

SUPPORTED_MODELS: dict[str, str] = {
    "fasterrcnn_mobilenet_v3_large_320_fpn": "detection",
    "fasterrcnn_mobilenet_v3_large_fpn": "detection",
    "fasterrcnn_resnet50_fpn_v2": "detection",
    "retinanet_resnet50_fpn_v2": "detection",
    "ssdlite320_mobilenet_v3_large": "detection",
    "fcos_resnet50_fpn": "detection",
    "maskrcnn_resnet50_fpn_v2": "instance",
    "lraspp_mobilenet_v3_large": "segmentation",
    "deeplabv3_mobilenet_v3_large": "segmentation",
    "deeplabv3_resnet50": "segmentation",
    "fcn_resnet50": "segmentation",
    "alexnet": "classification",
    "vgg11": "classification",
    "vgg16": "classification",
    "googlenet": "classification",
    "resnet18": "classification",
    "resnet50": "classification",
}


@dataclass(frozen=True)
class Recipe:
    """How to build a model offline so that its pretrained state dict fits."""

    builder: Callable[..., Any]
    # Keyword arguments the torchvision builder forces when it is given weights (callers may override).
    defaults: dict[str, Any] = field(default_factory=dict)
    # Only when the weights are really loaded (GoogLeNet's input transform is part of its weights) / not.
    pretrained_defaults: dict[str, Any] = field(default_factory=dict)
    untrained_defaults: dict[str, Any] = field(default_factory=dict)
    # Submodule whose BatchNorm2d layers become FrozenBatchNorm2d, as torchvision does for trained backbones.
    frozen_norm_in: str | None = None
    # State-dict keys the pretrained file has but the built model does not want (GoogLeNet's aux heads).
    ignored_key_prefixes: tuple[str, ...] = ()


_AUX_SEGMENTATION = {"aux_loss": True}
_SPECIAL: dict[str, dict[str, Any]] = {
    "deeplabv3_mobilenet_v3_large": {"defaults": _AUX_SEGMENTATION},
    "deeplabv3_resnet50": {"defaults": _AUX_SEGMENTATION},
    "fcn_resnet50": {"defaults": _AUX_SEGMENTATION},
    "fasterrcnn_mobilenet_v3_large_320_fpn": {"frozen_norm_in": "backbone.body"},
    "fasterrcnn_mobilenet_v3_large_fpn": {"frozen_norm_in": "backbone.body"},
    "fcos_resnet50_fpn": {"frozen_norm_in": "backbone.body"},
    "googlenet": {
        # The pretrained file was trained with aux classifiers; torchvision loads them and then drops them.
        "defaults": {"aux_logits": False},
        "pretrained_defaults": {"transform_input": True, "init_weights": False},
        # Explicit, or GoogLeNet warns that its default initialisation will change.
        "untrained_defaults": {"init_weights": True},
        "ignored_key_prefixes": ("aux1.", "aux2."),
    },
}


def weights_enum(name: str) -> Any:
    """torchvision's DEFAULT weights enum member: meta, categories and transforms work offline."""
    from torchvision.models import get_model_weights

    return get_model_weights(name).DEFAULT


def _flatten_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """{"COCO-val2017": {"box_map": 22.8}} -> {"box_map": 22.8}; a second data set keeps its name."""
    flat: dict[str, float] = {}
    for dataset, values in metrics.items():
        for key, value in values.items():
            flat[key if key not in flat else f"{dataset}/{key}"] = float(value)
    return flat


# torchvision names each weights enum member after its training data ("IMAGENET1K_V1", "COCO_WITH_VOC_LABELS_V1").
_TRAINED_ON = {"IMAGENET1K": "ImageNet", "COCO": "COCO", "COCO_WITH_VOC_LABELS": "COCO (VOC labels)"}


def card_from_enum(name: str, task: str, weights: Any) -> ModelCard:
    meta = weights.meta
    min_size = meta.get("min_size")
    return ModelCard(
        name=name,
        task=task,
        weights_name=f"{type(weights).__name__}.{weights.name}",
        url=weights.url,
        file_name=weights.url.rsplit("/", 1)[-1],
        num_params=int(meta["num_params"]),
        file_size_mb=float(meta["_file_size"]) if "_file_size" in meta else None,
        gflops=float(meta["_ops"]) if "_ops" in meta else None,
        metrics=_flatten_metrics(meta.get("_metrics", {})),
        categories=tuple(meta.get("categories", ())),
        min_size=tuple(min_size) if min_size else None,
        trained_on=_TRAINED_ON.get(weights.name.rsplit("_V", 1)[0], weights.name.rsplit("_V", 1)[0]),
    )


@functools.lru_cache(maxsize=1)
def torchvision_cards() -> tuple[ModelCard, ...]:
    """The cards of every supported model (imports torchvision once, then cached)."""
    return tuple(card_from_enum(name, task, weights_enum(name)) for name, task in SUPPORTED_MODELS.items())


def torchvision_recipe(name: str) -> Recipe:
    from torchvision.models import get_model_builder

    builder = get_model_builder(name)
    defaults = {"weights": None}
    if "weights_backbone" in inspect.signature(builder).parameters:
        defaults["weights_backbone"] = None
    special = dict(_SPECIAL.get(name, {}))
    special["defaults"] = {**defaults, **special.get("defaults", {})}
    return Recipe(builder=builder, **special)


def build_model(recipe: Recipe, pretrained: bool, kwargs: dict[str, Any]) -> Any:
    """Call the builder with the recipe's arguments, the caller's on top; bad arguments -> WeightsError."""
    for forbidden in ("weights", "weights_backbone"):
        if kwargs.get(forbidden) is not None:
            raise WeightsError(f"pass pretrained=True instead of {forbidden}=...: the store never lets "
                               "torchvision download on its own")
    extra = recipe.pretrained_defaults if pretrained else recipe.untrained_defaults
    arguments = {**recipe.defaults, **extra, **kwargs}
    try:
        model = recipe.builder(**arguments)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise WeightsError(f"cannot build the model with {sorted(kwargs)}: {exc}") from exc
    if recipe.frozen_norm_in:
        freeze_batch_norm(model.get_submodule(recipe.frozen_norm_in))
    return model


def freeze_batch_norm(module: Any) -> None:
    """Swap every BatchNorm2d inside `module` for torchvision's FrozenBatchNorm2d (same statistics)."""
    import torch
    from torchvision.ops.misc import FrozenBatchNorm2d

    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is torch.nn.BatchNorm2d:
                frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
                frozen = frozen.to(child.weight.device)
                with torch.no_grad():
                    for key in ("weight", "bias", "running_mean", "running_var"):
                        getattr(frozen, key).copy_(getattr(child, key))
                setattr(parent, child_name, frozen)
