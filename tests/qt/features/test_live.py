"""Live mode (the camera panel's frame sources through the selected layer, in a thread), snapshots,
checkpoints from the training monitor, and shutdown within 2 s."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from visionlab.core.camera.sources import CameraSource, SyntheticSource, VideoFileSource
from visionlab.qt.features.panel import FeaturesPanel

WAIT_MS = 30_000


@pytest.fixture
def panel(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    widget = FeaturesPanel()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.model_bar.combo.setCurrentText("alexnet")  # the lightest of the lecture's nets on a CPU
    widget.panel_shown()
    qtbot.waitUntil(lambda: widget.view is not None and not widget.jobs.busy, timeout=WAIT_MS)
    yield widget
    widget.shutdown()


def test_live_synthetic_stream_updates_maps_follows_layer_and_snapshots(qtbot, panel) -> None:
    first = panel.view
    panel.live.start(SyntheticSource(160, 120))
    qtbot.waitUntil(lambda: panel.live.worker is not None and panel.live.worker.frames >= 3
                    and panel.view is not first, timeout=WAIT_MS)
    assert "live (Synthetic shapes 160×120)" in panel.model_bar.status.text()
    assert panel.view.activation.shape == (64, 55, 55)
    panel.tree.select("features.3")  # a layer change reaches the running thread
    qtbot.waitUntil(lambda: panel.view.layer == "features.3", timeout=WAIT_MS)
    assert panel.view.activation.shape == (192, 27, 27)
    panel.live.snapshot()
    assert not panel.live.running and not panel.live.snapshot_button.isEnabled()
    frame = panel.live.last_view.input_image
    qtbot.waitUntil(lambda: panel.image is not None and np.array_equal(panel.image, frame), timeout=WAIT_MS)


def no_camera_plugged(monkeypatch) -> None:
    """Every camera index fails to open, as on a machine without one (this one may have a webcam)."""
    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda target, *args: real() if isinstance(target, int)
                        else real(target, *args))  # real(): a capture that is not opened


def test_live_video_file_and_missing_camera(qtbot, panel, tmp_path, monkeypatch) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 80))
    for index in range(6):
        writer.write(np.full((80, 96, 3), index * 40, dtype=np.uint8))
    writer.release()
    panel.live.start(VideoFileSource(path))
    qtbot.waitUntil(lambda: panel.live.worker is not None and panel.live.worker.frames >= 2, timeout=WAIT_MS)
    panel.live.stop()
    no_camera_plugged(monkeypatch)
    panel.live.start(CameraSource(7))  # no camera there: a message, and the panel stays usable
    qtbot.waitUntil(lambda: panel.message.isVisible() and not panel.live.running, timeout=WAIT_MS)
    assert "could not be opened" in panel.message.text()


def test_checkpoint_from_training_monitor_in_the_panel(qtbot, panel, tmp_path) -> None:
    from visionlab.core.training.checkpoint import save_checkpoint
    from visionlab.core.training.models import ModelSpec, build_model

    spec = ModelSpec(name="VGG", width=4, depth=2)
    path = tmp_path / "digits-vgg.pt"
    save_checkpoint(path, build_model(spec, (1, 16, 16), 3), {
        "model": spec.to_dict(), "input_shape": [1, 16, 16], "class_names": ["zero", "one", "two"]})
    panel.open_model(str(path))
    qtbot.waitUntil(lambda: panel.opened.loaded.name.startswith("VGG") and panel.view is not None
                    and panel.view.predictions != [] and not panel.jobs.busy, timeout=WAIT_MS)
    assert panel.model_bar.note.text() == "trained checkpoint"
    assert panel.view.input_image.shape == (16, 16, 3)
    assert panel.predictions.cam_combo.count() == 1 + 3  # "off" + the 3 classes
    assert {p.label for p in panel.view.predictions} == {"zero", "one", "two"}


def test_shutdown_while_streaming_and_computing_is_quick(qtbot, panel) -> None:
    """The live thread streams and a job is really running (a long computation that checks should_stop, as
    the core jobs do) when the window closes: both end within the 2 s budget."""
    import threading

    panel.live.start(SyntheticSource(160, 120))
    qtbot.waitUntil(lambda: panel.live.worker is not None and panel.live.worker.frames >= 1, timeout=WAIT_MS)
    worker = panel.live.worker
    started = threading.Event()

    def long_computation(should_stop) -> None:
        started.set()
        while not should_stop():
            time.sleep(0.01)

    panel.jobs.start("view", long_computation)
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    job_threads = [request.worker for request in panel.jobs._running.values() if request.worker is not None]
    assert panel.jobs.busy and job_threads and not any(thread.isFinished() for thread in job_threads)
    start = time.perf_counter()
    panel.shutdown()
    assert time.perf_counter() - start < 2.0 and worker.isFinished()
    assert all(thread.wait(100) for thread in job_threads)  # the job's thread has ended, not been left behind
