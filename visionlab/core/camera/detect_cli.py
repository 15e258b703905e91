"""`visionlab detect INPUT --model NAME [--json] [--out DIR]`: the camera's detectors on files, headless.

INPUT is an image, a folder of images or a video (its frames are the "images"). The models are the ones
the Live Camera builds: MTCNN faces, the Haar and HOG detectors, and torchvision's detection, instance
and segmentation models (with the weights store's weights when it has them, random-init otherwise: the
output says which), and the Training Monitor's segment / detect checkpoints (`--model run/best.pt`).
With --json the last line printed is
    {"model": ..., "images": [{"path": ..., "detections": [{"label", "score", "box": [x1, y1, x2, y2]}]}]}
in the input's pixels (MTCNN adds 5 "landmarks" per face). --out DIR gets each annotated picture and,
for segmenters, the masks as PNG files. No Qt is imported: this runs on a machine without a screen.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from visionlab.core.errors import UserError
from visionlab.core.images import IMAGE_SUFFIXES, ImageError, load_image, skipped_summary

ALIASES = {"mtcnn": "mtcnn_faces", "haar": "haar_face", "hog": "hog_people"}
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v")


class DetectError(UserError, ValueError):
    """An input or model the command cannot use, in one sentence."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionlab detect", description="Run a camera model on images or a video.")
    parser.add_argument("input", help="an image, a folder of images, or a video file")
    parser.add_argument("--model", required=True,
                        help="mtcnn, haar, hog, a torchvision model name (see `visionlab weights list`) or the "
                             "path of a segment / detect checkpoint from the Training Monitor")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    parser.add_argument("--out", help="folder for the annotated pictures (and masks of segmenters)")
    parser.add_argument("--threshold", type=float, default=0.5, help="lowest score kept (default 0.5)")
    parser.add_argument("--max-frames", type=int, default=300, help="a video's frames read at most (default 300)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    return parser


def frames_of(path: Path, max_frames: int, skipped: list[ImageError]) -> Iterator[tuple[str, np.ndarray]]:
    """(name, RGB frame) for an image, every image of a folder (bad ones go to `skipped`) or a video."""
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            try:
                yield str(file), np.require(load_image(file), requirements="W")  # torch wants writable arrays
            except ImageError as exc:
                skipped.append(exc)
        return
    if not path.exists():
        raise DetectError(f"{path}: no such file or folder.")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        yield from _video_frames(path, max_frames)
        return
    yield str(path), np.require(load_image(path), requirements="W")


def _video_frames(path: Path, max_frames: int) -> Iterator[tuple[str, np.ndarray]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DetectError(f"{path}: OpenCV cannot open this video (MJPG / XVID .avi and mp4v .mp4 work).")
        for index in range(max_frames):
            ok, frame = capture.read()
            if not ok:
                if index == 0:
                    raise DetectError(f"{path}: the video has no frame OpenCV can decode.")
                return
            yield f"{path}#{index}", cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def build_model(name: str, device: str) -> Any:
    from visionlab.core.camera.detectors import build_detector
    from visionlab.core.weights.card import WeightsError

    try:
        return build_detector(ALIASES.get(name, name), device)
    except WeightsError as exc:  # an unknown name: the store lists the ones it knows
        raise DetectError(str(exc)) from None
    except ValueError as exc:  # a classifier, or a device this machine lacks
        raise DetectError(str(exc)) from None


def detect_one(detector: Any, frame: np.ndarray, threshold: float) -> tuple[Any, dict[str, Any]]:
    """The detections kept at `threshold` and their JSON record (boxes in the frame's pixels)."""
    import torch

    from visionlab.core.camera.overlay import OverlayOptions, filter_detections

    with torch.inference_mode():
        detections = detector.postprocess(detector.forward(detector.preprocess(frame)), frame.shape)
    record: dict[str, Any] = {"size": [int(frame.shape[1]), int(frame.shape[0])]}
    if detections.semantic is not None:
        counts = np.bincount(detections.semantic.ravel(), minlength=len(detections.categories))
        record["classes"] = {detections.label_name(label): round(float(counts[label]) / counts.sum(), 4)
                             for label in np.flatnonzero(counts) if label != 0}
        record["detections"] = []
        return detections, record
    kept = filter_detections(detections, OverlayOptions(score_threshold=threshold, max_detections=1000))
    rows = []
    for index in range(len(kept)):
        row: dict[str, Any] = {"label": kept.label_name(int(kept.labels[index])),
                               "score": round(float(kept.scores[index]), 5),
                               "box": [round(float(v), 2) for v in kept.boxes[index]]}
        if kept.landmarks is not None:
            row["landmarks"] = [[round(float(x), 2), round(float(y), 2)] for x, y in kept.landmarks[index]]
        rows.append(row)
    record["detections"] = rows
    return kept, record


def _save_pictures(out: Path, name: str, frame: np.ndarray, detections: Any, record: dict[str, Any],
                   threshold: float) -> None:
    """The annotated picture, and a segmenter's masks: written atomically, as PNGs."""
    import cv2

    from visionlab.core.atomic import write_bytes
    from visionlab.core.camera.overlay import OverlayOptions, render_overlay

    base, _, frame_index = name.partition("#")  # a video's frames are "movie.avi#12"
    stem = Path(base).stem + (f"_frame{frame_index}" if frame_index else "")

    def png(image: np.ndarray) -> bytes:
        ok, data = cv2.imencode(".png", image)
        if not ok:
            raise DetectError(f"could not encode a PNG for {name}")
        return data.tobytes()

    picture = render_overlay(frame, detections, OverlayOptions(score_threshold=threshold), min_side=0)
    write_bytes(out / f"{stem}_detections.png", png(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)))
    if detections.semantic is not None:  # class index per pixel (0 = background), 8- or 16-bit grey
        classes = detections.semantic.astype(np.uint8 if detections.semantic.max() < 256 else np.uint16)
        write_bytes(out / f"{stem}_classes.png", png(classes))
        record["mask"] = str(out / f"{stem}_classes.png")
    elif detections.masks is not None:
        for index, (mask, row) in enumerate(zip(detections.masks, record["detections"], strict=True)):
            path = out / f"{stem}_mask{index}.png"
            write_bytes(path, png((np.asarray(mask) > 0.5).astype(np.uint8) * 255))
            row["mask"] = str(path)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from visionlab.core.camera.detectors import is_checkpoint_path

    detector = build_model(args.model, args.device)
    out = Path(args.out) if args.out else None
    skipped: list[ImageError] = []
    images = []
    for name, frame in frames_of(Path(args.input), args.max_frames, skipped):
        detections, record = detect_one(detector, frame, args.threshold)
        if out is not None:
            _save_pictures(out, name, frame, detections, record, args.threshold)
        images.append({"path": name, **record})
        if not args.json:
            found = ", ".join(f"{row['label']} {row['score']:.2f} at {[round(v) for v in row['box']]}"
                              for row in record["detections"]) or "nothing ≥ the threshold"
            print(f"{name}: {found}")
    weights = "trained checkpoint" if is_checkpoint_path(args.model) else \
        "pretrained" if detector.pretrained else "RANDOM WEIGHTS (boxes are noise)"
    result: dict[str, Any] = {"model": detector.name, "weights": weights, "threshold": args.threshold,
                              "images": images, "skipped": [{"path": e.name, "reason": e.reason} for e in skipped]}
    total = len(images) + len(skipped)
    result["summary"] = skipped_summary(skipped, total) or f"{len(images)} image(s), none skipped"
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except UserError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if not result["images"]:
        print(f"error: no image could be read from {args.input}. {result['summary']}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['model']} ({result['weights']}): {result['summary']}")
    return 0
