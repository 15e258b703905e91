"""Recording the annotated stream to a video file, on its own thread (file I/O never runs on the GUI).

Frames go through a LatestSlot like everywhere else in the pipeline: if the disk is slower than the
display, frames are dropped (and counted), never queued. The file is written under a temporary name and
renamed when the recording stops, so a crash never leaves a half-written video under the user's name.

The frame rate in the file is measured from the frames actually written (their count over the time between
the first and the last), not guessed when recording starts: right after a source or model switch the
display rate is not known yet, and a guess of 1 fps made a 15 fps stream play fifteen times too slowly.
The writer starts at the caller's guess; when the measured rate differs, stopping rewrites the file at the
measured rate (a video container fixes its rate in its header).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from visionlab.core.i18n import _
from visionlab.core.latest import LatestSlot, SlotClosed

CODECS = {".avi": "MJPG", ".mp4": "mp4v"}  # the pairs that round-trip through OpenCV here (not H.264)
FPS_RANGE = (0.1, 120.0)  # a slide show or a 3 s-a-frame Mask R-CNN up to a fast camera
RETIME_TOLERANCE = 0.03  # a measured rate this close to the header's is left as it is


def save_png(path: str | os.PathLike, image_rgb: np.ndarray) -> Path:
    """Write one annotated frame as PNG, atomically (run from a JobWorker, not the GUI thread)."""
    from visionlab.core.atomic import write_bytes

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(_("OpenCV could not encode the frame as PNG"))
    write_bytes(path, encoded.tobytes())
    return Path(path)


class VideoRecorder:
    """Annotated frames to .avi (MJPG) or .mp4 (mp4v) on a writer thread; `fps` is only the first guess."""

    def __init__(self, path: str | os.PathLike, fps: float = 15.0) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            raise ValueError(_("record to .avi (MJPG) or .mp4 (mp4v), not '{suffix}'").format(
                suffix=suffix or self.path.name))
        self.fps = _clamp_fps(fps)  # the rate in the file's header; the measured one once stopped
        self._temp = self.path.with_name(f".{self.path.stem}.recording{suffix}")
        self._slot: LatestSlot[tuple[np.ndarray, float]] = LatestSlot()
        self._writer: cv2.VideoWriter | None = None
        self._size = (0, 0)
        self._first_s = self._last_s = 0.0  # when the first and the last written frame were put
        self.written = 0
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    @property
    def measured_fps(self) -> float | None:
        """Frames written per second of recording, from their own times (None before the second frame)."""
        if self.written < 2 or self._last_s <= self._first_s:
            return None
        return (self.written - 1) / (self._last_s - self._first_s)

    def put(self, image_rgb: np.ndarray, timestamp: float | None = None) -> None:
        """Record this frame; `timestamp` (perf_counter) is when it was shown, now when omitted."""
        self._slot.put((image_rgb, time.perf_counter() if timestamp is None else timestamp))

    def _run(self) -> None:
        while True:
            try:
                item = self._slot.get(timeout=0.5)
            except SlotClosed:
                return
            if item is None or self.error:
                continue
            image, timestamp = item
            if self._writer is None and not self._open_writer(image):
                continue
            if (image.shape[1], image.shape[0]) != self._size:  # a source switch changed the size
                image = cv2.resize(image, self._size)
            assert self._writer is not None
            self._writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            if not self.written:
                self._first_s = timestamp
            self._last_s = timestamp
            self.written += 1

    def _open_writer(self, image: np.ndarray) -> bool:
        height, width = image.shape[:2]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._size = (width, height)
        self._writer = _video_writer(self._temp, self.fps, self._size)
        if not self._writer.isOpened():
            self.error = _("OpenCV cannot write {name} here (codec or folder not writable).").format(
                name=self.path.name)
            return False
        return True

    def stop(self, timeout: float = 2.0) -> Path | None:
        """Finish the file at the measured rate; its path, or None when nothing was recorded (or it failed)."""
        self._slot.close()
        self._thread.join(timeout)
        if self._writer is not None:
            self._writer.release()
        if self.written and not self.error:
            measured = self.measured_fps
            if measured is not None and abs(measured - self.fps) > RETIME_TOLERANCE * self.fps:
                self._retime(_clamp_fps(measured))
            os.replace(self._temp, self.path)
            return self.path
        self._temp.unlink(missing_ok=True)
        return None

    def _retime(self, fps: float) -> None:
        """Copy the temporary file's frames into a new one whose header says `fps` (then it replaces it)."""
        retimed = self._temp.with_name(f".{self.path.stem}.retimed{self._temp.suffix}")
        capture, writer = cv2.VideoCapture(str(self._temp)), _video_writer(retimed, fps, self._size)
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                writer.write(frame)
        finally:
            capture.release()
            writer.release()
        os.replace(retimed, self._temp)
        self.fps = fps


def _clamp_fps(fps: float) -> float:
    return min(FPS_RANGE[1], max(FPS_RANGE[0], fps))


def _video_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    return cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*CODECS[path.suffix.lower()]), fps, size)
