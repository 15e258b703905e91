"""The box arithmetic between MTCNN's three networks (Zhang et al. 2016), as plain numpy / torch functions.

P-Net is fully convolutional: on an image scaled by `s` its output cell (row, col) looks at the 12×12
window starting at (2·col, 2·row) of the scaled image (two 3×3 convs and one 2×2 pool of stride 2 before
them), i.e. at a (12 / s)-pixel square of the frame. A pyramid of scales lets one 12-pixel net find faces
of every size. Every box a net proposes is then squared, cut out of the frame and handed to the next,
larger net, which rejects most of them and nudges the rest (box regression: offsets in box widths).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from torchvision.ops import nms

PNET_CELL, PNET_STRIDE = 12, 2  # P-Net's receptive field and output stride, in pixels of the scaled image


def pyramid_scales(height: int, width: int, min_face: float, factor: float) -> list[float]:
    """Scales at which P-Net's 12-pixel window covers faces of min_face, min_face / factor, … pixels, down
    to the scale where the whole shorter side is one window."""
    scale, side, scales = PNET_CELL / min_face, min(height, width) * PNET_CELL / min_face, []
    while side >= PNET_CELL:
        scales.append(scale)
        scale, side = scale * factor, side * factor
    return scales


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    return max(1, math.ceil(height * scale)), max(1, math.ceil(width * scale))


def to_net_input(images: np.ndarray) -> torch.Tensor:
    """N×H×W×3 uint8 RGB -> N×3×H×W float in [-1, 1), the normalisation MTCNN was trained with."""
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (tensor - 127.5) * 0.0078125


def boxes_from_probability_map(probability: torch.Tensor, offsets: torch.Tensor, scale: float,
                               threshold: float) -> torch.Tensor:
    """Cells of one scale's face-probability map (H×W) at or above `threshold`, as frame boxes.

    Returns K×9 rows: x1, y1, x2, y2 (the cell's window in frame pixels), score, then the 4 offsets P-Net
    regressed for that window (`offsets` is 4×H×W)."""
    rows, cols = torch.nonzero(probability >= threshold, as_tuple=True)
    x1 = (PNET_STRIDE * cols).float() / scale
    y1 = (PNET_STRIDE * rows).float() / scale
    side = PNET_CELL / scale
    return torch.stack([x1, y1, x1 + side, y1 + side, probability[rows, cols], *offsets[:, rows, cols]], dim=1)


def keep_best(boxes: torch.Tensor, iou: float) -> torch.Tensor:
    """Non-maximum suppression (torchvision's) on rows whose first 5 columns are x1, y1, x2, y2, score."""
    if not len(boxes):
        return boxes
    return boxes[nms(boxes[:, :4].contiguous(), boxes[:, 4].contiguous(), iou)]


def keep_best_by_smaller_area(boxes: np.ndarray, scores: np.ndarray, overlap: float) -> np.ndarray:
    """NMS where overlap is intersection / the *smaller* box's area (MTCNN's last step): a box nested inside
    a better one is dropped even when their IoU is small. Few boxes reach this step: a plain loop."""
    order, keep = list(np.argsort(-scores, kind="stable")), []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        best, order = order[0], order[1:]
        keep.append(best)
        rest = np.array(order, np.int64)
        if not len(rest):
            break
        low = np.maximum(boxes[best, :2], boxes[rest, :2])  # the intersections' top-left corners
        high = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        width, height = np.clip(high - low, 0, None).T
        ratio = width * height / np.maximum(np.minimum(areas[best], areas[rest]), 1e-9)
        order = [int(index) for index in rest[ratio <= overlap]]
    return np.array(keep, np.int64)


def apply_offsets(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Box regression: each edge moves by its offset times the box's width (x) or height (y)."""
    width = (boxes[:, 2] - boxes[:, 0]).unsqueeze(1)
    height = (boxes[:, 3] - boxes[:, 1]).unsqueeze(1)
    return boxes[:, :4] + offsets * torch.cat([width, height, width, height], dim=1)


def squared(boxes: torch.Tensor) -> torch.Tensor:
    """The square around each box's centre with the box's longer side: R-Net and O-Net see square crops."""
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(width, height)
    x1 = boxes[:, 0] + (width - side) / 2
    y1 = boxes[:, 1] + (height - side) / 2
    return torch.stack([x1, y1, x1 + side, y1 + side], dim=1)


def crops(frame: np.ndarray, boxes: torch.Tensor, size: int) -> np.ndarray:
    """Each box cut out of the frame (zeros where it leaves the frame), resized to size×size: N×size×size×3.

    Area interpolation, as in facenet-pytorch's reference code (`interpolate(mode="area")`), so the nets see
    the averaged pixels they were trained on."""
    height, width = frame.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for index, (x1, y1, x2, y2) in enumerate(boxes.round().int().tolist()):
        if x2 <= x1 or y2 <= y1:
            continue
        patch = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
        fx1, fy1, fx2, fy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if fx2 > fx1 and fy2 > fy1:
            patch[fy1 - y1:fy2 - y1, fx1 - x1:fx2 - x1] = frame[fy1:fy2, fx1:fx2]
        out[index] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out
