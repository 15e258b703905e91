"""CameraStream: the core Pipeline (capture → inference) on two QThreads, its messages as a signal.

The wiring (slots, stats, switching source or model, bounded stops) is `core.camera.stream.Pipeline`, the
same code the no-GUI benchmark runs; this module only supplies the threads. A thread still busy when the
stream stops (a forward pass of several seconds) is retired to `qt.common.threads`: it ends on its own and
can never be destroyed while running. The GUI thread never waits longer than the timeout it passes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from visionlab.core.camera.sources import FrameSource
from visionlab.core.camera.stream import Loop, Pipeline
from visionlab.qt.common import threads

STOP_WAIT_S = 2.0


class LoopQThread(QThread):
    """One pipeline loop on a QThread; `request_stop` is Qt's interruption request."""

    def __init__(self, name: str, loop: Loop) -> None:
        super().__init__()  # no parent: a retired thread must outlive its panel
        self.setObjectName(name)
        self._loop = loop

    def run(self) -> None:
        self._loop(self.isInterruptionRequested)

    def start(self) -> None:  # type: ignore[override]  (the LoopThread protocol takes no priority)
        threads.track(self)
        super().start()

    def request_stop(self) -> None:
        self.requestInterruption()

    def join(self, timeout_s: float) -> bool:
        if self.wait(max(0, int(timeout_s * 1000))):
            return True
        threads.retire(self)
        return False

    def is_alive(self) -> bool:
        return self.isRunning()


class CameraStream(QObject):
    message = Signal(str)
    fell_back = Signal(object)  # the FrameSource streaming again after a newly chosen file failed to open

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # Both signals are emitted from the loop threads; Qt queues them to the GUI thread.
        self.pipeline = Pipeline(LoopQThread, on_message=self.message.emit, on_fallback=self.fell_back.emit)

    # The panel reads these every tick; they change when a stream starts (new slots and stats).
    holder = property(lambda self: self.pipeline.holder)
    control = property(lambda self: self.pipeline.control)
    stats = property(lambda self: self.pipeline.stats)
    frames = property(lambda self: self.pipeline.frames)
    results = property(lambda self: self.pipeline.results)
    source = property(lambda self: self.pipeline.source)
    running = property(lambda self: self.pipeline.running)
    dropped = property(lambda self: self.pipeline.dropped)

    @property
    def history(self) -> int:
        return self.pipeline.history

    @history.setter
    def history(self, samples: int) -> None:
        self.pipeline.history = samples

    def set_detector(self, detector: Any) -> None:
        self.pipeline.set_detector(detector)

    def start(self, source: FrameSource, fps: float | None = None) -> None:
        self.pipeline.start(source, fps)

    def stop(self, wait: bool = True) -> bool:
        """Stop both threads: wait=False (switching panels) returns at once, wait=True waits ≤ 2 s."""
        return self.pipeline.stop(STOP_WAIT_S if wait else 0.0)

    def threads(self) -> list:
        return self.pipeline.threads()
