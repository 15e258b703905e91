"""R-CNN's region proposals: selective search (Uijlings et al. 2013), measured beside Faster R-CNN's RPN.

R-CNN asked a hand-made algorithm for ≈2000 boxes per image and then ran AlexNet once on each warped box.
Selective search over-segments the image (Felzenszwalb's graph segmentation) and merges neighbouring
regions by colour, texture, size and fill similarity; every region of the hierarchy is a proposal. It runs
on the CPU, costs about a second an image and learns nothing, which is why Faster R-CNN replaced it by a
small network on the detector's own features. Here the picture is measured, not told: OpenCV's
implementation (`cv2.ximgproc.segmentation`, in opencv-contrib-python-headless) on the frame on screen,
its box count and time, and how many reference boxes each method recovers at IoU ≥ 0.5
(torchvision's `box_iou`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchvision.ops import box_iou

from visionlab.core.errors import UserError
from visionlab.core.i18n import N_, _

SEARCH_MODES = ("fast", "quality")  # OpenCV's two strategy sets: fewer colour spaces and seeds vs more
MODE_NAMES = {"fast": N_("fast"), "quality": N_("quality")}  # the modes as shown (`_()` where shown)
# The longest side the search runs at: at 320 px the fast mode takes ≈0.25–0.45 s on this 2-core machine
# (a 640×480 frame at full size takes ≈1.5 s), which keeps one click under a second.
DEFAULT_MAX_SIDE = 320
RECALL_IOU = 0.5  # a reference box counts as found when some proposal overlaps it this much (PASCAL's rule)


class SelectiveSearchError(UserError):
    """Selective search cannot run (no contrib build of OpenCV, an unknown mode, an empty frame)."""


@dataclass
class SelectiveSearchResult:
    """The proposals of one search. Unpacks as `boxes, seconds = selective_search(...)`."""

    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2 in frame pixels, in OpenCV's (ranked) order
    seconds: float  # the search alone (not the resize), wall clock
    mode: str
    scale: float  # searched image side / frame side (≤ 1: the frame was shrunk this much first)
    searched_size: tuple[int, int]  # (width, height) of the image the search saw

    def __iter__(self) -> Iterator[np.ndarray | float]:
        yield self.boxes
        yield self.seconds


def _segmentation_module():
    """OpenCV's selective search lives in the contrib build only; say how to get it when it is missing."""
    ximgproc = getattr(cv2, "ximgproc", None)
    if ximgproc is None or not hasattr(ximgproc, "segmentation"):
        raise SelectiveSearchError(_(
            "Selective search needs OpenCV's contrib build: pip uninstall opencv-python-headless, then "
            "pip install 'opencv-contrib-python-headless<5' (make install does both)."))
    return ximgproc.segmentation


def selective_search(frame_rgb: np.ndarray, mode: str = "fast",
                     max_side: int = DEFAULT_MAX_SIDE) -> SelectiveSearchResult:
    """Selective search on `frame_rgb` (H×W×3 uint8), shrunk so its longest side is at most `max_side`
    (the search is superlinear in pixels), with the boxes mapped back to frame pixels."""
    if mode not in SEARCH_MODES:
        raise SelectiveSearchError(_("Selective search has the modes 'fast' and 'quality', not '{mode}'.").format(
            mode=mode))
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or min(frame_rgb.shape[:2]) < 8:
        raise SelectiveSearchError(_("Selective search needs a colour frame of at least 8×8 pixels."))
    if max_side < 16:
        raise SelectiveSearchError(_("Selective search needs at least 16 pixels a side, not {side}.").format(
            side=max_side))
    segmentation = _segmentation_module()
    height, width = frame_rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    searched_w, searched_h = max(1, round(width * scale)), max(1, round(height * scale))
    image = frame_rgb if scale == 1.0 else cv2.resize(frame_rgb, (searched_w, searched_h),
                                                      interpolation=cv2.INTER_AREA)
    search = segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    if mode == "fast":
        search.switchToSelectiveSearchFast()
    else:
        search.switchToSelectiveSearchQuality()
    started = time.perf_counter()
    rects = np.asarray(search.process(), np.float32).reshape(-1, 4)  # x, y, w, h in searched pixels
    seconds = time.perf_counter() - started
    # Back to frame pixels: each axis by its own factor (rounding the size changes the aspect a little).
    to_frame = np.array([width / searched_w, height / searched_h] * 2, np.float32)
    boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1) * to_frame
    return SelectiveSearchResult(boxes.astype(np.float32), seconds, mode, scale, (searched_w, searched_h))


@dataclass
class ProposalStats:
    """One proposal method on one frame."""

    name: str
    count: int
    seconds: float | None
    best_iou: np.ndarray  # (G,) the best IoU any of its proposals reaches with each reference box
    best_index: np.ndarray  # (G,) which proposal reaches it (0 without proposals)

    @property
    def found(self) -> int:
        return int((self.best_iou >= RECALL_IOU).sum())

    @property
    def recall(self) -> float | None:
        """Share of the reference boxes some proposal covers at IoU ≥ 0.5; None without reference boxes."""
        return self.found / len(self.best_iou) if len(self.best_iou) else None


@dataclass
class ProposalComparison:
    frame_size: tuple[int, int]  # (width, height)
    references: int  # how many reference boxes the recalls are counted over
    selective_search: ProposalStats
    rpn: ProposalStats | None  # None: the model has no RPN


def _stats(name: str, boxes: np.ndarray, seconds: float | None, references: torch.Tensor) -> ProposalStats:
    proposals = torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4))
    if len(references) and len(proposals):
        best, index = (values.numpy() for values in box_iou(references, proposals).max(1))
    else:
        best, index = np.zeros(len(references), np.float32), np.zeros(len(references), np.int64)
    return ProposalStats(name, len(proposals), seconds, best, index)


def compare_proposals(frame: np.ndarray, ss_boxes: np.ndarray, rpn_boxes: np.ndarray | None,
                      gt_boxes: np.ndarray | None = None, *, ss_seconds: float | None = None,
                      rpn_seconds: float | None = None) -> ProposalComparison:
    """Counts, times and recall at IoU ≥ 0.5 of both methods against `gt_boxes` (frame pixels, x1 y1 x2 y2),
    so "why the RPN replaced selective search" is said with this frame's numbers."""
    references = torch.as_tensor(np.zeros((0, 4), np.float32) if gt_boxes is None
                                 else np.asarray(gt_boxes, np.float32).reshape(-1, 4))
    height, width = frame.shape[:2]
    return ProposalComparison(
        (width, height), len(references), _stats("selective search", ss_boxes, ss_seconds, references),
        None if rpn_boxes is None else _stats("RPN", rpn_boxes, rpn_seconds, references))
