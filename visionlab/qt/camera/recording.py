"""Snapshots and recordings of the annotated stream; every write happens off the GUI thread.

A snapshot is a job of the panel's JobRunner writing a PNG atomically; a recording is a core VideoRecorder
(its own thread behind a LatestSlot) whose file is finished by a job, so the GUI never waits on the disk.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from PySide6.QtCore import QObject, Signal

from visionlab.core import paths
from visionlab.core.camera.recorder import VideoRecorder, save_png
from visionlab.core.i18n import _
from visionlab.qt.common.jobs import JobRunner


class CameraRecording(QObject):
    message = Signal(str)

    def __init__(self, jobs: JobRunner, parent=None) -> None:
        super().__init__(parent)
        self.recorder: VideoRecorder | None = None
        self.jobs = jobs

    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def snapshot(self, image: np.ndarray | None) -> None:
        if image is None:
            self.message.emit(_("Nothing to save yet: no frame has been shown."))
            return
        path = paths.subdir("snapshots") / f"camera-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
        # One kind per file: quick snapshots are all written, none replaces another.
        self.jobs.start(f"snapshot {path.name}", save_png, path, image,
                        on_done=lambda saved: self.message.emit(_("Snapshot saved: {path}").format(path=saved)),
                        on_error=lambda text: self.message.emit(_("Snapshot failed: {reason}").format(reason=text)))

    def start(self, suffix: str, fps: float) -> None:
        """Record what the panel draws from now on to .avi or .mp4; `fps` (the display rate now) is only a
        first guess: the file gets the rate measured from the frames recorded."""
        if self.recorder is None:
            path = paths.subdir("recordings") / f"camera-{datetime.now():%Y%m%d-%H%M%S}{suffix}"
            self.recorder = VideoRecorder(path, fps)
            self.message.emit(_("Recording to {path}… (its frame rate is measured from the frames recorded)").format(
                path=path))

    def put(self, image: np.ndarray) -> None:
        if self.recorder is not None:
            self.recorder.put(image)

    def stop(self) -> None:
        if self.recorder is None:
            return
        recorder, self.recorder = self.recorder, None
        self.jobs.start(f"finish {recorder.path.name}", recorder.stop,
                        on_done=lambda path: self._finished(path, recorder))

    def _finished(self, path, recorder: VideoRecorder) -> None:
        if path is None:
            self.message.emit(recorder.error or _("Recording stopped before any frame was shown: no file written."))
        else:
            self.message.emit(_("Recorded {count} frames at {fps:.1f} fps (as shown) to {path} ({dropped} "
                                "dropped).").format(count=recorder.written, fps=recorder.fps, path=path,
                                                    dropped=recorder.dropped))

    def shutdown(self) -> None:
        """Finish a recording in progress (as a job: the panel's runner bounds the wait for it)."""
        self.stop()
