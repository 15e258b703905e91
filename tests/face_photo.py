"""The astronaut portrait both MTCNN test files check (resources/samples/astronaut.png, public domain)."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.ops import box_iou

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
# Checked by eye on the 400×400 astronaut.png (zoomed 4×): cheeks at x ≈ 144 and 210, the fringe ends at
# y ≈ 58, the chin at y ≈ 138; the eyes sit at y ≈ 79, the mouth at y ≈ 114.
FACE_BY_EYE = (144.0, 58.0, 210.0, 138.0)


def iou(a, b) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes, by torchvision's box_iou."""
    return float(box_iou(torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64))[0, 0])
