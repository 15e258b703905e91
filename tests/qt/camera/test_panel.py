"""The Live Camera panel as a user meets it: streaming with overlays, controls, sources, shutdown."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from visionlab.core.camera.detectors import CPU_DEFAULTS
from visionlab.core.camera.overlay import render_overlay
from visionlab.core.camera.sources import SyntheticSource
from visionlab.core.weights.store import WeightsStore
from visionlab.qt.camera.panel import CameraPanel


@pytest.fixture
def panel(open_panel, tmp_path):
    return open_panel(CameraPanel(store=WeightsStore(cache_dir=tmp_path / "weights")), show=False)


def start(panel, qtbot, model):
    panel.select_model(model)
    panel.show()
    panel.panel_shown()
    qtbot.waitUntil(lambda: panel.detector is not None and panel.detector.name == model, timeout=30000)
    qtbot.waitUntil(lambda: panel.last_result is not None and panel.last_result.detections is not None,
                    timeout=30000)


def shown_image(panel):
    return panel.view.image_item.image


def test_streams_the_default_detector_with_boxes_and_numbers(panel, qtbot):
    panel.controls.threshold_slider.setValue(0)
    start(panel, qtbot, CPU_DEFAULTS["detection"])
    qtbot.waitUntil(lambda: panel.stream.stats.display.count >= 2, timeout=30000)
    result = panel.last_result
    assert len(result.detections) > 0  # random-init scores are tiny, but the threshold is 0
    expected = render_overlay(result.frame.image, result.detections, panel.controls.overlay_options())
    assert np.array_equal(shown_image(panel), expected)
    assert not np.array_equal(expected, result.frame.image)  # boxes were drawn
    assert "random-init" in panel.controls.model_status.text()
    assert panel.weights_bar.isVisible() and "random weights" in panel.weights_bar.text.text()
    qtbot.waitUntil(lambda: "inference" in panel.controls.stats_view.summary.text(), timeout=5000)
    assert "ms" in panel.controls.stats_view.bars["model"].format()
    assert "suitcase" in panel.controls.legend.text() or "classes in view:" in panel.controls.legend.text()
    threads = panel.stream.threads()
    panel.shutdown()  # its timing is tested below with a model of known speed
    assert not panel.stream.running and not any(thread.isRunning() for thread in threads)


def test_overlay_controls_redraw_a_paused_frame(panel, qtbot):
    start(panel, qtbot, "hog_people")
    panel.controls.pause_button.setChecked(True)
    before_index = panel.last_result.frame.index
    qtbot.wait(300)
    assert panel.last_result.frame.index == before_index  # pausing freezes the picture on screen
    # A fake detection on the paused frame: the threshold slider alone decides whether it is drawn.
    from visionlab.core.camera.overlay import Detections
    panel.last_result.detections = Detections(("background", "person"), boxes=np.array([[20, 20, 120, 200]],
                                              np.float32), scores=np.array([0.6], np.float32), labels=np.array([1]))
    panel.controls.threshold_slider.setValue(50)
    with_box = shown_image(panel).copy()
    panel.controls.threshold_slider.setValue(70)
    without_box = shown_image(panel).copy()
    assert not np.array_equal(with_box, without_box)
    assert np.array_equal(without_box, panel.last_result.frame.image)
    assert "person" not in panel.controls.legend.text()
    panel.controls.class_edit.setText("person, unicorn")
    panel.controls.class_edit.editingFinished.emit()
    assert "unicorn" in panel.controls.class_error.text() and panel.controls.class_error.isVisibleTo(panel)


def test_single_step_while_paused(panel, qtbot):
    start(panel, qtbot, "haar_face")
    panel.controls.pause_button.setChecked(True)
    qtbot.wait(200)
    index = panel.last_result.frame.index
    panel.controls.step_button.click()
    qtbot.waitUntil(lambda: panel.last_result.frame.index > index, timeout=5000)
    stepped = panel.last_result.frame.index
    qtbot.wait(300)
    assert panel.last_result.frame.index == stepped  # exactly one frame, then still paused


def write_video(path, count=6, size=(200, 150)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, size)
    for index in range(count):
        writer.write(cv2.cvtColor(SyntheticSource(*size).render(index), cv2.COLOR_RGB2BGR))
    writer.release()


def test_switching_sources_while_streaming_and_a_corrupt_video(panel, qtbot, tmp_path):
    start(panel, qtbot, "haar_face")
    video = tmp_path / "clip.avi"
    write_video(video)
    panel.open_source("video", str(video))
    qtbot.waitUntil(lambda: panel.last_result.frame.image.shape == (150, 200, 3), timeout=5000)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    panel.open_source("video", str(broken))
    qtbot.waitUntil(lambda: "broken.mp4 is not a video" in panel.message_label.text(), timeout=5000)
    assert panel.stream.running  # the inference thread keeps going; only the source failed


def test_classical_detector_from_the_no_weights_banner(panel, qtbot):
    start(panel, qtbot, CPU_DEFAULTS["segmentation"])
    assert panel.weights_bar.isVisible()
    assert panel.last_result.detections.semantic is not None
    panel.weights_bar.hog_button.click()
    qtbot.waitUntil(lambda: panel.detector.name == "hog_people", timeout=10000)
    assert not panel.weights_bar.isVisible()
    assert panel.controls.model_combo.currentData() == "hog_people"


def test_unknown_model_gives_a_message(panel, qtbot):
    start(panel, qtbot, "haar_face")
    panel.load_model("fasterrcnn_typo")
    qtbot.waitUntil(lambda: "Could not load fasterrcnn_typo" in panel.message_label.text(), timeout=10000)
    assert panel.detector.name == "haar_face"  # the old model keeps running


def test_snapshot_and_recording_write_real_files(panel, qtbot, private_data_dir):
    start(panel, qtbot, "haar_face")
    panel.controls.snapshot_button.click()
    qtbot.waitUntil(lambda: "Snapshot saved" in panel.message_label.text(), timeout=5000)
    (png,) = (private_data_dir / "snapshots").glob("*.png")
    assert cv2.imread(str(png)).shape == panel.last_image.shape
    panel.controls.record_format.setCurrentIndex(panel.controls.record_format.findData(".avi"))
    panel.controls.record_button.setChecked(True)
    qtbot.waitUntil(lambda: panel.recording.recording and panel.recording.recorder.written >= 5, timeout=10000)
    panel.controls.record_button.setChecked(False)
    qtbot.waitUntil(lambda: "Recorded" in panel.message_label.text(), timeout=5000)
    (video,) = (private_data_dir / "recordings").glob("*.avi")
    capture = cv2.VideoCapture(str(video))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == panel.last_image.shape and frames >= 5


class SlowModel:
    """Stands in for a model slower than the 2 s limit, like a ResNet-50 detector on a laptop CPU."""

    name, task, pretrained, notice = "slow", "detection", False, ""
    categories = ("background", "thing")

    def __init__(self, seconds):
        import torch

        self.device = torch.device("cpu")
        self.seconds = seconds
        self.calls = 0

    def preprocess(self, frame):
        return frame

    def forward(self, frame):
        self.calls += 1
        time.sleep(self.seconds)
        return frame

    def postprocess(self, raw, shape):
        from visionlab.core.camera.overlay import Detections
        return Detections(self.categories)


@pytest.mark.parametrize("seconds, limit", [(0.3, 2.0), (2.5, 3.0)])
def test_closing_during_inference_stops_every_thread(panel, qtbot, seconds, limit):
    from visionlab.qt.common import threads as thread_registry

    start(panel, qtbot, "haar_face")
    model = SlowModel(seconds)
    panel.stream.set_detector(model)
    qtbot.waitUntil(lambda: model.calls >= 1, timeout=5000)
    threads = panel.stream.threads()
    started = time.perf_counter()
    panel.shutdown()
    # Never longer than 2 s, however slow the model: closing the window must not freeze it.
    assert time.perf_counter() - started < limit
    # A forward pass still running then cannot be interrupted: its thread is retired (kept referenced,
    # so it is never destroyed while running) and ends on its own right after the pass.
    still_running = [thread for thread in threads if thread.isRunning()]
    assert (still_running != []) == (seconds > 2)
    assert all(thread in panel.stream.pipeline.retired and thread in thread_registry.running()
               for thread in still_running)
    qtbot.waitUntil(lambda: not any(thread.isRunning() for thread in threads), timeout=5000)


def test_settings_round_trip(panel, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.controls.threshold_slider.setValue(35)
    panel.controls.class_edit.setText("person")
    panel.controls.model_combo.setCurrentIndex(panel.controls.model_combo.findData("hog_people"))
    panel.measured_fps = {"hog_people": 12.5}
    panel.save_settings(settings)
    other = CameraPanel(store=panel.store)
    qtbot.addWidget(other)
    other.restore_settings(settings)
    assert other.controls.threshold_slider.value() == 35
    assert other.controls.class_edit.text() == "person"
    assert other.controls.model_combo.currentData() == "hog_people"
    assert other.budget.measured_text("hog_people") == "12.5"
    assert other.sources.choice == ("synthetic", None)
    fresh = CameraPanel(store=panel.store)
    qtbot.addWidget(fresh)
    fresh.restore_settings(QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat))
    assert fresh.sources.choice == ("synthetic", None)  # no camera on this machine
    assert "No camera found" in fresh.message_label.text()


def test_inside_faster_rcnn_on_the_paused_frame(panel, qtbot):
    start(panel, qtbot, CPU_DEFAULTS["detection"])
    panel.tabs.setCurrentWidget(panel.inside_view)
    panel.inside_view.top_n.setValue(12)
    panel.inside_view.analyse_button.click()
    assert panel.controls.pause_button.isChecked()  # analysing pauses the stream
    qtbot.waitUntil(lambda: panel.inside_view.inside is not None, timeout=30000)
    inside = panel.inside_view.inside
    assert inside.frame is panel.last_result.frame.image
    grid = panel.inside_view.rcnn_grid
    assert "Top 12 before NMS" in grid.titles[2].text and "Top 12 after NMS" in grid.titles[3].text
    assert "RoIAlign" in panel.inside_view.note.text() and "RoI pooling" in panel.inside_view.note.text()
    before = grid.items[0].image.copy()
    # A real mouse click on pixel (30, 40) of the anchors picture moves the anchors there.
    from PySide6.QtCore import QPointF, Qt

    scene_point = grid.items[0].mapToScene(QPointF(30.5, 40.5))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: "(30, 40)" in grid.titles[0].text, timeout=3000)
    assert not np.array_equal(before, grid.items[0].image)


def test_inside_is_explained_for_models_without_proposals(panel, qtbot):
    start(panel, qtbot, "haar_face")
    panel.analyse_frame()
    assert "no proposal stage" in panel.inside_view.note.text()


def test_download_from_a_local_server_replaces_random_weights(panel, qtbot, tmp_path):
    import hashlib
    import http.server
    import threading

    import torch

    start(panel, qtbot, CPU_DEFAULTS["detection"])
    assert not panel.detector.pretrained and panel.weights_bar.isVisible()
    served = tmp_path / "served"
    served.mkdir()
    torch.save(panel.detector.model.state_dict(), served / "weights.pth")
    digest = hashlib.sha256((served / "weights.pth").read_bytes()).hexdigest()
    (served / "weights.pth").rename(served / f"mirror-{digest[:8]}.pth")  # torchvision's name-carries-hash rule
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        panel.download_weights(url=f"http://127.0.0.1:{server.server_port}/mirror-{digest[:8]}.pth")
        assert panel.weights_bar.progress.isVisible() and panel.weights_bar.cancel_button.isVisible()
        qtbot.waitUntil(lambda: panel.detector.pretrained, timeout=30000)
    finally:
        server.shutdown()
    assert not panel.weights_bar.isVisible()
    assert "pretrained" in panel.controls.model_status.text()
    assert "downloaded" in panel.budget.item(panel.budget._rows[CPU_DEFAULTS["detection"]], 7).text()


def test_a_lost_camera_is_reported_and_comes_back(panel, qtbot, monkeypatch):
    from visionlab.core.camera import pipeline
    from visionlab.core.camera.sources import FrameSource, SourceError

    class FlakyCamera(FrameSource):  # 3 frames, then gone for one reopen attempt, then back
        live, fps, description = True, None, "USB camera"

        def __init__(self):
            super().__init__()
            self.reads = self.opens = 0

        def _open(self):
            self.opens += 1
            if self.opens == 2:
                raise SourceError("USB camera could not be opened.")

        def _read(self):
            self.reads += 1
            time.sleep(0.02)
            return None if self.reads == 4 else SyntheticSource(96, 64).render(self.reads)

    monkeypatch.setattr(pipeline, "RETRY_DELAYS_S", (0.05, 0.1))
    start(panel, qtbot, "haar_face")
    messages = []
    panel.stream.message.connect(messages.append)
    panel.stream.start(FlakyCamera())
    qtbot.waitUntil(lambda: "USB camera is back." in messages, timeout=5000)
    assert messages[:2] == ["USB camera stopped delivering frames. Retrying in 0.05 s (attempt 1).",
                            "USB camera could not be opened. Retrying in 0.1 s (attempt 2)."]
    qtbot.waitUntil(lambda: panel.last_result.frame.image.shape == (64, 96, 3) and
                    panel.last_result.frame.index >= 4, timeout=5000)


def test_switching_panels_never_waits_for_a_slow_forward_pass(panel, qtbot):
    start(panel, qtbot, "haar_face")
    model = SlowModel(1.5)
    panel.stream.set_detector(model)
    qtbot.waitUntil(lambda: model.calls >= 1, timeout=5000)
    started = time.perf_counter()
    panel.panel_hidden()
    assert time.perf_counter() - started < 0.5 and not panel.stream.running
    panel.panel_shown()  # back at once; the old thread ends after its forward pass
    assert panel.stream.running
    started = time.perf_counter()
    panel.shutdown()
    assert time.perf_counter() - started < 3.5
    assert not panel.stream.pipeline.retired
