"""Detectors and segmenters behind one interface, so the pipeline runs any of them the same way.

    detector.preprocess(frame_rgb) -> model input     (torch: `weights.transforms()` on the CHW tensor)
    detector.forward(inputs)       -> raw output       (torch: `model([x])[0]`, or `model(x[None])["out"][0]`)
    detector.postprocess(raw, frame_shape) -> Detections  (numpy, in frame pixels)

The three stages are separate so the panel can time each one. Torch models come from the weights store
(never a silent download); OpenCV's Haar face cascade and HOG people detector need no download at all and
are the history lesson before R-CNN.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import cv2
import cv2.data  # stubs: `cv2.data` (the bundled cascades' folder) is typed only when imported
import numpy as np
import torch
import torchvision  # noqa: F401  unused by name; kept so this module still loads torchvision (and its ops) on import

from visionlab.core.camera import mtcnn
from visionlab.core.camera.overlay import Detections
from visionlab.core.i18n import N_, _
from visionlab.core.weights.catalog import weights_enum

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
CLASSICAL_MODELS = {  # their descriptions, shown translated (`_()` where shown)
    "haar_face": N_("Haar face cascade (Viola-Jones 2001, OpenCV)"),
    "hog_people": N_("HOG + linear SVM people detector (Dalal-Triggs 2005, OpenCV)"),
}
# Pretrained CNNs whose weights ship inside a pip package (no download): listed beside the classical ones.
PACKAGED_MODELS = {mtcnn.NAME: mtcnn.DESCRIPTION}
TORCH_TASKS = ("detection", "instance", "segmentation")
CLASSICAL_SHORT = {"haar_face": N_("Haar faces (Viola-Jones)"), "hog_people": N_("HOG people (Dalal-Triggs)")}
# torchvision's builder names in words, piece by piece ("fasterrcnn_mobilenet_v3_large_320_fpn" is cut in
# a 300 px picker); the picker's tooltip keeps the builder's own name.
NAME_PIECES = (("fasterrcnn", "Faster R-CNN"), ("maskrcnn", "Mask R-CNN"), ("retinanet", "RetinaNet"),
               ("ssdlite320", "SSDlite 320"), ("fcos", "FCOS"), ("lraspp", "LR-ASPP"), ("deeplabv3", "DeepLabV3"),
               ("fcn", "FCN"), ("mobilenet_v3_large", "MobileNetV3"), ("resnet50", "ResNet-50"),
               ("resnet101", "ResNet-101"), ("fpn", ""), ("v2", "v2"))  # every detector here has an FPN


def display_name(name: str) -> str:
    """A model's short name for the picker: "Faster R-CNN MobileNetV3 320" (MobileNetV3 is always the large
    one here, and every detector has an FPN; the tooltip has torchvision's name)."""
    if name in CLASSICAL_SHORT:
        return _(CLASSICAL_SHORT[name])
    if name == mtcnn.NAME:
        return _(mtcnn.SHORT_NAME)
    words, rest = [], name
    while rest:
        for piece, word in NAME_PIECES:
            if rest == piece or rest.startswith(piece + "_"):
                words += [word] if word else []
                rest = rest[len(piece) + 1:]
                break
        else:
            head, _separator, rest = rest.partition("_")
            words.append(head)
    return " ".join(words)
CPU_DEFAULTS = {"detection": "fasterrcnn_mobilenet_v3_large_320_fpn", "segmentation": "lraspp_mobilenet_v3_large"}


def is_checkpoint_path(name: str) -> bool:
    """True for a model "name" that is a path to a checkpoint file (the pickers and the CLI take both)."""
    return Path(name).suffix.lower() in CHECKPOINT_SUFFIXES


def resolve_device(choice: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an explicit choice that is missing is an error."""
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    device = torch.device(choice)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(_("CUDA was chosen but this machine has no CUDA GPU (torch sees none)."))
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(_("Apple MPS was chosen but it is not available here."))
    return device


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.asarray(values, np.float64)))).astype(np.float32)


class TorchDetector:
    """A torchvision detection / instance / semantic model with its weights' own preprocessing."""

    def __init__(self, name: str, task: str, model: torch.nn.Module, weights: Any, *,
                 pretrained: bool, device: str | torch.device = "cpu") -> None:
        self.name, self.task, self.pretrained = name, task, pretrained
        self.notice = ""  # something the user must be told about this model (e.g. a CPU fallback)
        self.model = model.eval()
        self.weights = weights
        self.transforms = weights.transforms()
        self.categories = tuple(weights.meta["categories"])
        self.device = torch.device("cpu")
        self.to(device)

    def to(self, device: str | torch.device) -> None:
        self.device = torch.device(device)
        self.model.to(self.device)

    def preprocess(self, frame: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)  # H×W×3 uint8 -> 3×H×W
        return self.transforms(tensor).to(self.device, non_blocking=True)

    def forward(self, inputs: torch.Tensor) -> Any:
        # fp16 autocast on CUDA (not .half(): the box arithmetic and NMS stay in fp32). Not even a disabled
        # CUDA autocast elsewhere: CPU-only torch builds warn about it.
        on_cuda = self.device.type == "cuda"
        with torch.autocast(device_type="cuda", dtype=torch.float16) if on_cuda else contextlib.nullcontext():
            if self.task == "segmentation":
                return self.model(inputs.unsqueeze(0))["out"][0]
            return self.model([inputs])[0]

    def postprocess(self, raw: Any, frame_shape: tuple[int, ...]) -> Detections:
        height, width = frame_shape[:2]
        if self.task == "segmentation":
            probabilities = raw.float().softmax(0)
            confidence, argmax = probabilities.max(0)
            # Resized at the end (nearest for labels) so the maps line up with the frame that is shown.
            label_type = np.uint8 if len(self.categories) <= 256 else np.int32
            semantic = cv2.resize(argmax.cpu().numpy().astype(label_type), (width, height),
                                  interpolation=cv2.INTER_NEAREST)
            confidence = cv2.resize(confidence.cpu().numpy(), (width, height), interpolation=cv2.INTER_LINEAR)
            return Detections(self.categories, semantic=semantic, confidence=confidence,
                              random_weights=not self.pretrained)
        masks = raw.get("masks")
        return Detections(
            self.categories,
            boxes=raw["boxes"].float().cpu().numpy(),
            scores=raw["scores"].float().cpu().numpy(),
            labels=raw["labels"].cpu().numpy().astype(np.int64),
            # Only what the overlay draws (mask > 0.5), as booleans: Mask R-CNN with box_score_thresh=0 returns
            # ~100 full-frame float masks a frame (~120 MB at 640×480), kept alive by every slot and redraw.
            masks=None if masks is None else (masks[:, 0] > 0.5).cpu().numpy(),
            random_weights=not self.pretrained,
        )


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade: a boosted cascade of rectangle features, no neural network."""

    name, task, pretrained = "haar_face", "detection", True
    notice = ""
    categories = ("background", "face")
    device = torch.device("cpu")

    def __init__(self) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise RuntimeError(_("OpenCV's face cascade is missing ({path}); reinstall opencv-python-headless<5")
                               .format(path=path))

    def to(self, device: str | torch.device) -> None:
        pass  # classical detectors run on the CPU only

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))

    def forward(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rects, _levels, weights = self.cascade.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24), outputRejectLevels=True)
        return np.asarray(rects, np.float32).reshape(-1, 4), np.asarray(weights, np.float32).reshape(-1)

    def postprocess(self, raw: tuple[np.ndarray, np.ndarray], frame_shape: tuple[int, ...]) -> Detections:
        rects, weights = raw
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        # The cascade's last-stage weight is a margin, not a probability: squashed to 0..1 for the slider.
        return Detections(self.categories, boxes=boxes, scores=_sigmoid(weights),
                          labels=np.ones(len(boxes), np.int64))


class HogPeopleDetector(HaarFaceDetector):
    """OpenCV's HOG descriptor + linear SVM trained on pedestrians (run on a ≤400 px wide copy for speed)."""

    name = "hog_people"
    categories = ("background", "person")
    max_width = 400

    def __init__(self) -> None:
        self.hog = cv2.HOGDescriptor()
        # The stubs say Sequence[float]; OpenCV returns a float32 ndarray, which setSVMDetector takes.
        people = cast(np.ndarray, cv2.HOGDescriptor.getDefaultPeopleDetector())
        self.hog.setSVMDetector(people)

    # The stages hand (image, scale) along instead of an image: the pipeline only ever chains a detector's
    # own stages, so the narrower types of the face cascade it inherits from do not apply.
    def preprocess(self, frame: np.ndarray) -> tuple[np.ndarray, float]:  # type: ignore[override]
        scale = min(1.0, self.max_width / frame.shape[1])
        small = cv2.resize(frame, None, fx=scale, fy=scale) if scale < 1 else frame
        return small, scale

    def forward(self, inputs: tuple[np.ndarray, float]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        small, scale = inputs
        # OpenCV asserts on an image smaller than the 64×128 window: pad right and bottom (box coordinates
        # stay those of the frame), so a small image finds no one instead of failing on every frame.
        window_w, window_h = self.hog.winSize
        grow_w, grow_h = max(0, window_w - small.shape[1]), max(0, window_h - small.shape[0])
        if grow_w or grow_h:
            small = cv2.copyMakeBorder(small, 0, grow_h, 0, grow_w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        rects, weights = self.hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        return np.asarray(rects, np.float32).reshape(-1, 4) / scale, np.asarray(weights, np.float32).reshape(-1)


def build_detector(name: str, device: str = "auto", *, store: Any = None, pretrained: bool | None = None,
                   **model_kwargs: Any) -> HaarFaceDetector | TorchDetector | mtcnn.MTCNNDetector:
    """A ready detector; torch models use the store's weights when it has them, random-init otherwise.
    A name that is a path to a .pt file is a Training Monitor scene checkpoint (trained: no store involved)."""
    if is_checkpoint_path(name):
        from visionlab.core.camera.checkpoint_model import build_checkpoint_detector

        return build_checkpoint_detector(name, resolve_device(device))
    if name == mtcnn.NAME:
        return mtcnn.MTCNNDetector(device=resolve_device(device))
    if name == "haar_face":
        return HaarFaceDetector()
    if name == "hog_people":
        return HogPeopleDetector()
    if store is None:
        from visionlab.core.weights.store import WeightsStore

        store = WeightsStore()
    card = store.card(name)
    if card.task not in TORCH_TASKS:
        raise ValueError(_("{name} is a {task} model; the camera runs detection and segmentation models").format(
            name=name, task=card.task))
    if pretrained is None:
        pretrained = store.is_available(name)
    if name.startswith(("fasterrcnn", "maskrcnn")):
        # Keep every box the model scores; the panel's threshold slider is the one filter the user controls
        # (and an untrained model, whose scores sit near 1/91, still shows what it does).
        model_kwargs.setdefault("box_score_thresh", 0.0)
    model, weights = store.build(name, pretrained=pretrained, **model_kwargs)
    # Untrained models come back without an enum; its categories and transforms still apply.
    return TorchDetector(name, card.task, model, weights or weights_enum(name), pretrained=pretrained,
                         device=resolve_device(device))


def default_model() -> str:
    """The camera's model on a fresh install: MTCNN's real faces when its package is here, else the CPU
    default detector (which needs a download to be more than noise)."""
    return mtcnn.NAME if mtcnn.is_available() else CPU_DEFAULTS["detection"]


def warm_up(detector: HaarFaceDetector | TorchDetector | mtcnn.MTCNNDetector, width: int = 640,
            height: int = 480) -> None:
    """One pass on a blank frame: the first CUDA / oneDNN call is slow, and the user should not see it."""
    frame = np.zeros((height, width, 3), np.uint8)
    with torch.inference_mode():
        inputs: Any = detector.preprocess(frame)  # what this detector's own forward takes
        raw: Any = detector.forward(inputs)  # and what its own postprocess takes
        detector.postprocess(raw, frame.shape)


def load_detector(name: str, device: str = "auto", *, progress: Callable[[float, str], None],
                  should_stop: Callable[[], bool], store: Any = None,
                  size: tuple[int, int] = (640, 480)) -> HaarFaceDetector | TorchDetector | mtcnn.MTCNNDetector:
    """The finite job behind "load model": build, move to the device, warm up (the panel's "load" job)."""
    # A checkpoint's whole path would not fit the status line: its file name.
    progress(0.1, _("building {name}…").format(name=Path(name).name))
    detector = build_detector(name, device, store=store)
    if should_stop():
        return detector
    progress(0.6, _("warming up on {device}…").format(device=detector.device))
    try:
        warm_up(detector, *size)
    except torch.cuda.OutOfMemoryError:
        detector.to("cpu")
        torch.cuda.empty_cache()
        warm_up(detector, *size)
        detector.notice = _("The GPU ran out of memory while loading: the model runs on the CPU.")
    progress(1.0, _("ready"))
    return detector
