"""CameraStream: owns the capture and inference threads and the two LatestSlots between them.

The panel asks it to start, switch source, swap the model or stop; it never blocks the GUI for longer
than a thread takes to notice its interruption (a capture read, or the forward pass in progress).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from visionlab.core.latest import LatestSlot
from visionlab.core.camera.pipeline import CaptureControl, DetectorHolder, Frame, InferenceResult
from visionlab.core.camera.sources import FrameSource
from visionlab.core.camera.stats import PipelineStats
from visionlab.qt.camera.stream_threads import CaptureWorker, InferenceWorker

STOP_WAIT_MS = 2000


class CameraStream(QObject):
    message = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.holder = DetectorHolder()
        self.control = CaptureControl()
        self.history = 300  # samples of latency / frame age kept (benchmarks ask for more)
        self.stats = PipelineStats()
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.results: LatestSlot[InferenceResult] = LatestSlot()
        self.source: FrameSource | None = None
        self._capture: CaptureWorker | None = None
        self._inference: InferenceWorker | None = None
        self._retired: list[CaptureWorker | InferenceWorker] = []

    @property
    def running(self) -> bool:
        return self._inference is not None

    @property
    def dropped(self) -> int:
        return self.frames.dropped + self.results.dropped

    def set_detector(self, detector: Any) -> None:
        self.holder.detector = detector  # the inference thread picks it up with the next frame

    def start(self, source: FrameSource, fps: float | None = None) -> None:
        """Start streaming from `source` (a running stream only switches its source)."""
        if not self.running:
            self.frames, self.results, self.stats = LatestSlot(), LatestSlot(), PipelineStats(self.history)
            self._inference = InferenceWorker(self.frames, self.results, self.holder, self.stats)
            self._inference.message.connect(self.message)
            self._inference.start()
        self._stop_capture()
        self.source = source
        self._capture = CaptureWorker(source, self.frames, self.stats, self.control,
                                      source.fps if fps is None else fps)
        self._capture.message.connect(self.message)
        self._capture.start()

    def _stop_capture(self) -> bool:
        if self._capture is None:
            return True
        self._capture.requestInterruption()
        stopped = self._capture.wait(STOP_WAIT_MS)
        if not stopped:  # a camera driver stuck in read(): keep the thread referenced until it returns
            self._retired.append(self._capture)
        self._capture = None
        return stopped

    def stop(self, wait: bool = True) -> bool:
        """Stop both threads; True when both ended within 2 s each.

        wait=False (switching panels) returns at once: threads still finishing a forward pass are kept
        referenced and end on their own, so the GUI never freezes for a slow model. wait=True (closing)
        waits 2 s, or for the end of the forward pass in progress when the model is slower than that.
        """
        if self._inference is not None:
            self._inference.requestInterruption()
        if self._capture is not None:
            self._capture.requestInterruption()
        self.frames.close()
        self.results.close()  # a GUI tick still gets the last result: get_nowait ignores closing
        if not wait:
            self._retired += self.threads()
            self._capture = self._inference = None
            self._retired = [thread for thread in self._retired if thread.isRunning()]
            return not self._retired
        stopped = self._stop_capture()
        if self._inference is not None:
            stopped = self._inference.wait(STOP_WAIT_MS) and stopped
            if not stopped:
                # A model slower than 2 s per frame: a forward pass cannot be interrupted, so wait for its
                # end (the loop checks the interruption right after it). Never terminate() a thread.
                self._inference.wait()
            self._inference = None
        for thread in self._retired:  # left by an earlier stop(wait=False) or a stuck camera
            stopped = thread.wait(STOP_WAIT_MS) and stopped
            if thread.isRunning() and isinstance(thread, InferenceWorker):
                thread.wait()
        self._retired = [thread for thread in self._retired if thread.isRunning()]
        return stopped

    def threads(self) -> list:
        return [thread for thread in (self._capture, self._inference) if thread is not None]
