"""The camera pipeline's two endless QThreads; the loops themselves live in core (vision/pipeline.py).

The threads never touch widgets: messages reach the GUI through a signal (a queued connection), and
frames / results through LatestSlots that the panel's timer polls.
"""

from __future__ import annotations

from PySide6.QtCore import QThread, Signal

from visionlab.core.latest import LatestSlot
from visionlab.core.camera.pipeline import (CaptureControl, DetectorHolder, Frame, InferenceResult, capture_loop,
                                            inference_loop)
from visionlab.core.camera.sources import FrameSource
from visionlab.core.camera.stats import PipelineStats


class CaptureWorker(QThread):
    message = Signal(str)

    def __init__(self, source: FrameSource, frames: LatestSlot[Frame], stats: PipelineStats,
                 control: CaptureControl, fps: float | None, parent=None) -> None:
        super().__init__(parent)
        self.source, self.frames, self.stats, self.control, self.fps = source, frames, stats, control, fps
        self.setObjectName("camera-capture")

    def run(self) -> None:
        capture_loop(self.source, self.frames, self.isInterruptionRequested, stats=self.stats, fps=self.fps,
                     control=self.control, on_message=self.message.emit)


class InferenceWorker(QThread):
    message = Signal(str)

    def __init__(self, frames: LatestSlot[Frame], results: LatestSlot[InferenceResult], holder: DetectorHolder,
                 stats: PipelineStats, parent=None) -> None:
        super().__init__(parent)
        self.frames, self.results, self.holder, self.stats = frames, results, holder, stats
        self.setObjectName("camera-inference")

    def run(self) -> None:
        inference_loop(self.frames, self.results, self.holder, self.isInterruptionRequested, stats=self.stats,
                       on_message=self.message.emit)
