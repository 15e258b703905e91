"""MTCNN (Zhang et al. 2016): a real pretrained face detector that needs no download.

The three small networks are defined here, with the layer names of the state dicts that the
`facenet-pytorch` wheel ships in `facenet_pytorch/data/{pnet,rnet,onet}.pt`, so they load strictly. The
package is located with `importlib.util.find_spec` and never imported: importing it pulls in its
face-recognition and download code (and `requests`). Its metadata pins torch<2.3, so it is installed with
`pip install --no-deps facenet-pytorch==2.6.0`; without it MTCNN is listed as unavailable, with that line.

The detector runs the lecture's cascade step by step and keeps what each step did (`MTCNNRun`): the image
pyramid → P-Net, fully convolutional, a face-probability map per scale → candidate boxes → NMS → R-Net
refines and rejects → O-Net refines again and gives 5 landmarks (eyes, nose, mouth corners).
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from visionlab.core.camera import mtcnn_stages as stages
from visionlab.core.camera.overlay import Detections
from visionlab.core.errors import UserError
from visionlab.core.i18n import N_, _

NAME = "mtcnn_faces"
PACKAGE = "facenet_pytorch"
INSTALL_LINE = "pip install --no-deps facenet-pytorch==2.6.0"
# Shown translated (`_()` where shown): the picker's tooltip and name.
DESCRIPTION = N_("MTCNN faces (Zhang et al. 2016): P-Net → R-Net → O-Net, pretrained, from facenet-pytorch")
SHORT_NAME = N_("MTCNN faces")
MISSING_TEXT = N_("MTCNN's trained weights come with the facenet-pytorch package, which is not installed: "
                  "run `{install}` (--no-deps: its metadata pins an old torch).")
MISSING = MISSING_TEXT.format(install=INSTALL_LINE)  # in English (tests' skip reasons); missing() translates
MIN_FACE, FACTOR = 20.0, 0.709  # facenet-pytorch's defaults: smallest face in pixels, pyramid step
THRESHOLDS = (0.6, 0.7, 0.7)  # face probability each net needs, P / R / O
NMS_IOU = {"pnet_scale": 0.5, "pnet_all": 0.7, "rnet": 0.7, "onet": 0.7}


class MTCNNUnavailable(UserError, RuntimeError):
    """The weights' package is missing (or damaged): the sentence says how to install it."""


def weights_folder() -> Path | None:
    """facenet-pytorch's data folder, found without importing the package; None when it is not installed."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if all((folder / f"{net}.pt").is_file() for net in ("pnet", "rnet", "onet")) else None


def is_available() -> bool:
    return weights_folder() is not None


def missing() -> str:
    """How to install the weights' package, in the current language."""
    return _(MISSING_TEXT).format(install=INSTALL_LINE)


class PNet(nn.Module):
    """12×12 proposal net, fully convolutional: any image size in, a face-probability map out."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)  # face / not face, a 1×1 conv: a classifier at every position
        self.conv4_2 = nn.Conv2d(32, 4, 1)  # box offsets at every position

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.conv4_1(x).softmax(1)


class RNet(nn.Module):
    """24×24 refine net: rejects most of P-Net's candidates and regresses the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # The weights were converted from Caffe, which flattens W before H: transpose to match.
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense5_2(x), self.dense5_1(x).softmax(1)


class ONet(nn.Module):
    """48×48 output net: the final face score, box offsets and 5 landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense6_2(x), self.dense6_3(x), self.dense6_1(x).softmax(1)


NETS: dict[str, type[nn.Module]] = {"pnet": PNet, "rnet": RNet, "onet": ONet}


def load_net(name: str) -> nn.Module:
    """One of the three nets ("pnet", "rnet", "onet") with its trained weights, loaded strictly."""
    folder = weights_folder()
    if folder is None:
        raise MTCNNUnavailable(missing())
    net = NETS[name]()
    try:
        net.load_state_dict(torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, KeyError) as exc:
        raise MTCNNUnavailable(_("facenet-pytorch's {name}.pt could not be loaded ({error}); reinstall it: "
                                 "`{install}`.").format(name=name, error=exc, install=INSTALL_LINE)) from None
    return net.eval()


@dataclass
class MTCNNRun:
    """What each stage of one detection did, for the "Inside the model" page (all from this run)."""

    frame_shape: tuple[int, int]
    frame: np.ndarray | None = None  # the RGB frame the cascade ran on
    scales: list[float] = field(default_factory=list)
    scaled_sizes: list[tuple[int, int]] = field(default_factory=list)  # (H, W) of each pyramid level
    probability_maps: list[np.ndarray] = field(default_factory=list)  # P-Net's P(face) per scale (H'×W')
    counts: dict[str, int] = field(default_factory=dict)  # stage -> boxes left after it, in cascade order
    milliseconds: dict[str, float] = field(default_factory=dict)  # stage -> time
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # final, frame pixels
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 5, 2), np.float32))  # (x, y) each
    candidates: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> its boxes (frame pixels)


COUNT_LABELS = {"pnet": N_("P-Net windows ≥ {p}"), "pnet_nms": N_("after NMS"), "rnet": N_("after R-Net ≥ {r} + NMS"),
                "onet": N_("after O-Net ≥ {o} + NMS")}


class MTCNNDetector:
    """The camera's detector interface (preprocess / forward / postprocess) around the staged cascade."""

    name, task, pretrained = NAME, "detection", True
    notice = ""
    categories = ("background", "face")

    def __init__(self, min_face: float = MIN_FACE, device: str | torch.device = "cpu") -> None:
        self.pnet, self.rnet, self.onet = (load_net(net) for net in NETS)
        self.min_face = min_face
        self.device = torch.device("cpu")
        self.to(device)
        self.last_run: MTCNNRun | None = None  # replaced whole after each frame (read by other threads)

    @property
    def model(self) -> nn.Module:
        """P-Net: the fully convolutional net the Feature Maps viewer and "Inside the model" start from."""
        return self.pnet

    def to(self, device: str | torch.device) -> None:
        self.device = torch.device(device)
        for net in (self.pnet, self.rnet, self.onet):
            # Channels-last: the inputs come as H×W×3 arrays (already that layout), and CPU max-pooling with
            # ceil_mode is ≈5× faster on it (measured: R-Net on 144 crops 24 → 12 ms).
            net.to(self.device)
            net.to(memory_format=torch.channels_last)

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frame[..., :3], dtype=np.uint8)

    def forward(self, frame: np.ndarray) -> MTCNNRun:
        return self.detect(frame)

    def postprocess(self, run: MTCNNRun, frame_shape: tuple[int, ...]) -> Detections:
        return Detections(self.categories, boxes=run.boxes, scores=run.scores,
                          labels=np.ones(len(run.scores), np.int64), landmarks=run.landmarks)

    def detect(self, frame: np.ndarray) -> MTCNNRun:
        """Run the whole cascade on an RGB uint8 frame; the run is also kept as `last_run`."""
        with torch.inference_mode():
            run = self._cascade(self.preprocess(frame))
        self.last_run = run
        return run

    def _cascade(self, frame: np.ndarray) -> MTCNNRun:
        import cv2

        height, width = frame.shape[:2]
        run = MTCNNRun((height, width), frame)
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            run.milliseconds[stage] = run.milliseconds.get(stage, 0.0) + 1000 * (now - clock)
            clock = now

        per_scale, scaled = [], frame
        for scale in stages.pyramid_scales(height, width, self.min_face, FACTOR):
            size = stages.scaled_size(height, width, scale)
            # Each level from the one before (steps of ≤ 0.709, where bilinear barely aliases): area
            # interpolation from the full frame at every scale cost ≈19 ms of a 640×480 frame, this ≈1 ms.
            scaled = cv2.resize(scaled, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
            lap("pyramid")
            offsets, probabilities = self.pnet(stages.to_net_input(scaled[None]).to(self.device))
            face = probabilities[0, 1].float().cpu()
            run.scales.append(scale)
            run.scaled_sizes.append(size)
            run.probability_maps.append(face.numpy())
            found = stages.boxes_from_probability_map(face, offsets[0].float().cpu(), scale, THRESHOLDS[0])
            lap("pnet")
            run.counts["pnet"] = run.counts.get("pnet", 0) + len(found)
            per_scale.append(stages.keep_best(found, NMS_IOU["pnet_scale"]))
            lap("nms")
        run.counts.setdefault("pnet", 0)
        boxes = stages.keep_best(torch.cat(per_scale) if per_scale else torch.zeros(0, 9), NMS_IOU["pnet_all"])
        run.counts["pnet_nms"] = len(boxes)
        run.candidates["pnet_nms"] = boxes[:, :4].numpy()
        boxes = stages.squared(stages.apply_offsets(boxes, boxes[:, 5:9]))
        lap("nms")

        boxes = self._refine(frame, boxes, run)
        run.candidates["rnet"] = boxes.numpy()
        lap("rnet")
        if len(boxes):
            inputs = stages.to_net_input(stages.crops(frame, boxes, 48)).to(self.device)
            offsets, points, probabilities = self.onet(inputs)
            score = probabilities[:, 1].float().cpu()
            passed = score >= THRESHOLDS[2]
            boxes, score, offsets, points = boxes[passed], score[passed], offsets[passed].float().cpu(), \
                points[passed].float().cpu()
            box_size = (boxes[:, 2:4] - boxes[:, 0:2]).unsqueeze(1)  # landmarks: fractions of O-Net's input box
            landmarks = boxes[:, None, 0:2] + torch.stack([points[:, :5], points[:, 5:]], dim=2) * box_size
            boxes = stages.apply_offsets(boxes, offsets)
            keep = stages.keep_best_by_smaller_area(boxes.numpy(), score.numpy(), NMS_IOU["onet"])
            run.boxes = boxes.numpy()[keep].reshape(-1, 4)
            run.scores = score.numpy()[keep].reshape(-1)
            run.landmarks = landmarks.numpy()[keep].reshape(-1, 5, 2)
        run.counts["onet"] = len(run.scores)
        lap("onet")
        return run

    def _refine(self, frame: np.ndarray, boxes: torch.Tensor, run: MTCNNRun) -> torch.Tensor:
        """R-Net on 24×24 crops of P-Net's squared candidates: reject, NMS, regress, square again."""
        if len(boxes):
            offsets, probabilities = self.rnet(stages.to_net_input(stages.crops(frame, boxes, 24)).to(self.device))
            score = probabilities[:, 1].float().cpu()
            passed = score >= THRESHOLDS[1]
            rows = torch.cat([boxes[passed], score[passed, None], offsets[passed].float().cpu()], dim=1)
            rows = stages.keep_best(rows, NMS_IOU["rnet"])
            boxes = stages.squared(stages.apply_offsets(rows, rows[:, 5:9]))
        run.counts["rnet"] = len(boxes)
        return boxes


def count_lines(run: MTCNNRun) -> list[tuple[str, int]]:
    """(what, how many) for each stage of the cascade, in order, with the thresholds this run used."""
    p, r, o = THRESHOLDS
    return [(_(COUNT_LABELS[stage]).format(p=p, r=r, o=o), run.counts.get(stage, 0)) for stage in COUNT_LABELS]
