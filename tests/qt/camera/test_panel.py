"""The Live Camera panel as a user meets it: streaming with overlays, controls, sources, shutdown."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from visionlab.core.camera.detectors import CPU_DEFAULTS
from visionlab.core.camera.overlay import class_color

NOTES_PX = 60  # the top rows of a 480-line frame where the overlay may write its notes


def shown_image(panel):
    return panel.view.image_item.image


def box_outline(image, box):
    """The pixels on the 1-pixel outline of an x1, y1, x2, y2 box, clipped to the image."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, x2, y1, y2 = max(0, x1), min(width - 1, x2), max(0, y1), min(height - 1, y2)
    return np.concatenate([image[y1, x1:x2 + 1], image[y2, x1:x2 + 1], image[y1:y2 + 1, x1], image[y1:y2 + 1, x2]])


def test_streams_the_default_detector_with_boxes_and_numbers(panel, qtbot, start):
    panel.controls.threshold_slider.setValue(0)
    panel.controls.max_spin.setValue(1)  # one box drawn: the best-scoring detection
    start(panel, qtbot, CPU_DEFAULTS["detection"])
    qtbot.waitUntil(lambda: panel.stream.stats.display.count >= 2, timeout=30000)
    result, shown = panel.last_result, shown_image(panel)
    assert len(result.detections) > 0  # random-init scores are tiny, but the threshold is 0
    best = int(np.argmax(result.detections.scores))
    box, label = result.detections.boxes[best], int(result.detections.labels[best])
    # Most of that box's outline is in its class colour on screen (its label and the notes cover a part).
    outline = box_outline(shown, box)
    assert (outline == class_color(label)).all(axis=1).mean() > 0.5
    below = int(round(box[3])) + 3  # under the box nothing is drawn: the camera's own pixels
    assert np.array_equal(shown[below:], result.frame.image[below:])
    legend = panel.controls.legend.text()  # names the one class drawn, and only it
    assert legend.count("■") == 1 and legend.endswith(f"■</span> {result.detections.label_name(label)}")
    assert "random-init" in panel.controls.model_status.text()
    assert panel.weights_bar.isVisible() and "random weights" in panel.weights_bar.text.text()
    qtbot.waitUntil(lambda: "inference" in panel.controls.stats_view.summary.text(), timeout=5000)
    qtbot.waitUntil(lambda: "ms" in panel.controls.stats_view.bars["model"].format(), timeout=10000)
    threads = panel.stream.threads()
    panel.shutdown()  # its timing is tested below with a model of known speed
    assert not panel.stream.running
    # On a loaded machine a forward pass may outlast the 2 s stop; that thread is retired and ends right after.
    qtbot.waitUntil(lambda: not any(thread.isRunning() for thread in threads), timeout=10000)


def test_overlay_controls_redraw_a_paused_frame(panel, qtbot, start):
    start(panel, qtbot, "hog_people")
    panel.controls.pause_button.setChecked(True)
    before_index = panel.last_result.frame.index
    qtbot.wait(300)
    assert panel.last_result.frame.index == before_index  # pausing freezes the picture on screen
    # A fake detection on the paused frame: the threshold slider alone decides whether it is drawn.
    from visionlab.core.camera.overlay import Detections
    panel.last_result.detections = Detections(("background", "person"), boxes=np.array([[20, 20, 120, 200]],
                                              np.float32), scores=np.array([0.6], np.float32), labels=np.array([1]))
    panel.controls.threshold_slider.setValue(55)  # a change of the slider redraws (50 is its default)
    with_box = shown_image(panel).copy()
    person = class_color(1)
    assert all(tuple(with_box[y, 20]) == person for y in range(40, 200))  # the box's left edge, x = 20
    panel.controls.threshold_slider.setValue(70)
    without_box = shown_image(panel).copy()
    assert not np.array_equal(with_box, without_box)
    # Below the notes written in the top-left corner ("none >= 0.70 ..."), the camera's own pixels.
    assert np.array_equal(without_box[NOTES_PX:], panel.last_result.frame.image[NOTES_PX:])
    assert "person" not in panel.controls.legend.text()
    panel.controls.class_edit.setText("person, unicorn")
    panel.controls.class_edit.editingFinished.emit()
    assert "unicorn" in panel.controls.class_error.text() and panel.controls.class_error.isVisibleTo(panel)
    assert "person" not in panel.controls.class_error.text()
    panel.controls.threshold_slider.setValue(55)
    for typed in ("Person", "PERSON", " person "):  # any case means the model's "person"
        panel.controls.class_edit.setText(typed)
        panel.controls.class_edit.editingFinished.emit()
        assert not panel.controls.class_error.isVisibleTo(panel)
        assert np.array_equal(shown_image(panel), with_box)  # the filtered-in person box is drawn
    panel.controls.class_edit.setText("Background")  # a class this model knows, and nothing of it in view
    panel.controls.class_edit.editingFinished.emit()
    assert not panel.controls.class_error.isVisibleTo(panel)
    assert np.array_equal(shown_image(panel)[NOTES_PX:], panel.last_result.frame.image[NOTES_PX:])  # filtered


def test_single_step_while_paused(panel, qtbot, start):
    start(panel, qtbot, "haar_face")
    panel.controls.pause_button.setChecked(True)
    qtbot.wait(200)
    index = panel.last_result.frame.index
    panel.controls.step_button.click()
    qtbot.waitUntil(lambda: panel.last_result.frame.index > index, timeout=5000)
    stepped = panel.last_result.frame.index
    qtbot.wait(300)
    assert panel.last_result.frame.index == stepped  # exactly one frame, then still paused


def test_classical_detector_from_the_no_weights_banner(panel, qtbot, start):
    start(panel, qtbot, CPU_DEFAULTS["segmentation"])
    assert panel.weights_bar.isVisible()
    assert "its class per pixel is noise" in panel.weights_bar.text.text()  # a segmenter draws no boxes
    assert panel.last_result.detections.semantic is not None
    controls = panel.controls
    assert not controls.max_spin.isEnabled() and "no boxes" in controls.max_spin.toolTip()
    assert controls.threshold_name.text() == "pixel prob ≥"
    panel.weights_bar.hog_button.click()
    qtbot.waitUntil(lambda: panel.detector.name == "hog_people", timeout=10000)
    assert not panel.weights_bar.isVisible()
    assert controls.max_spin.isEnabled() and controls.threshold_name.text() == "score ≥"
    assert panel.controls.model_combo.currentData() == "hog_people"


def test_unknown_model_gives_a_message(panel, qtbot, start):
    start(panel, qtbot, "haar_face")
    panel.load_model("fasterrcnn_typo")
    qtbot.waitUntil(lambda: "Could not load fasterrcnn_typo" in panel.message_label.text(), timeout=10000)
    assert panel.detector.name == "haar_face"  # the old model keeps running


def test_snapshot_and_recording_write_real_files(panel, qtbot, private_data_dir, start):
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
    frames, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), capture.get(cv2.CAP_PROP_FPS)
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == panel.last_image.shape and frames >= 5
    # The message's numbers are the file's own, read back from it.
    import re

    said = re.search(r"Recorded (\d+) frames at ([\d.]+) fps \(as shown\) to (\S+) ", panel.message_label.text())
    assert said and int(said[1]) == frames and float(said[2]) == pytest.approx(fps, abs=0.051)
    assert said[3] == str(video)


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
def test_closing_during_inference_stops_every_thread(panel, qtbot, seconds, limit, start):
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


def test_inside_faster_rcnn_on_the_paused_frame(panel, qtbot, start):
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
    # A real mouse click near pixel (30, 40) of the anchors picture moves the anchors to the pixel under it
    # (a widget position is whole screen pixels: mapped back, it names the image pixel the click hit).
    from PySide6.QtCore import QPointF, Qt

    qtbot.wait(100)  # one layout pass of the graphics scene
    position = grid.mapFromScene(grid.items[0].mapToScene(QPointF(30.5, 40.5)))
    hit = grid.items[0].mapFromScene(grid.mapToScene(position))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=position)
    qtbot.waitUntil(lambda: f"({int(hit.x())}, {int(hit.y())})" in grid.titles[0].text, timeout=3000)
    assert abs(hit.x() - 30.5) < 3 and abs(hit.y() - 40.5) < 3
    assert not np.array_equal(before, grid.items[0].image)


def test_inside_is_explained_for_models_without_proposals(panel, qtbot, start):
    start(panel, qtbot, "haar_face")
    panel.analyse_frame()
    assert "no proposal stage" in panel.inside_view.note.text()


def test_mirror_setting_refuses_files_off_the_card_and_imports_say_unverified(panel, qtbot, tmp_path, start):
    """The classroom mirror is the weights bar's setting; the file's name and sha256 come from the card only.

    The mirror serves the running model's random-init weights under their own hash and under the official
    name: both are refused, nothing reaches the cache. Imported, the same file runs labelled unverified,
    and a pickle that would run code gets the store's one sentence, without "WeightsError:".
    """
    import hashlib
    import http.server
    import io
    import os
    import threading

    import torch
    from PySide6.QtCore import QSettings

    name = CPU_DEFAULTS["detection"]
    start(panel, qtbot, name)
    assert not panel.detector.pretrained and panel.weights_bar.isVisible()
    card = panel.store.card(name)
    buffer = io.BytesIO()
    torch.save(panel.detector.model.state_dict(), buffer)
    data = buffer.getvalue()
    own_hash = hashlib.sha256(data).hexdigest()[:8]
    served = tmp_path / "served"
    for folder, file_name in (("own", f"{name}-{own_hash}.pth"), ("official", card.file_name)):
        (served / folder).mkdir(parents=True)
        (served / folder / file_name).write_bytes(data)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)  # noqa: E731
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_port}"
    messages: list[str] = []
    panel.models.message.connect(messages.append)

    def download_from(folder: str) -> str:
        panel.weights_bar.set_mirror(f"http://{host}/{folder}/")
        messages.clear()
        panel.weights_bar.download_button.click()
        assert panel.weights_bar.progress.isVisible() and panel.weights_bar.cancel_button.isVisible()
        qtbot.waitUntil(lambda: bool(messages) and not panel.jobs.is_running("download"), timeout=30000)
        return messages[-1]

    try:
        assert "HTTP 404" in download_from("own") and "published file names" in messages[-1]
        assert download_from("official") == (
            f"refused {card.file_name} from {host}: its sha256 starts with {own_hash}, torchvision's published "
            f"file's with {card.sha256_prefix} ({card.weights_name}); nothing was kept.")
    finally:
        server.shutdown()
    cache = panel.store.cache_dir
    assert not cache.exists() or [files for _, _, files in os.walk(cache) if files] == []
    assert not panel.detector.pretrained and panel.weights_bar.isVisible()
    assert panel.weights_bar.download_button.isVisible()  # the bar is usable again

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    panel.weights_bar.set_mirror("")
    panel.restore_settings(settings)
    assert panel.weights_bar.mirror == f"http://{host}/official"

    evil = tmp_path / "evil.pth"

    class RunsCode:
        def __reduce__(self):
            return os.getcwd, ()

    torch.save({"payload": RunsCode()}, evil)
    messages.clear()
    panel.models.import_weights(name, str(evil))
    qtbot.waitUntil(lambda: bool(messages), timeout=30000)
    assert messages == ["evil.pth was refused: opening it would call os.getcwd, which can run any code on this "
                        "computer. A weights file holds only tensors: use one from a source you trust, saved with "
                        "torch.save(model.state_dict(), path)."]

    panel.models.import_weights(name, str(served / "own" / f"{name}-{own_hash}.pth"))
    qtbot.waitUntil(lambda: panel.detector.pretrained and not panel.models.loading, timeout=30000)
    label = f"imported, unverified: {name}-{own_hash}.pth"
    assert label in panel.controls.model_status.text() and "pretrained" not in panel.controls.model_status.text()
    assert panel.weights_bar.isVisible() and label in panel.weights_bar.text.text()
    row = panel.budget._rows[name]
    assert panel.budget.item(row, panel.budget.columnCount() - 1).text() == "imported, unverified"


def test_switching_panels_never_waits_for_a_slow_forward_pass(panel, qtbot, start):
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


def test_download_progress_is_readable_at_1024x700(panel, qtbot, tmp_path, start):
    """The downloader's own messages for this model's file, shown in the bar of a 1024×700 window: every one
    fits the bar (the file name moves to the tooltip), none is cut."""
    import http.server
    import threading

    from visionlab.core.download import fetch

    name = CPU_DEFAULTS["detection"]
    card = panel.store.card(name)
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / card.file_name).write_bytes(bytes(3 << 20))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "served"), **k)  # noqa: E731
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    messages: list[str] = []
    try:
        fetch(f"http://127.0.0.1:{server.server_port}/{card.file_name}", tmp_path / "cache" / card.file_name,
              expected=None, progress=lambda fraction, message: messages.append(message))
    finally:
        server.shutdown()
    assert any(f"{card.file_name}: " in message and " of " in message for message in messages)
    panel.resize(1024, 700)
    panel.show()
    panel.weights_bar.show_missing(name, card.file_size_mb)
    panel.weights_bar.show_downloading(True)
    bar = panel.weights_bar.progress
    for message in messages:
        panel.weights_bar.show_progress(0.5, message)
        qtbot.waitUntil(lambda: bar.isVisible() and bar.width() >= 280, timeout=3000)
        assert bar.fontMetrics().horizontalAdvance(bar.text()) <= bar.contentsRect().width() - 8, message
        assert bar.toolTip() == message


def test_the_model_picker_shows_short_names_and_fits_every_fill(panel, monkeypatch):
    """Short names in the box, torchvision's builder name in the tooltip; each fill measures its entries
    again (an entry added later is not cut) without adding another connection."""
    from PySide6.QtCore import SIGNAL, Qt

    combo = panel.controls.model_combo
    index = combo.findData("fasterrcnn_mobilenet_v3_large_320_fpn")
    assert combo.itemText(index) == "Faster R-CNN MobileNetV3 320 (no weights)"
    assert combo.itemData(index, Qt.ItemDataRole.ToolTipRole).startswith("fasterrcnn_mobilenet_v3_large_320_fpn: ")
    combo.setCurrentIndex(index)
    assert combo.toolTip().startswith("fasterrcnn_mobilenet_v3_large_320_fpn")
    connections = combo.receivers(SIGNAL("currentIndexChanged(int)"))
    long_name = "a model whose name is much longer than any of torchvision's, added by a later fill"
    from visionlab.qt.camera import models

    short = models.live.display_name
    monkeypatch.setattr(models.live, "display_name", lambda name: long_name if name == "hog_people" else short(name))
    assert combo.view().minimumWidth() < combo.fontMetrics().horizontalAdvance(long_name)
    panel.models.fill()
    panel.models.fill()
    assert combo.view().minimumWidth() >= combo.fontMetrics().horizontalAdvance(long_name)
    assert combo.receivers(SIGNAL("currentIndexChanged(int)")) == connections
