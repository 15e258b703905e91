"""The one place that starts, switches and stops the camera's two loops (capture → inference).

`Pipeline` owns the two LatestSlots, the stats, the pause control and the model holder, and runs
`capture_loop` and `inference_loop` (pipeline.py) on threads made by a `spawn` function. The app passes
a spawn that makes QThreads (qt/camera/stream.py); `visionlab bench camera --no-gui`, the soak bench and
the tests use plain Python threads (`ThreadedPipeline`). So the benchmark measures the wiring the app runs.

Stopping never waits without a bound: a thread still busy after its share of the timeout (a camera driver
stuck in read(), a forward pass of several seconds) is *retired*: kept in `retired`, asked to stop, and
left to end on its own. It writes only into slots that are already closed, so its result is dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from visionlab.core.camera.pipeline import (
    CaptureControl,
    DetectorHolder,
    Frame,
    InferenceResult,
    capture_loop,
    inference_loop,
)
from visionlab.core.camera.sources import FrameSource
from visionlab.core.camera.stats import PipelineStats
from visionlab.core.latest import LatestSlot

Loop = Callable[[Callable[[], bool]], None]  # a loop body, given its should_stop


class LoopThread(Protocol):
    """What the pipeline needs of a thread, whatever makes it (threading or QThread)."""

    def start(self) -> None: ...
    def request_stop(self) -> None: ...
    def join(self, timeout_s: float) -> bool: ...  # True when the thread has ended
    def is_alive(self) -> bool: ...


Spawn = Callable[[str, Loop], LoopThread]


class PythonLoopThread:
    """A daemon `threading.Thread` running one loop until `request_stop`."""

    def __init__(self, name: str, loop: Loop) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=loop, args=(self._stop.is_set,), name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float) -> bool:
        self._thread.join(max(0.0, timeout_s))
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()


class Pipeline:
    """Capture and inference threads joined by LatestSlots; the source and the model switch while running."""

    def __init__(self, spawn: Spawn = PythonLoopThread, *, history: int = 300,
                 on_message: Callable[[str], None] | None = None,
                 on_fallback: Callable[[FrameSource], None] | None = None) -> None:
        self.spawn = spawn
        self.history = history  # samples of latency / frame age kept (benchmarks ask for more)
        self.on_message = on_message or (lambda text: None)
        self.on_fallback = on_fallback or (lambda source: None)  # called on the capture thread
        self.holder = DetectorHolder()
        self.control = CaptureControl()
        self.stats = PipelineStats(history)
        self.frames: LatestSlot[Frame] = LatestSlot()
        self.results: LatestSlot[InferenceResult] = LatestSlot()
        self.source: FrameSource | None = None
        self._pace: float | None = None  # the capture pace of the source streaming now
        self.retired: list[LoopThread] = []
        self._capture: LoopThread | None = None
        self._inference: LoopThread | None = None

    @property
    def running(self) -> bool:
        return self._inference is not None

    @property
    def dropped(self) -> int:
        return self.frames.dropped + self.results.dropped

    def set_detector(self, detector: Any) -> None:
        self.holder.detector = detector  # the inference thread picks it up with the next frame

    def start(self, source: FrameSource, fps: float | None = None) -> None:
        """Stream from `source` (a running pipeline only switches its source; the model keeps running).

        Frames are paced at `fps`, at the source's own rate when None, as fast as possible when 0.
        """
        if not self.running:
            self.frames, self.results, self.stats = LatestSlot(), LatestSlot(), PipelineStats(self.history)
            frames, results, stats = self.frames, self.results, self.stats
            self._inference = self.spawn("camera-inference", lambda should_stop: inference_loop(
                frames, results, self.holder, should_stop, stats=stats, on_message=self.on_message))
            self._inference.start()
        else:
            self.stats.switch_source(self.dropped)  # "dropped" and the capture rate are the new source's
        # A file that fails to open hands back to the source streaming now, if it still streams.
        streaming = self.source if self._capture is not None and self._capture.is_alive() else None
        streaming_pace = self._pace
        if not self._stop_capture(2.0):
            streaming = None  # its thread is still inside read(): the source is not free to reuse
        self.source = source
        pace = self._pace = source.fps if fps is None else fps
        frames, stats = self.frames, self.stats
        self._capture = self.spawn("camera-capture", lambda should_stop: capture_loop(
            source, frames, should_stop, stats=stats, fps=pace, control=self.control, on_message=self.on_message,
            fallback=streaming, fallback_fps=streaming_pace, on_fallback=self._fell_back))
        self._capture.start()

    def _fell_back(self, source: FrameSource) -> None:
        self.source = source
        self.on_fallback(source)

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop both threads within `timeout` seconds (0: do not wait); True when both have ended.

        A thread still running then is retired (a forward pass cannot be interrupted; the loop checks
        `should_stop` right after it). Threads retired earlier get the rest of the same deadline.
        """
        deadline = time.monotonic() + timeout
        for thread in self.threads():
            thread.request_stop()
        self.frames.close()  # wakes a blocked get
        self.results.close()  # a GUI tick still gets the last result: get_nowait ignores closing
        stopped = self._stop_capture(timeout)
        if self._inference is not None:
            stopped = self._join_or_retire(self._inference, deadline) and stopped
            self._inference = None
        for thread in list(self.retired):
            stopped = thread.join(max(0.0, deadline - time.monotonic())) and stopped
        self.retired = [thread for thread in self.retired if thread.is_alive()]
        return stopped

    def threads(self) -> list[LoopThread]:
        return [thread for thread in (self._capture, self._inference) if thread is not None]

    def _stop_capture(self, timeout_s: float) -> bool:
        if self._capture is None:
            return True
        self._capture.request_stop()
        stopped = self._join_or_retire(self._capture, time.monotonic() + timeout_s)
        self._capture = None
        return stopped

    def _join_or_retire(self, thread: LoopThread, deadline: float) -> bool:
        if thread.join(max(0.0, deadline - time.monotonic())):
            return True
        self.retired.append(thread)
        return False


class ThreadedPipeline(Pipeline):
    """A Pipeline on plain Python threads, bound to one source (benchmarks without a GUI, and tests)."""

    def __init__(self, source: FrameSource, detector: Any = None, *, fps: float | None = None,
                 history: int = 300) -> None:
        self.messages: list[str] = []
        super().__init__(PythonLoopThread, history=history, on_message=self.messages.append)
        self.set_detector(detector)
        self._source, self._fps = source, fps or 0.0  # here None means unpaced, as in a benchmark

    def start(self, source: FrameSource | None = None, fps: float | None = None) -> None:
        super().start(source or self._source, self._fps if fps is None else fps)
