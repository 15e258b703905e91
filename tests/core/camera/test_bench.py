"""`visionlab bench camera` without Qt prints the keys the issue names (a short classical-model run)."""

from __future__ import annotations

import pytest

from visionlab.bench import camera_bench

KEYS = {"bare_fps", "pipeline_fps", "ratio", "latency_p50_ms", "latency_p99_ms", "frame_age_p99_ms",
        "dropped_frames", "gui_stall_p99_ms", "weights", "display_cap_fps"}


def test_camera_bench_without_gui_reports_every_key():
    result = camera_bench.main(["--model", "haar_face", "--frames", "4", "--repeats", "1", "--no-gui",
                                "--size", "160x120"])
    assert KEYS <= set(result)
    assert result["gui"] == "none" and result["gui_stall_p99_ms"] is None
    assert result["bare_fps"] > 0 and result["pipeline_fps"] > 0
    assert result["latency_p50_ms"] <= result["latency_p99_ms"]
    assert result["frame_age_p99_ms"] < 1000 / camera_bench.CAMERA_FPS * 3  # latest-frame-wins, no backlog
    # pipeline_fps counts frames drawn, not inferences: the face cascade on 160×120 computes far more
    # frames a second than a 30 Hz consumer can draw.
    assert result["bare_fps"] > 2 * camera_bench.DISPLAY_CAP_FPS
    assert result["pipeline_fps"] <= camera_bench.DISPLAY_CAP_FPS * 1.1


def test_bad_size_is_a_clear_error():
    with pytest.raises(ValueError, match="640x480"):
        camera_bench.main(["--size", "big"])
