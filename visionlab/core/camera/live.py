"""What the Live Camera panel asks of core, in one place (the panel imports nothing else from core).

Models (classical and torchvision, with their weights store), sources, the overlay and its legend, the
"Inside the model" analyses, and the devices there are to run on. Most names are re-exported from the
modules that define them; the few functions here hold decisions the panel would otherwise make itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from visionlab.core.camera import mtcnn
from visionlab.core.camera.detectors import (
    CLASSICAL_MODELS,
    CPU_DEFAULTS,
    PACKAGED_MODELS,
    TORCH_TASKS,
    default_model,
    display_name,
    is_checkpoint_path,
    load_detector,
)
from visionlab.core.camera.inside_model import analyse_rcnn, analyse_segmentation, supports_inside
from visionlab.core.camera.overlay import Detections, OverlayOptions, class_color, classes_in_view, render_overlay
from visionlab.core.camera.pipeline import InferenceResult
from visionlab.core.camera.sources import (
    FILE_KINDS,
    SHAPE_SCENES,
    CameraInfo,
    FrameSource,
    list_cameras,
    probe_cameras,
    source_from_choice,
)
from visionlab.core.i18n import N_, _
from visionlab.core.weights.store import DownloadCancelled, ModelCard, WeightsStore

__all__ = ["CLASSICAL_MODELS", "CPU_DEFAULTS", "FILE_KINDS", "PACKAGED_MODELS", "SAMPLE_PHOTO", "SHAPE_SCENES",
           "TORCH_TASKS", "CameraInfo", "Detections", "default_model", "mtcnn",
           "DownloadCancelled", "FrameSource", "InferenceResult", "ModelCard", "OverlayOptions", "WeightsStore",
           "analyse", "checkpoint_folder", "device_choices", "display_name", "is_checkpoint_path", "legend_html",
           "list_cameras", "load_detector", "model_cards", "probe_cameras", "render_overlay", "short_name",
           "source_from_choice", "supports_inside"]

# A real photo with one face (NASA, public domain; resources/samples/SOURCES.md): the screenshot's source.
SAMPLE_PHOTO = Path(__file__).resolve().parents[3] / "resources" / "samples" / "astronaut.png"
NO_INSIDE = N_("Pick MTCNN faces, Faster R-CNN, Mask R-CNN or a segmentation model (and let a frame arrive) to look "
               "inside it; SSD, RetinaNet, FCOS and the classical detectors have no proposal stage to show.")


def device_choices() -> list[tuple[str, str]]:
    """(label, device) pairs for the device picker: auto, the CPU, and whatever accelerator torch sees."""
    import torch

    choices = [(_("auto"), "auto"), ("cpu", "cpu")]
    if torch.cuda.is_available():
        choices.append((f"cuda ({torch.cuda.get_device_name(0)})", "cuda"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        choices.append(("Apple MPS", "mps"))
    return choices


def checkpoint_folder() -> Path:
    """Where the "Open checkpoint…" dialog starts: the Training Monitor's runs (each keeps its best.pt)."""
    from visionlab.core.training.runs import runs_dir

    return runs_dir()


def short_name(name: str) -> str:
    """A model's name where a line has little room: a checkpoint by its file name, not its whole path."""
    return Path(name).name if is_checkpoint_path(name) else name


def model_cards(store: WeightsStore) -> list[ModelCard]:
    """The torchvision models the picker offers, by task (detection, instance, segmentation)."""
    return [card for task in TORCH_TASKS for card in store.cards(task)]


def analyse(detector: Any, frame: np.ndarray, top_n: int = 30) -> Any:
    """Run `detector` stage by stage on `frame` ("Inside the model"); ValueError when it has no stages."""
    kind = supports_inside(detector)
    if kind == "mtcnn":
        return detector.detect(frame)  # the cascade keeps every stage's boxes, maps, counts and times
    if kind == "rcnn":
        return analyse_rcnn(detector, frame, top_n)
    if kind:
        return analyse_segmentation(detector, frame)
    raise ValueError(_(NO_INSIDE))


def legend_html(detections: Detections, options: OverlayOptions) -> str:
    """The legend under the picture: a coloured square and the name of each class drawn."""
    legend = " ".join(f"<span style='color: rgb{class_color(label)}'>■</span> {name}"
                      for label, name in classes_in_view(detections, options))
    return _("classes in view: {legend}").format(legend=legend or "–")
