"""Live numbers of the camera pipeline: rates, latency, frame age, dropped frames and per-stage times.

Written from three threads (capture, inference, GUI) and read by the GUI, so every update takes a lock;
all windows are bounded (deque maxlen), so the stats never grow during a long session.
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

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        with self._lock:
            recent = [t for t in self._times if now - t <= self.window_s]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], recent[-1] - recent[0])
        return (len(recent) - 1) / span if span > 0 else 0.0


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

    def record_inference(self, result: Any) -> None:
        self.inference.tick()
        with self._lock:
            self.frame_age_s.append(result.started - result.frame.timestamp)
            for stage, seconds in result.timings_s.items():
                self.stage_s[stage].append(seconds)

    def record_display(self, result: Any, draw_s: float, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        self.display.tick(now)
        with self._lock:
            self.latency_s.append(now - result.frame.timestamp)
            self._recent_latency.append((now, now - result.frame.timestamp))
            self.stage_s["draw"].append(draw_s)

    def stage_ms(self) -> dict[str, float]:
        """Median milliseconds of each stage over the last 30 frames (0 when not measured yet)."""
        with self._lock:
            return {stage: float(np.median(values)) * 1000 if values else 0.0
                    for stage, values in self.stage_s.items()}

    def snapshot(self, dropped: int = 0) -> dict[str, float]:
        now = time.perf_counter()
        with self._lock:  # the last 2 s, like the rates: a model switch shows at once
            latency = [value for shown, value in self._recent_latency if now - shown <= self.display.window_s]
        return {
            "capture_fps": self.capture.rate(),
            "inference_fps": self.inference.rate(),
            "display_fps": self.display.rate(),
            "latency_ms": percentile_ms(latency, 50),
            "dropped": dropped,
        }
