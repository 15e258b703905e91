"""The live pipeline: capture loop -> LatestSlot -> inference loop -> LatestSlot -> whoever draws.

The two loops are plain functions taking `should_stop`; `stream.Pipeline` runs them, on QThreads in the
app and on Python threads in `visionlab bench camera --no-gui` and the tests. Stale frames are dropped
(LatestSlot), never queued, and every result carries the frame it was computed on, so boxes always match
the picture they are drawn on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from visionlab.core.camera.overlay import Detections
from visionlab.core.camera.sources import FrameSource, SourceError
from visionlab.core.camera.stats import PipelineStats
from visionlab.core.i18n import _
from visionlab.core.latest import LatestSlot, SlotClosed

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)  # backoff for a camera that went away; the last one repeats
Messenger = Callable[[str], None]


@dataclass
class Frame:
    image: np.ndarray  # H×W×3 uint8 RGB
    timestamp: float  # time.perf_counter() when captured
    index: int


@dataclass
class InferenceResult:
    frame: Frame
    detections: Detections | None  # None: no model loaded (the raw frame is shown)
    model_name: str = ""
    started: float = 0.0  # perf_counter when inference began on the frame
    timings_s: dict[str, float] = field(default_factory=dict)  # preprocess / model / postprocess


class CaptureControl:
    """Pause and single-step, shared between the GUI and the capture loop."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._steps = 0

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        with self._cond:
            self._paused, self._steps = paused, 0
            self._cond.notify_all()

    def step(self) -> None:
        """Let exactly one more frame through while paused."""
        with self._cond:
            self._steps += 1
            self._cond.notify_all()

    def may_capture(self, timeout: float = 0.05) -> bool:
        with self._cond:
            if self._paused and self._steps == 0:
                self._cond.wait(timeout)
            if not self._paused:
                return True
            if self._steps:
                self._steps -= 1
                return True
            return False


class DetectorHolder:
    """The model the inference loop uses; the GUI swaps it while streaming (picked up at the next frame)."""

    def __init__(self, detector: Any = None) -> None:
        self.detector = detector


def _interruptible_sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.perf_counter() + seconds
    while not should_stop() and (remaining := deadline - time.perf_counter()) > 0:
        time.sleep(min(remaining, 0.05))


def capture_loop(source: FrameSource, frames: LatestSlot[Frame], should_stop: Callable[[], bool], *,
                 stats: PipelineStats | None = None, fps: float | None = None,
                 control: CaptureControl | None = None, on_message: Messenger = lambda text: None,
                 fallback: FrameSource | None = None, fallback_fps: float | None = None,
                 on_fallback: Callable[[FrameSource], None] = lambda source: None) -> None:
    """Read frames into `frames` until stopped; a camera that fails is reopened with growing delays.

    Nothing a source raises ends this thread with a traceback: a SourceError is the user's sentence, any
    other error (a driver, a decoder) becomes one too, and both are one WARNING line in the log. A file
    source that fails before its first frame hands over to `fallback` (the source that was streaming, paced
    at `fallback_fps`, so the picture does not freeze; `on_fallback` is told); otherwise a file source's
    failure ends the stream
    with that message, and a camera is retried.
    """
    index, failures, next_due = 0, 0, time.perf_counter()
    try:
        while not should_stop():
            if control is not None and not control.may_capture():
                continue
            try:
                if not source.is_open:
                    source.open()
                ok, image, timestamp = source.read()
            except Exception as exc:  # any error is reported as a sentence; the loop decides what follows
                reason = _failure_sentence(source, exc)
                _pass_notes(source, on_message)
                if not source.live and fallback is not None and index == 0:
                    on_message(_("{reason}. Back to {source}.").format(reason=reason.rstrip("."),
                                                                       source=fallback.description))
                    source.close()
                    source, fallback, fps = fallback, None, fallback_fps
                    on_fallback(source)
                    continue
                if not source.live:
                    on_message(reason)
                    return
                source.close()
                failures = _wait_before_retry(reason, failures, should_stop, on_message)
                continue
            _pass_notes(source, on_message)
            if not ok or image is None:
                if not source.live:
                    on_message(_("{source}: end of the stream.").format(source=source.description))
                    return
                source.close()
                failures = _wait_before_retry(_("{source} stopped delivering frames.").format(
                    source=source.description), failures, should_stop, on_message)
                continue
            if failures:
                on_message(_("{source} is back.").format(source=source.description))
                failures = 0
            frames.put(Frame(image, timestamp, index))
            index += 1
            if stats is not None:
                stats.capture.tick(timestamp)
            if fps:  # pace like a real camera; when late, do not try to catch up
                next_due = max(next_due + 1.0 / fps, time.perf_counter())
                _interruptible_sleep(next_due - time.perf_counter(), should_stop)
    finally:
        source.close()


def _failure_sentence(source: FrameSource, exc: Exception) -> str:
    if isinstance(exc, SourceError):
        return str(exc)
    detail = " ".join(str(exc).split())[:200]  # OpenCV's messages span lines; one log line, one status line
    log.warning("%s failed: %s: %s", source.description, type(exc).__name__, detail)
    return _("{source} failed: {error}").format(source=source.description, error=f"{type(exc).__name__}: {detail}")


def _pass_notes(source: FrameSource, on_message: Messenger) -> None:
    for note in source.take_notes():
        on_message(note)


def _wait_before_retry(reason: str, failures: int, should_stop: Callable[[], bool], on_message: Messenger) -> int:
    delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S) - 1)]
    on_message(_("{reason} Retrying in {delay:g} s (attempt {attempt}).").format(reason=reason, delay=delay,
                                                                               attempt=failures + 1))
    _interruptible_sleep(delay, should_stop)
    return failures + 1


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def infer_once(detector: Any, frame: Frame) -> InferenceResult:
    """Preprocess, forward and postprocess one frame, timing each stage."""
    started = time.perf_counter()
    inputs = detector.preprocess(frame.image)
    after_pre = time.perf_counter()
    raw = detector.forward(inputs)
    after_model = time.perf_counter()
    detections = detector.postprocess(raw, frame.image.shape)  # copies to the CPU, so the GPU is done here
    done = time.perf_counter()
    return InferenceResult(frame, detections, detector.name, started, {
        "preprocess": after_pre - started, "model": after_model - after_pre, "postprocess": done - after_model})


def inference_loop(frames: LatestSlot[Frame], results: LatestSlot[InferenceResult], holder: DetectorHolder,
                   should_stop: Callable[[], bool], *, stats: PipelineStats | None = None,
                   on_message: Messenger = lambda text: None) -> None:
    """Run the current detector on the newest frame, forever; results carry their frame."""
    failed_detector = None
    with torch.inference_mode():  # thread-local: it must be entered inside the worker thread
        while not should_stop():
            try:
                frame = frames.get(timeout=0.1)
            except SlotClosed:
                return
            if frame is None:
                continue
            detector = holder.detector
            if detector is None or detector is failed_detector:
                results.put(InferenceResult(frame, None, started=time.perf_counter()))
                continue
            try:
                result = infer_once(detector, frame)
            except Exception as exc:  # shown to the user; the stream goes on with raw frames
                if getattr(detector, "device", None) is not None and detector.device.type == "cuda" \
                        and is_out_of_memory(exc):
                    detector.to("cpu")
                    torch.cuda.empty_cache()
                    on_message(_("The GPU ran out of memory: the model now runs on the CPU."))
                    continue
                failed_detector = detector
                on_message(_("{model} failed on a frame: {error}").format(model=detector.name,
                                                                         error=f"{type(exc).__name__}: {exc}"))
                continue
            if stats is not None:
                stats.record_inference(result)
            results.put(result)
