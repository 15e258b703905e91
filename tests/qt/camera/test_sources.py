"""The Live Camera's sources as a user meets them: switching while streaming, bad files and folders that
never kill the stream, a lost camera, and a picker that names the source that streams after a restart."""

from __future__ import annotations

import time

import cv2
import numpy as np
from bad_images import huge_png

from visionlab.core.camera.sources import SyntheticSource
from visionlab.qt.camera.panel import CameraPanel


def write_video(path, count=6, size=(200, 150)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, size)
    for index in range(count):
        writer.write(cv2.cvtColor(SyntheticSource(*size).render(index), cv2.COLOR_RGB2BGR))
    writer.release()


def test_switching_sources_while_streaming_and_a_corrupt_video(panel, qtbot, tmp_path, start):
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
    assert panel.message_label.text().endswith("Back to Video clip.avi.")  # the clip plays on
    qtbot.waitUntil(lambda: panel.controls.source_combo.currentText() == "Video file: clip.avi", timeout=5000)


def test_settings_round_trip(panel, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from visionlab.core.camera import live

    monkeypatch.setattr(live, "list_cameras", lambda: [])  # whatever this machine has plugged in
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
    assert other.controls.source_combo.currentText() == "Synthetic shapes"
    fresh = CameraPanel(store=panel.store)
    qtbot.addWidget(fresh)
    fresh.restore_settings(QSettings(str(tmp_path / "empty.ini"), QSettings.Format.IniFormat))
    assert fresh.sources.choice == ("synthetic", None)  # no camera listed
    assert "No camera found" in fresh.message_label.text()


def test_after_a_restart_the_picker_names_the_source_that_streams(panel, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from visionlab.core.camera import live

    monkeypatch.setattr(live, "list_cameras", lambda: [live.CameraInfo(0, "Fake webcam")])
    picture = tmp_path / "street.png"
    cv2.imwrite(str(picture), np.full((90, 120, 3), 40, np.uint8))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.open_source("image", str(picture))
    panel.save_settings(settings)
    restarted = CameraPanel(store=panel.store)
    qtbot.addWidget(restarted)
    restarted.restore_settings(settings)
    assert restarted.controls.source_combo.currentText() == "Image file: street.png"
    restarted.select_model("haar_face")
    restarted.show()
    restarted.panel_shown()
    qtbot.waitUntil(lambda: restarted.last_result is not None, timeout=30000)
    assert restarted.last_result.frame.image.shape == (90, 120, 3)  # and that image is what streams
    assert restarted.stream.source.description == "Image street.png"
    restarted.shutdown()
    picture.unlink()  # a saved file that is gone: the (fake) camera instead, and the picker says so
    plugged = CameraPanel(store=panel.store)
    qtbot.addWidget(plugged)
    plugged.restore_settings(settings)
    assert plugged.sources.choice == ("camera", 0)
    assert plugged.controls.source_combo.currentText() == "Camera 0: Fake webcam"
    assert "street.png is gone" in plugged.message_label.text()


def test_a_bad_image_or_folder_never_kills_the_stream(panel, qtbot, tmp_path, caplog, start):
    start(panel, qtbot, "haar_face")
    huge = tmp_path / "huge.png"
    huge_png(huge)
    panel.open_source("image", str(huge))
    qtbot.waitUntil(lambda: "huge.png: 10,000 megapixels is too large" in panel.message_label.text(), timeout=5000)
    assert panel.message_label.text().endswith("scale it down first. Back to Synthetic shapes 640×480.")
    qtbot.waitUntil(lambda: panel.controls.source_combo.currentText() == "Synthetic shapes", timeout=5000)
    index = panel.last_result.frame.index
    qtbot.waitUntil(lambda: panel.last_result.frame.index > index, timeout=5000)  # the picture never froze
    assert panel.sources.choice == ("synthetic", None) and panel.stream.source.description.startswith("Synthetic")
    folder = tmp_path / "slides"
    folder.mkdir()
    huge_png(folder / "b-huge.png")
    (folder / "c-notes.jpg").write_text("not a photo")
    cv2.imwrite(str(folder / "a.png"), np.full((80, 100, 3), 200, np.uint8))
    panel.open_source("folder", str(folder))
    qtbot.waitUntil(lambda: "Folder slides: 2 of 3 files skipped: b-huge.png" in panel.message_label.text(),
                    timeout=5000)
    qtbot.waitUntil(lambda: panel.last_result.frame.image.shape == (80, 100, 3), timeout=5000)  # a.png plays
    assert panel.controls.source_combo.currentText() == "Image folder: slides"
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    assert all(record.exc_info is None for record in caplog.records)


def test_a_lost_camera_is_reported_and_comes_back(panel, qtbot, monkeypatch, start):
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
