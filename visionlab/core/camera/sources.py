"""Frame sources: where the Live Camera panel (and the Feature-Map Viewer's live mode) get their images.

Every source has the same small interface, so a consumer never cares where frames come from:

    source = SyntheticSource(width=640, height=480)    # or VideoFileSource(path), CameraSource(0), ...
    source.open()                                       # raises SourceError with a readable message
    ok, frame, timestamp = source.read()                # frame: H×W×3 uint8 **RGB**, timestamp: perf_counter()
    source.close()                                      # idempotent

`read()` returning `ok=False` means "no frame right now" (end of a non-looping video, a camera that went
away). `source.live` tells whether it is worth retrying (a camera) or the stream is over (a file).
`SyntheticSource` draws deterministic moving shapes: frame `i` is always the same image, which is what the
tests and benchmarks rely on. No module here imports torch or Qt.

Images and image folders are read by the shared loader (`core/images.py`, the one Feature Maps uses), so a
bad file gets the same sentence in both panels. What a source wants the user to know without stopping (a
folder that skips files) it keeps as notes; the capture loop passes them on (`take_notes`).
"""

from __future__ import annotations

import glob
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsInt, cast

import cv2
import numpy as np

from visionlab.core.errors import UserError
from visionlab.core.i18n import N_, _
from visionlab.core.images import IMAGE_SUFFIXES, ImageError, load_image, probe_image, skipped_summary

STREAM_MAX_SIDE = 1920  # a 50-megapixel photo streamed as is would cost ~150 MB per frame at every stage
FILE_KINDS = {"video": N_("Video file"), "image": N_("Image file"), "folder": N_("Image folder")}  # shown with _()
SHAPE_SCENES = "scenes"  # ("synthetic", SHAPE_SCENES): random shape scenes; ("synthetic", None): orbiting shapes


class SourceError(UserError):
    """A source could not be opened or read; the message is meant for the user."""


class FrameSource:
    """Base class: subclasses implement `_open`, `_read` (RGB frame or None) and `_close`."""

    description = "source"
    live = False  # True for cameras: a failed read is worth retrying
    fps: float | None = 30.0  # the natural pace for the capture loop; None: read() itself waits (a camera)

    def __init__(self) -> None:
        self.is_open = False
        self._notes: list[str] = []

    def take_notes(self) -> list[str]:
        """Messages for the user gathered since the last call (read by the capture loop, on its thread)."""
        notes, self._notes = self._notes, []
        return notes

    def open(self) -> None:
        if not self.is_open:
            self._open()
            self.is_open = True

    def read(self) -> tuple[bool, np.ndarray | None, float]:
        if not self.is_open:
            return False, None, time.perf_counter()
        frame = self._read()
        return frame is not None, frame, time.perf_counter()

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._close()

    def _open(self) -> None:
        pass

    def _read(self) -> np.ndarray | None:
        raise NotImplementedError

    def _close(self) -> None:
        pass


class SyntheticSource(FrameSource):
    """Moving shapes on a gradient: the default when there is no camera, and the source of every test.

    Deterministic: frame `i` depends only on `i` and the size. `cache_frames > 0` renders that many frames
    once and cycles through them (benchmarks use it so the source costs nothing per frame).
    """

    live = False

    def __init__(self, width: int = 640, height: int = 480, cache_frames: int = 0) -> None:
        super().__init__()
        if width < 32 or height < 32:
            raise SourceError(_("synthetic frames must be at least 32×32, not {width}×{height}").format(
                width=width, height=height))
        self.width, self.height = width, height
        self.description = _("Synthetic shapes {width}×{height}").format(width=width, height=height)
        self.index = 0
        yy, xx = np.mgrid[0:height, 0:width]
        self._background = np.stack(
            [40 + 60 * xx / width, 50 + 40 * yy / height, 90 + 0 * xx], axis=-1).astype(np.uint8)
        self._cache = [self.render(i) for i in range(cache_frames)]

    def render(self, index: int) -> np.ndarray:
        """Frame number `index`: a circle, a rectangle and a triangle orbiting at different speeds."""
        return self._draw_shapes(self._background.copy(), index)

    def _draw_shapes(self, image: np.ndarray, index: int) -> np.ndarray:
        w, h = self.width, self.height
        t = index / 30.0
        scale = min(w, h)
        cx, cy = w / 2 + 0.3 * w * math.cos(0.9 * t), h / 2 + 0.25 * h * math.sin(0.9 * t)
        cv2.circle(image, (int(cx), int(cy)), int(0.12 * scale), (230, 70, 60), -1, cv2.LINE_AA)
        rx, ry = w / 2 + 0.3 * w * math.cos(-0.6 * t + 2), h / 2 + 0.3 * h * math.sin(-0.6 * t + 2)
        half = 0.1 * scale
        cv2.rectangle(image, (int(rx - half), int(ry - 0.7 * half)), (int(rx + half), int(ry + 0.7 * half)),
                      (60, 200, 90), -1)
        tx, ty = w / 2 + 0.2 * w * math.cos(1.3 * t + 4), h / 2 + 0.2 * h * math.sin(1.3 * t + 4)
        size = 0.1 * scale
        triangle = np.array([[tx, ty - size], [tx - size, ty + size], [tx + size, ty + size]], np.int32)
        cv2.fillPoly(image, [triangle], (240, 220, 60), cv2.LINE_AA)
        cv2.putText(image, f"frame {index}", (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)
        return image

    def _read(self) -> np.ndarray:
        if self._cache:
            frame = self._cache[self.index % len(self._cache)]
        else:
            frame = self.render(self.index)
        self.index += 1
        return frame


class _CaptureSource(FrameSource):
    """A source read through cv2.VideoCapture (video files and cameras): one way to release it."""

    _capture: cv2.VideoCapture | None = None

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSource(_CaptureSource):
    """A video file read with OpenCV; `loop=True` starts again at the end (a short clip plays forever)."""

    def __init__(self, path: str | os.PathLike, loop: bool = True) -> None:
        super().__init__()
        self.path = Path(path)
        self.loop = loop
        self.description = _("Video {name}").format(name=self.path.name)
        self._capture = None

    def _open(self) -> None:
        if not self.path.is_file():
            raise SourceError(_("The video file {path} does not exist.").format(path=self.path))
        capture = cv2.VideoCapture(str(self.path))
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            capture.release()
            raise SourceError(_("{name} is not a video OpenCV can read (corrupt file or unknown codec).").format(
                name=self.path.name))
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        rate = capture.get(cv2.CAP_PROP_FPS)
        self.fps = rate if 1 <= rate <= 240 else 30.0
        self._capture = capture

    def _read(self) -> np.ndarray | None:
        capture = self._capture
        assert capture is not None, "_read runs only between open() and close()"
        ok, frame = capture.read()
        if not ok and self.loop:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = capture.read()
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok and frame is not None else None


def fit_to_stream(image: np.ndarray, max_side: int = STREAM_MAX_SIDE) -> np.ndarray:
    """The image scaled down (never up) so that its longer side is at most `max_side` pixels."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)  # INTER_AREA: no aliasing when shrinking


class ImageFileSource(FrameSource):
    """One still image, served again on every read (so the detector runs on it continuously)."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(path)
        self.description = _("Image {name}").format(name=self.path.name)
        self._image: np.ndarray | None = None

    def _open(self) -> None:
        try:
            image = load_image(self.path)
        except ImageError as exc:
            raise SourceError(str(exc)) from None
        self._image = fit_to_stream(image)
        if self._image is not image:
            height, width = image.shape[:2]
            shown_h, shown_w = self._image.shape[:2]
            self._notes.append(_("{name} is {width}×{height} pixels: streamed at {shown_width}×{shown_height}.").format(
                name=self.path.name, width=width, height=height, shown_width=shown_w, shown_height=shown_h))

    def _read(self) -> np.ndarray | None:
        return self._image


class ImageFolderSource(FrameSource):
    """The images of a folder in name order, one per read, looping; files that cannot be used are skipped.

    Opening checks every file's header (no pixel decoded: a folder of a thousand photos opens in well under
    a second), which finds most bad files at once; one cut short is found when it is decoded. Each skip is
    counted and the count told as a note, "3 of 12 files skipped: ...". Only when no file is left does the
    source fail (a SourceError), and that ends the stream as a message, like a video that ends.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.fps = 2.0  # a slide show: each picture stays long enough to look at
        self.description = _("Folder {name}").format(name=self.folder.name)
        self._paths: list[Path] = []
        self.skipped: list[ImageError] = []
        self.total = 0  # files with an image suffix, the ones that could play
        self.index = 0  # position in _paths of the next file to show

    def _open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError(_("The folder {path} does not exist.").format(path=self.folder))
        try:
            candidates = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise SourceError(_("The folder {name} cannot be read ({error}).").format(
                name=self.folder.name, error=exc.strerror or exc)) from None
        if not candidates:
            raise SourceError(_("The folder {name} holds no images ({suffixes}).").format(
                name=self.folder.name, suffixes=", ".join(IMAGE_SUFFIXES)))
        self.total, self.skipped, self._paths, self.index = len(candidates), [], [], 0
        for path in candidates:
            try:
                probe_image(path)
                self._paths.append(path)
            except ImageError as exc:
                self.skipped.append(exc)
        self._check_any_left()
        self._note_skips()

    def _read(self) -> np.ndarray | None:
        while self._paths:
            position = self.index % len(self._paths)
            path = self._paths[position]
            try:
                image = load_image(path)
            except ImageError as exc:  # cut short, or changed since the folder was opened
                del self._paths[position]  # the next file slides into this position
                self.skipped.append(exc)
                if self._paths:  # when none is left, the SourceError below says it all
                    self._note_skips()
                continue
            self.index = position + 1
            return fit_to_stream(image)
        self._check_any_left()
        return None

    def _check_any_left(self) -> None:
        if not self._paths:
            raise SourceError(_("No image in the folder {name} can be shown: {skipped}.").format(
                name=self.folder.name, skipped=skipped_summary(self.skipped, self.total)))

    def _note_skips(self) -> None:
        if self.skipped:
            self._notes.append(f"{self.description}: {skipped_summary(self.skipped, self.total)}.")


class CameraSource(_CaptureSource):
    """A webcam by OpenCV index, optionally asking for a resolution (the camera may pick another one)."""

    live = True
    fps = None

    def __init__(self, index: int, width: int | None = None, height: int | None = None, name: str = "") -> None:
        super().__init__()
        self.index, self.width, self.height = index, width, height
        self.description = name or _("Camera {index}").format(index=index)
        self._capture = None

    def _open(self) -> None:
        capture = cv2.VideoCapture(self.index)
        if not capture.isOpened():
            capture.release()
            raise SourceError(_("{source} could not be opened (unplugged, or used by another program?).").format(
                source=self.description))
        if self.width and self.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._capture = capture

    def _read(self) -> np.ndarray | None:
        capture = self._capture
        assert capture is not None, "_read runs only between open() and close()"
        ok, frame = capture.read()
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok and frame is not None else None



@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str


def list_cameras(sysfs: str = "/sys/class/video4linux") -> list[CameraInfo]:
    """Cameras named by Linux's video4linux folder (no device is opened, so this is instant).

    Elsewhere (or when the folder is missing) the list is empty and the user can still type an index.
    """
    cameras = []
    for entry in sorted(glob.glob(os.path.join(sysfs, "video*"))):
        suffix = os.path.basename(entry)[len("video"):]
        if not suffix.isdigit():
            continue
        try:
            name = Path(entry, "name").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            name = ""
        cameras.append(CameraInfo(int(suffix), name or _("Camera {index}").format(index=suffix)))
    return sorted(cameras, key=lambda camera: camera.index)


def probe_cameras(indices: range = range(4)) -> list[CameraInfo]:
    """Cameras that actually open (slow: up to a second per index; run it off the GUI thread)."""
    named = {camera.index: camera.name for camera in list_cameras()}
    found = []
    for index in indices:
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            found.append(CameraInfo(index, named.get(index, _("Camera {index}").format(index=index))))
        capture.release()
    return found


def source_from_choice(kind: str, value: object, width: int = 640, height: int = 480,
                       loop: bool = True) -> FrameSource:
    """The source a picker choice names: ("camera", index), ("video" | "image" | "folder", path), or synthetic
    (value SHAPE_SCENES: random shape scenes; otherwise the orbiting shapes)."""
    if kind == "camera":
        return CameraSource(int(cast("SupportsInt | str", value)), width, height)
    if kind == "video":
        return VideoFileSource(str(value), loop=loop)
    if kind == "image":
        return ImageFileSource(str(value))
    if kind == "folder":
        return ImageFolderSource(str(value))
    if value == SHAPE_SCENES:  # the synthetic source's other preset: shapes a trained detector knows
        from visionlab.core.camera.scene_source import ShapeScenesSource

        return ShapeScenesSource(width, height)
    return SyntheticSource(width, height)
