"""Recording the annotated stream to a video file, on its own thread (file I/O never runs on the GUI).

Frames go through a LatestSlot like everywhere else in the pipeline: if the disk is slower than the
display, frames are dropped (and counted), never queued. The file is written under a temporary name and
renamed when the recording stops, so a crash never leaves a half-written video under the user's name.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from visionlab.core.latest import LatestSlot, SlotClosed

CODECS = {".avi": "MJPG", ".mp4": "mp4v"}  # the pairs that round-trip through OpenCV here (not H.264)


def save_png(path: str | os.PathLike, image_rgb: np.ndarray) -> Path:
    """Write one annotated frame as PNG, atomically (run from a JobWorker, not the GUI thread)."""
    from visionlab.core.atomic import write_bytes

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("OpenCV could not encode the frame as PNG")
    write_bytes(path, encoded.tobytes())
    return Path(path)


class VideoRecorder:
    def __init__(self, path: str | os.PathLike, fps: float) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            raise ValueError(f"record to .avi (MJPG) or .mp4 (mp4v), not '{suffix or self.path.name}'")
        self.fps = min(60.0, max(1.0, fps))
        self._temp = self.path.with_name(f".{self.path.stem}.recording{suffix}")
        self._slot: LatestSlot[np.ndarray] = LatestSlot()
        self._writer: cv2.VideoWriter | None = None
        self.written = 0
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def put(self, image_rgb: np.ndarray) -> None:
        self._slot.put(image_rgb)

    def _run(self) -> None:
        while True:
            try:
                image = self._slot.get(timeout=0.5)
            except SlotClosed:
                return
            if image is None or self.error:
                continue
            if self._writer is None:
                height, width = image.shape[:2]
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = cv2.VideoWriter(str(self._temp), cv2.VideoWriter.fourcc(*CODECS[self._temp.suffix]),
                                               self.fps, (width, height))
                if not self._writer.isOpened():
                    self.error = f"OpenCV cannot write {self.path.name} here (codec or folder not writable)."
                    continue
                self._size = (width, height)
            if (image.shape[1], image.shape[0]) != self._size:  # a source switch changed the size
                image = cv2.resize(image, self._size)
            self._writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            self.written += 1

    def stop(self, timeout: float = 2.0) -> Path | None:
        """Finish the file; returns its path, or None when nothing was recorded (or it failed)."""
        self._slot.close()
        self._thread.join(timeout)
        if self._writer is not None:
            self._writer.release()
        if self.written and not self.error:
            os.replace(self._temp, self.path)
            return self.path
        self._temp.unlink(missing_ok=True)
        return None
