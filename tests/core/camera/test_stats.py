"""The pipeline's numbers belong to one model: a switch forgets the previous model's times and rates."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import pytest

from visionlab.core.camera.stats import PipelineStats


def result(model: str, seconds: float, captured: float = 0.0):
    frame = SimpleNamespace(timestamp=captured)
    return SimpleNamespace(model_name=model, frame=frame, started=captured + 0.01,
                           timings_s={"preprocess": 0.0, "model": seconds, "postprocess": 0.0})


def test_a_switch_forgets_the_previous_models_numbers():
    stats = PipelineStats()
    for _ in range(5):
        stats.record_inference(result("fast", 0.0808))
    assert stats.model_fps() == pytest.approx(1 / 0.0808)
    stats.switch_model("slow")
    assert stats.stage_ms() == {} and stats.model_fps() is None
    assert math.isnan(stats.inference.rate())  # not measured yet, never the fast model's rate
    stats.record_inference(result("fast", 0.0808))  # the fast model's last frame, finished after the switch
    assert stats.stage_ms() == {}
    stats.record_inference(result("slow", 3.06))
    assert stats.stage_ms()["model"] == pytest.approx(3060)
    assert stats.model_fps() == pytest.approx(1 / 3.06)


def test_a_model_slower_than_the_window_still_has_a_rate():
    stats = PipelineStats()
    stats.inference.tick(0.0)
    stats.inference.tick(3.06)  # Mask R-CNN on a CPU: one frame every 3.06 s, slower than the 2 s window
    assert stats.inference.rate(now=4.0) == pytest.approx(1 / 3.06)
    assert stats.inference.rate(now=10.0) == pytest.approx(1 / (10.0 - 3.06))  # a stalled stream decays


def test_dropped_frames_count_from_the_last_model_or_source_switch():
    stats = PipelineStats()
    assert stats.snapshot(dropped=1310)["dropped"] == 1310
    stats.switch_model("hog_people", dropped=1310)  # the slots' own count keeps growing across switches
    assert stats.snapshot(dropped=1312)["dropped"] == 2
    stats.capture.tick(0.0)
    stats.capture.tick(0.1)
    stats.switch_source(dropped=1400)
    assert stats.snapshot(dropped=1400)["dropped"] == 0 and stats.capture.count == 0


def test_a_running_pipeline_that_switches_source_starts_its_drops_afresh():
    from visionlab.core.camera.sources import SyntheticSource
    from visionlab.core.camera.stream import Pipeline

    pipeline = Pipeline()  # Python threads; nobody takes the results, so they drop
    pipeline.start(SyntheticSource(64, 48), fps=0)
    try:
        deadline = time.monotonic() + 10
        while pipeline.dropped < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = pipeline.dropped
        assert before >= 5
        pipeline.start(SyntheticSource(48, 32), fps=0)
        # The new source keeps dropping (nobody takes results), so compare with the total rather than a
        # small constant: what is shown must leave out at least every drop counted before the switch.
        total = pipeline.dropped
        shown = pipeline.stats.snapshot(total)["dropped"]
        assert 0 <= shown and total - shown >= before
    finally:
        pipeline.stop(2.0)
