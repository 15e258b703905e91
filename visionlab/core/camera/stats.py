"""Live numbers of the camera pipeline: rates, latency, frame age, dropped frames and per-stage times.

Written from three threads (capture, inference, GUI) and read by the GUI, so every update takes a lock;
all windows are bounded (deque maxlen), so the stats never grow during a long session.

The model's numbers (inference rate, stage times, frame age, latency) belong to one model: `switch_model`
empties them, and results of the previous model still in flight are not counted, so a slow model is
never shown with a fast one's medians (or the other way round).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import numpy as np

STAGES = ("preprocess", "model", "postprocess", "draw")


class RateMeter:
    """Events per second over the last `window_s` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque(maxlen=2000)
        self._lock = threading.Lock()
        self.count = 0

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            self._times.append(time.perf_counter() if now is None else now)
            self.count += 1

    def last(self) -> float | None:
        """When the latest event happened (perf_counter), None before the first."""
        with self._lock:
            return self._times[-1] if self._times else None

    def reset(self) -> None:
        with self._lock:
            self._times.clear()
            self.count = 0

    def rate(self, now: float | None = None) -> float:
        """NaN until two events arrived. A model slower than the window (Mask R-CNN on a CPU: ≈3 s a frame)
        is measured over its last interval, and a stream that stopped decays as 1 / (time since the last)."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            recent = [t for t in self._times if now - t <= self.window_s]
            last_two = list(self._times)[-2:]
        if len(recent) >= 2:
            span = max(now - recent[0], recent[-1] - recent[0])
            return (len(recent) - 1) / span if span > 0 else 0.0
        if len(last_two) < 2:
            return float("nan")
        interval = max(last_two[1] - last_two[0], now - last_two[1])
        return 1.0 / interval if interval > 0 else 0.0


def percentile_ms(values_s: list[float] | deque, q: float) -> float:
    return float(np.percentile(np.asarray(values_s, np.float64), q) * 1000) if len(values_s) else float("nan")


class PipelineStats:
    def __init__(self, history: int = 300) -> None:
        self.capture = RateMeter()
        self.inference = RateMeter()
        self.display = RateMeter()
        self._lock = threading.Lock()
        self.latency_s: deque[float] = deque(maxlen=history)  # capture -> on screen
        self.frame_age_s: deque[float] = deque(maxlen=history)  # capture -> inference starts
        self.stage_s: dict[str, deque[float]] = {stage: deque(maxlen=30) for stage in STAGES}
        self._recent_latency: deque[tuple[float, float]] = deque(maxlen=300)  # (shown at, latency)
        self.model_name: str | None = None  # whose numbers these are (None: the first result's model)
        self.painted = 0  # results that reached the screen (counted by whoever paints them)
        self._dropped_before = 0  # the slots' drop count when the current model or source began

    def switch_model(self, name: str, dropped: int = 0) -> None:
        """A new model runs from now on: forget every number the previous one left (`dropped`: the slots'
        drop count now, so "dropped" counts this model's drops only)."""
        self.inference.reset()
        with self._lock:
            self._dropped_before = dropped
            self.model_name = name
            self.frame_age_s.clear()
            self.latency_s.clear()
            self._recent_latency.clear()
            for values in self.stage_s.values():
                values.clear()

    def switch_source(self, dropped: int) -> None:
        """Another source streams from now on: its capture rate and its drops start from zero."""
        self.capture.reset()
        with self._lock:
            self._dropped_before = dropped

    def _counts(self, result: Any) -> bool:
        """True when `result` is the current model's (adopting the first model seen); call with the lock."""
        if self.model_name is None:
            self.model_name = result.model_name
        return bool(result.model_name == self.model_name)

    def record_inference(self, result: Any) -> None:
        with self._lock:
            if not self._counts(result):
                return  # the previous model's last frame, finished after the switch
            self.frame_age_s.append(result.started - result.frame.timestamp)
            for stage, seconds in result.timings_s.items():
                self.stage_s[stage].append(seconds)
        self.inference.tick()

    def record_display(self, result: Any, draw_s: float, now: float | None = None) -> None:
        """A result was painted `now` (call it after the paint: the latency runs to the screen)."""
        now = time.perf_counter() if now is None else now
        self.display.tick(now)
        with self._lock:
            self.painted += 1
            self.stage_s["draw"].append(draw_s)
            if self._counts(result):
                self.latency_s.append(now - result.frame.timestamp)
                self._recent_latency.append((now, now - result.frame.timestamp))

    def stage_ms(self) -> dict[str, float]:
        """Median milliseconds of each stage over the last 30 frames of the current model (only the stages
        measured since the last switch: a missing key means "not measured yet", never a stale number)."""
        with self._lock:
            return {stage: float(np.median(values)) * 1000 for stage, values in self.stage_s.items() if values}

    def model_fps(self) -> float | None:
        """What the current model alone sustains, 1 / (preprocess + model + postprocess), or None."""
        stages = self.stage_ms()
        if not all(stage in stages for stage in STAGES[:3]):
            return None
        total = sum(stages[stage] for stage in STAGES[:3])
        return 1000.0 / total if total > 0 else None

    def snapshot(self, dropped: int = 0) -> dict[str, float]:
        now = time.perf_counter()
        with self._lock:  # the last 2 s, like the rates: a model switch shows at once
            latency = [value for shown, value in self._recent_latency if now - shown <= self.display.window_s]
        return {
            "capture_fps": self.capture.rate(),
            "inference_fps": self.inference.rate(),
            "display_fps": self.display.rate(),
            "latency_ms": percentile_ms(latency, 50),
            "dropped": max(0, dropped - self._dropped_before),
            "inferences": float(self.inference.count),  # of the current model: 1 has a time but no rate yet
        }
