"""Scenes as a COCO folder (`images/000000.png` ... and `annotations.json`), the format detection tools read.

Why COCO: a folder written here opens in pycocotools, torchvision's references, CVAT or FiftyOne, and a
COCO folder made elsewhere (polygons or RLE masks, categories named like ours) trains in VisionLab.
Masks are COCO's run-length encoding made by pycocotools itself; `area` is the mask's pixel count and
`bbox` is [x, y, w, h] of the visible mask. Every file is written atomically, annotations.json last, so
a folder with an annotations.json is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from visionlab.core.atomic import write_text
from visionlab.core.errors import UserError
from visionlab.core.images import load_image
from visionlab.core.shapes.scenes import CLASSES, Scene

ANNOTATIONS = "annotations.json"
IMAGES = "images"


class CocoError(UserError, ValueError):
    """A folder that is not a COCO data set VisionLab can read, in one sentence."""


def write_coco(folder: str | os.PathLike, scenes: Iterable[Scene], categories: Sequence[str] = CLASSES) -> Path:
    """Write the scenes' PNGs and their annotations.json into `folder`; returns the annotations' path.

    The PNGs go to a hidden staging folder first, reach the disk with one sync (an fsync per file costs
    ~7 ms here, 35 s for 5000 frames), and replace images/ by one rename; annotations.json, written
    atomically, comes last. An interrupted write leaves no annotations.json, never a mixed folder.
    """
    root = Path(folder)
    _refuse_foreign_data(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".images-", dir=root))
    try:
        images, annotations = _write_images(staging, scenes)
        _flush(staging)
        (root / ANNOTATIONS).unlink(missing_ok=True)  # from here on the folder reads as incomplete
        retired = root / f"{staging.name}-old"
        if (root / IMAGES).exists():
            (root / IMAGES).rename(retired)
        staging.rename(root / IMAGES)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    document = {
        "info": {"description": DESCRIPTION, "version": "1"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(categories)],
    }
    path = root / ANNOTATIONS
    write_text(path, json.dumps(document))
    shutil.rmtree(retired, ignore_errors=True)
    return path


DESCRIPTION = "VisionLab random shape scenes"


def _refuse_foreign_data(root: Path) -> None:
    """Writing replaces images/ and annotations.json: only where they are scenes VisionLab wrote before.

    A folder with someone's photos or another data set's annotations is refused, with nothing changed."""
    ours: set[str] | None = None
    annotations = root / ANNOTATIONS
    if annotations.exists():
        try:
            document = json.loads(annotations.read_text(encoding="utf-8"))
            if document.get("info", {}).get("description") == DESCRIPTION:
                ours = {Path(entry["file_name"]).name for entry in document.get("images", [])}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass
        if ours is None:
            raise CocoError(f"{root} already holds an annotations.json that VisionLab did not write: choose an "
                            "empty or new folder (nothing was changed).")
    images = root / IMAGES
    if images.is_dir():
        others = sorted(p.name for p in images.iterdir() if ours is None or p.name not in ours)
        if others:
            raise CocoError(f"{root / IMAGES} holds files VisionLab did not write ({others[0]}"
                            f"{f' and {len(others) - 1} more' if len(others) > 1 else ''}): choose an empty or new "
                            "folder (nothing was changed).")


def _write_images(staging: Path, scenes: Iterable[Scene]) -> tuple[list[dict], list[dict]]:
    """Each scene's PNG into `staging`; its COCO image entry and annotations (RLE made by pycocotools)."""
    images: list[dict] = []
    annotations: list[dict] = []
    for index, scene in enumerate(scenes):
        ok, png = cv2.imencode(".png", cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise CocoError(f"Scene {index} could not be encoded as PNG.")
        (staging / f"{index:06d}.png").write_bytes(png.tobytes())
        height, width = scene.image.shape[:2]
        images.append({"id": index + 1, "file_name": f"{IMAGES}/{index:06d}.png", "width": width, "height": height})
        if not len(scene.masks):
            continue
        encoded = coco_mask.encode(np.asfortranarray(scene.masks.transpose(1, 2, 0).astype(np.uint8)))
        for box, label, rle in zip(scene.boxes, scene.labels, encoded, strict=True):
            x1, y1, x2, y2 = (float(value) for value in box)
            annotations.append({
                "id": len(annotations) + 1, "image_id": index + 1, "category_id": int(label),
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": int(coco_mask.area(rle)), "iscrowd": 0,
                "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
            })
    return images, annotations


def _flush(staging: Path) -> None:
    """Put the staged files on disk before they are published: one sync where the system has one."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for path in staging.iterdir():  # Windows: no global sync, so each file on its own
        with path.open("rb+") as handle:
            os.fsync(handle.fileno())


def read_coco(folder: str | os.PathLike, categories: Sequence[str] = CLASSES) -> list[Scene]:
    """The scenes of a COCO folder, labels numbered as in `categories` (matched by name).

    Crowd annotations (iscrowd 1) are left out: they mark regions, not instances to learn. Boxes are the
    annotations' own bbox; a mask missing from an annotation is its box, filled.
    """
    root = Path(folder)
    document = _load_document(root)
    try:
        label_of = _category_labels(document["categories"], categories, root)
        by_image: dict[Any, list[dict]] = {}
        for annotation in document.get("annotations", []):
            if not annotation.get("iscrowd", 0):
                by_image.setdefault(annotation["image_id"], []).append(annotation)
        return [_scene(root, entry, by_image.get(entry["id"], []), label_of) for entry in document["images"]]
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CocoError(f"{root / ANNOTATIONS} is not in COCO's format (a field is missing or malformed: "
                        f"{exc}).") from None


def _load_document(root: Path) -> dict:
    path = root / ANNOTATIONS
    if not root.is_dir():
        raise CocoError(f"The folder {root} does not exist.")
    if not path.is_file():
        raise CocoError(f"{root} has no {ANNOTATIONS}: it is not a COCO folder (write one with `visionlab shapes`).")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CocoError(f"{path} cannot be read as JSON ({exc}).") from None
    if not isinstance(document, dict) or not {"images", "categories"} <= document.keys():
        raise CocoError(f"{path} is not in COCO's format: it needs \"images\" and \"categories\".")
    return document


def _category_labels(entries: list[dict], categories: Sequence[str], root: Path) -> dict[Any, int]:
    """COCO category id -> our label (1-based index in `categories`); unknown names are refused."""
    unknown = sorted({str(entry["name"]) for entry in entries} - set(categories))
    if unknown:
        raise CocoError(f"{root / ANNOTATIONS} has categories VisionLab's scenes do not know "
                        f"({', '.join(unknown)}); the known ones are {', '.join(categories)}.")
    return {entry["id"]: list(categories).index(str(entry["name"])) + 1 for entry in entries}


def _scene(root: Path, entry: dict, annotations: list[dict], label_of: dict[Any, int]) -> Scene:
    path = root / str(entry["file_name"])
    if not path.is_file():
        raise CocoError(f"The image {entry['file_name']} named in {root / ANNOTATIONS} is missing.")
    image = load_image(path)
    height, width = image.shape[:2]
    if (entry.get("width", width), entry.get("height", height)) != (width, height):
        raise CocoError(f"{entry['file_name']} is {width}×{height} pixels, but {ANNOTATIONS} says "
                        f"{entry['width']}×{entry['height']}.")
    boxes = np.zeros((len(annotations), 4), np.float32)
    labels = np.zeros(len(annotations), np.int64)
    rles = []
    for row, annotation in enumerate(annotations):
        x, y, w, h = (float(value) for value in annotation["bbox"])
        boxes[row] = (x, y, x + w, y + h)
        labels[row] = label_of[annotation["category_id"]]
        rles.append(_rle(annotation.get("segmentation"), boxes[row], height, width))
    masks = _decode(rles, height, width)
    return Scene(image=image, boxes=boxes, labels=labels, masks=masks)


def _rle(segmentation: Any, box: np.ndarray, height: int, width: int) -> dict:
    """COCO's compressed RLE of a segmentation given as polygons, compressed or uncompressed RLE (or none:
    then the box, filled)."""
    if not segmentation:
        mask = np.zeros((height, width, 1), np.uint8, order="F")
        x1, y1, x2, y2 = (int(round(float(value))) for value in box)
        mask[max(0, y1):y2, max(0, x1):x2] = 1
        return coco_mask.encode(mask)[0]
    if isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), (str, bytes)):  # compressed
        counts = segmentation["counts"]
        return {"size": segmentation["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    rles = coco_mask.frPyObjects(segmentation, height, width)  # polygons, or counts as a list of run lengths
    return coco_mask.merge(rles) if isinstance(rles, list) else rles


def _decode(rles: list[dict], height: int, width: int) -> np.ndarray:
    """N×H×W bool. pycocotools 2.0.11's decoder warns about numpy 2's copy keyword on every call (harmless:
    its own arrays); one call per image keeps that to one place."""
    if not rles:
        return np.zeros((0, height, width), bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        decoded = coco_mask.decode(rles)
    return decoded.transpose(2, 0, 1).astype(bool)
