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
from visionlab.core.features.gradcam import Prediction, grad_cam, top_k
from visionlab.core.features.images import load_image, resize_for_model, to_batch
from visionlab.core.features.layers import ModelSummary, analyze_model
from visionlab.core.features.maps import first_layer_kernels_rgb, kernels_grey
from visionlab.core.features.models import LoadedModel, ModelError, load_checkpoint, load_torchvision
from visionlab.core.jobs import JobCancelled, check_cancel

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "resources" / "samples"


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


def open_model(name_or_path: str, *, progress: Callable = _noop_progress, should_stop=None) -> OpenedModel:
    """A torchvision model by name or a training checkpoint by path, with its layer table."""
    progress(0.1, f"building {name_or_path}")
    if Path(name_or_path).suffix in (".pt", ".pth", ".ckpt"):
        loaded = load_checkpoint(name_or_path)
    else:
        loaded = load_torchvision(name_or_path)
    check_cancel(should_stop)
    progress(0.6, "measuring shapes, FLOPs and receptive fields")
    try:
        summary = analyze_model(loaded.model, loaded.input_shape)
    except RuntimeError as exc:
        raise ModelError(f"{loaded.name} does not run on a {loaded.input_shape} input: {exc}") from None
    return OpenedModel(loaded, summary)


def import_weights(name: str, path: str, *, progress: Callable = _noop_progress, should_stop=None) -> OpenedModel:
    """Copy a .pth the user has into the weights store (checked: weights_only, keys, shapes), then open it.

    The store's WeightsError says what is wrong: code inside the pickle, missing or unexpected keys.
    """
    from visionlab.core.weights.store import WeightsError, WeightsStore

    progress(0.1, f"checking {Path(path).name}")
    try:
        WeightsStore().import_file(name, path)
    except WeightsError as exc:
        raise ModelError(str(exc)) from None
    return open_model(name, progress=progress)


def download_weights(name: str, url: str | None = None, *, progress: Callable = _noop_progress,
                     should_stop=None) -> OpenedModel:
    """Download `name`'s weights into the store (only when the student asked), checked, then open the model.

    `url` is a mirror (a classroom server); the store checks size and the sha256 prefix in the file name.
    """
    from visionlab.core.weights.store import DownloadCancelled, WeightsError, WeightsStore

    try:
        WeightsStore().download(name, progress=progress, should_stop=should_stop, url=url)
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
    """One layer's maps for one image; with `predict`, also top-5 and Grad-CAM (a full forward + backward).

    Without `predict` the forward pass stops at `layer`.
    """
    check_cancel(should_stop)
    shown, batch = model_input(loaded, image)
    module = find_module(loaded.model, layer)
    try:
        if predict:
            logits, activation = forward_with_capture(loaded.model, layer, batch)
        else:
            logits, activation = None, capture_activation(loaded.model, layer, batch)
    except RuntimeError as exc:
        raise ModelError(f"this image does not fit {loaded.name}: {str(exc).splitlines()[0]}") from None
    if activation.dim() != 4:
        raise ModelError(f"layer '{layer}' outputs {tuple(activation.shape[1:])}, not maps: pick a conv or "
                         "pooling layer")
    kernels, is_rgb = kernel_picture(module)
    view = LayerView(layer, shown, activation[0].float().numpy(), kernels, is_rgb,
                     getattr(module, "out_channels", 0))
    if logits is not None:
        view.predictions = top_k(logits[0], loaded.categories)
        if should_stop is not None and should_stop():
            return view
        if loaded.cam_layer:
            view.cam_class = view.predictions[0].index if cam_class is None else cam_class
            view.cam = grad_cam(loaded.model, loaded.cam_layer, batch, view.cam_class)
            loaded.model.zero_grad(set_to_none=True)
    return view
