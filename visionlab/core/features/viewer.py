"""The viewer's finite jobs, as plain functions (run by the panel's JobRunner, directly in tests/bench).

Each takes the `progress` / `should_stop` callbacks the runner passes, and returns what the panel draws
(activations, kernel pictures, predictions, Grad-CAM); the GUI thread only arranges the maps mosaic (about a
millisecond, and it depends on display options the student changes without a new forward pass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from visionlab.core.features.capture import capture_activation, find_module, forward_with_capture
from visionlab.core.features.gradcam import Prediction, cam_from_pass, forward_for_cam, top_k
from visionlab.core.features.images import load_image, resize_for_model, to_batch
from visionlab.core.features.layers import ModelSummary, ParamSplit, alexnet_splits, analyze_model, lecture_differences
from visionlab.core.features.maps import first_layer_kernels_rgb, kernels_grey
from visionlab.core.features.models import LoadedModel, ModelError, load_checkpoint, load_torchvision
from visionlab.core.i18n import N_, _
from visionlab.core.jobs import JobCancelled, check_cancel

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "resources" / "samples"
# What the input picker calls a checkpoint's own sample picture, per data set (another: "{dataset} sample #0").
SAMPLE_NAMES = {"digits": N_("digits sample #0"), "shapes": N_("shapes sample #0"),
                "shape scenes": N_("shape scenes sample #0")}


def _noop_progress(fraction: float, message: str = "") -> None:
    pass


def sample_images() -> list[Path]:
    """The sample images shipped in resources/samples (sorted by name)."""
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


@dataclass
class OpenedModel:
    loaded: LoadedModel
    summary: ModelSummary
    from_checkpoint: bool = False
    # The lecture's conv-versus-FC comparison (AlexNet only: torchvision's net and the original two-GPU one)
    # and where torchvision's model differs from the lecture, both counted / read from the models.
    splits: list[ParamSplit] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    sample_image: np.ndarray | None = None   # a checkpoint's default input: an image of its own data set
    sample_name: str = ""                    # what the input picker calls it ("digits sample #0")


def dataset_sample(dataset: str, input_shape: tuple[int, int, int]) -> np.ndarray | None:
    """One image of a Training Monitor data set (H, W, 3 uint8), so a digits model first sees a digit."""
    from visionlab.core.features.scene_models import SCENE_DATASET, scene_sample
    from visionlab.core.training.datasets import load_digits, make_shapes

    if dataset == SCENE_DATASET:  # a segment / detect checkpoint: a colour scene of its own frame size
        return scene_sample(input_shape)
    if dataset == "digits":
        images = load_digits().images
    elif dataset == "shapes":
        images = make_shapes(count=8, size=max(8, min(128, int(input_shape[1])))).images
    else:
        return None
    grey = (images[0, 0].numpy().clip(0, 1) * 255).round().astype(np.uint8)
    # Blown up with whole pixels to the image loader's 16-pixel minimum (digits are 8×8): the model's
    # resize brings it back to its own size.
    factor = max(1, -(-16 // min(grey.shape)))
    grey = grey.repeat(factor, axis=0).repeat(factor, axis=1)
    return np.repeat(grey[..., None], 3, axis=2)


def open_model(name_or_path: str, *, progress: Callable = _noop_progress, should_stop=None) -> OpenedModel:
    """A torchvision model by name or a training checkpoint by path, with its layer table."""
    progress(0.1, _("building {model}").format(model=name_or_path))
    from_checkpoint = Path(name_or_path).suffix in (".pt", ".pth", ".ckpt")
    loaded = load_checkpoint(name_or_path) if from_checkpoint else load_torchvision(name_or_path)
    check_cancel(should_stop)
    progress(0.6, _("measuring shapes, FLOPs and receptive fields"))
    try:
        summary = analyze_model(loaded.model, loaded.input_shape)
    except RuntimeError as exc:
        raise ModelError(_("{model} does not run on a {shape} input: {error}").format(
            model=loaded.name, shape=loaded.input_shape, error=exc)) from None
    opened = OpenedModel(loaded, summary, from_checkpoint)
    if from_checkpoint:
        opened.sample_image = dataset_sample(loaded.dataset, loaded.input_shape)
        opened.sample_name = sample_name(loaded.dataset) if opened.sample_image is not None else ""
    else:
        opened.differences = lecture_differences(loaded.name, loaded.model)
        if loaded.name == "alexnet":
            opened.splits = alexnet_splits(loaded.model)
    return opened


def sample_name(dataset: str) -> str:
    """The input picker's name for a data set's first image ("digits sample #0")."""
    known = SAMPLE_NAMES.get(dataset)
    return _(known) if known else _("{dataset} sample #0").format(dataset=dataset)


def import_weights(name: str, path: str, *, progress: Callable = _noop_progress, should_stop=None) -> OpenedModel:
    """Copy a .pth the user has into the weights store (checked: weights_only, keys, shapes), then open it.

    The store's WeightsError says what is wrong: code inside the pickle, missing or unexpected keys. A file
    that is not torchvision's published one opens labelled "imported, unverified: <file>".
    """
    from visionlab.core.weights.store import WeightsError, WeightsStore

    progress(0.1, _("checking {file}").format(file=Path(path).name))
    try:
        WeightsStore().import_file(name, path)
    except WeightsError as exc:
        raise ModelError(str(exc)) from None
    return open_model(name, progress=progress)


def download_weights(name: str, mirror: str | None = None, *, progress: Callable = _noop_progress,
                     should_stop=None) -> OpenedModel:
    """Download `name`'s weights into the store (only when the student asked), checked, then open the model.

    `mirror` is a classroom server's folder holding torchvision's file names; whatever the source, the file
    must hash to the digits on the model's card, or it is refused and nothing is kept.
    """
    from visionlab.core.weights.store import DownloadCancelled, WeightsError, WeightsStore

    try:
        WeightsStore().download(name, progress=progress, should_stop=should_stop, mirror=mirror or None)
    except DownloadCancelled:
        raise JobCancelled() from None
    except WeightsError as exc:
        raise ModelError(str(exc)) from None
    return open_model(name, progress=progress)


def read_image(path: str, *, progress: Callable = _noop_progress, should_stop=None) -> np.ndarray:
    """File I/O for the panel's open / drop actions (never on the GUI thread)."""
    return load_image(path)


def model_input(loaded: LoadedModel, image: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """The image as the network sees it (resized, centre-cropped) and the matching batch tensor."""
    channels, height, width = loaded.input_shape
    shown = resize_for_model(image, (height, width))
    if channels == 1:  # a grey model: show the grey levels it reads (the mean of R, G and B), not colour
        grey = shown.astype(np.float32).mean(axis=2).round().astype(np.uint8)
        shown = np.repeat(grey[..., None], 3, axis=2)
    return shown, to_batch(shown, channels, loaded.mean, loaded.std)


@dataclass
class LayerView:
    layer: str
    input_image: np.ndarray                 # (H, W, 3) uint8, as fed to the network
    activation: np.ndarray                  # (C, h, w) float32
    kernels: np.ndarray | None = None       # RGB picture of the layer's kernels (conv layers only)
    kernels_are_rgb: bool = False
    kernel_count: int = 0
    predictions: list[Prediction] = field(default_factory=list)
    cam: np.ndarray | None = None           # (H, W) in [0, 1]
    cam_class: int | None = None


def kernel_picture(module: nn.Module) -> tuple[np.ndarray | None, bool]:
    """First-layer kernels as RGB pictures; deeper ones as grey grids (mean over input channels)."""
    if not isinstance(module, nn.Conv2d):
        return None, False
    weight = module.weight.detach().float().cpu().numpy()
    if weight.shape[1] == 3:
        return first_layer_kernels_rgb(weight, scale=max(1, 24 // weight.shape[-1])), True
    return kernels_grey(weight, scale=max(1, 12 // weight.shape[-1])), False


def view_layer(loaded: LoadedModel, image: np.ndarray, layer: str, predict: bool = False,
               cam_class: int | None = None, *, progress: Callable = _noop_progress, should_stop=None) -> LayerView:
    """One layer's maps for one image; with `predict`, also top-5 and Grad-CAM.

    Without `predict` the forward pass stops at `layer`. With it, one full forward pass gives the maps, the
    logits and the Grad-CAM layer's output, and Grad-CAM's gradient is taken with autograd.grad on that
    output alone (parameters frozen), not with a second forward pass and a full backward.
    """
    check_cancel(should_stop)
    predict = predict and not loaded.scores_note  # a detector's backbone has no class scores of the picture
    shown, batch = model_input(loaded, image)
    module = find_module(loaded.model, layer)
    forward = None
    try:
        if predict and loaded.cam_layer:
            forward = forward_for_cam(loaded.model, layer, loaded.cam_layer, batch)
            logits, activation = forward.logits.detach(), forward.activation
        elif predict:
            logits, activation = forward_with_capture(loaded.model, layer, batch)
        else:
            logits, activation = None, capture_activation(loaded.model, layer, batch)
    except RuntimeError as exc:
        raise ModelError(_("this image does not fit {model}: {error}").format(
            model=loaded.name, error=str(exc).splitlines()[0])) from None
    if activation is None:
        raise ModelError(_("layer '{layer}' did not run in the forward pass").format(layer=layer))
    kernels, is_rgb = kernel_picture(module)
    view = LayerView(layer, shown, activation[0].float().numpy(), kernels, is_rgb,
                     getattr(module, "out_channels", 0))
    if logits is not None:
        view.predictions = top_k(logits[0], loaded.categories)
        if forward is not None and not (should_stop is not None and should_stop()):
            view.cam_class = view.predictions[0].index if cam_class is None else cam_class
            view.cam = cam_from_pass(forward, view.cam_class, (batch.shape[-2], batch.shape[-1]))
    return view
