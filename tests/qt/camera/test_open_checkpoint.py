"""A Training Monitor checkpoint in the Live Camera: "Open checkpoint…" / Run live load it off the GUI thread,
its detections stream on the synthetic source, Inside the model shows its RPN, a bad file is a sentence."""

from __future__ import annotations

import time

import numpy as np
import torch
from scene_checkpoints import CLASS_NAMES, save_tiny_checkpoint

from visionlab.core.camera.scene_source import ShapeScenesSource
from visionlab.core.camera.sources import SHAPE_SCENES
from visionlab.qt.camera.models import OPEN_CHECKPOINT


def test_open_checkpoint_streams_its_detections(panel, qtbot, tmp_path):
    path, model = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    panel.controls.threshold_slider.setValue(0)
    panel.show()
    panel.panel_shown()
    started = time.perf_counter()
    panel.open_checkpoint(str(path))
    assert time.perf_counter() - started < 0.5  # the build runs as a job: the GUI thread goes on at once
    assert panel.models.loading
    qtbot.waitUntil(lambda: panel.detector is not None and panel.detector.name == str(path.resolve()), timeout=30000)
    combo = panel.controls.model_combo
    assert combo.currentData() == str(path.resolve()) and combo.itemData(combo.count() - 1) == OPEN_CHECKPOINT
    assert panel.sources.choice == ("synthetic", SHAPE_SCENES)  # the scenes it was trained on, moving
    assert panel.controls.source_combo.currentText() == "Random shape scenes"
    assert "trained checkpoint" in panel.controls.model_status.text() and not panel.weights_bar.isVisible()
    qtbot.waitUntil(lambda: panel.last_result is not None and panel.last_result.detections is not None
                    and panel.last_result.detections.categories == tuple(CLASS_NAMES), timeout=30000)
    qtbot.waitUntil(lambda: panel.last_result.frame.image.shape == (480, 640, 3)
                    and np.array_equal(panel.last_result.frame.image,
                                       ShapeScenesSource(640, 480).render(panel.last_result.frame.index)),
                    timeout=30000)  # a frame of the scenes stream (not one the orbiting source drew before)
    result = panel.last_result
    # The boxes the stream shows are those torchvision's FasterRCNN gives on that very frame.
    with torch.inference_mode():
        expected = model([torch.from_numpy(result.frame.image).permute(2, 0, 1).float() / 255])[0]
    assert len(expected["boxes"]) > 0 and not result.detections.random_weights
    np.testing.assert_allclose(result.detections.boxes, expected["boxes"].numpy(), atol=1e-3)

    # Inside the model: the checkpoint's own RPN, its proposals before and after NMS.
    panel.tabs.setCurrentWidget(panel.inside_view)
    panel.analyse_frame(top_n=12)
    qtbot.waitUntil(lambda: panel.inside_view.inside is not None, timeout=30000)
    inside = panel.inside_view.inside
    assert len(inside.proposals_before) == 12 and len(inside.proposals_after) == 12
    assert inside.counts.after_nms <= model.rpn.post_nms_top_n()
    note = panel.inside_view.note.text()
    assert f"{inside.counts.anchors:,} anchors" in note and "no FPN" in note
    titles = [label.text for label in panel.inside_view.rcnn_grid.titles]
    assert "Top 12 before NMS" in titles and "Top 12 after NMS" in titles


def test_a_bad_file_is_a_sentence_and_the_picker_keeps_what_runs(panel, qtbot, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all" * 20)
    panel.open_checkpoint(str(junk))
    qtbot.waitUntil(lambda: not panel.models.loading, timeout=30000)
    qtbot.waitUntil(lambda: "junk.pt" in panel.message_label.text(), timeout=5000)
    text = panel.message_label.text()
    assert "Could not load junk.pt: junk.pt is damaged or not a PyTorch weights file" in text
    assert "Traceback" not in text and "Error:" not in text
    assert panel.controls.model_combo.findData(str(junk.resolve())) < 0


def test_the_picker_entry_asks_for_a_file(panel, qtbot, tmp_path, monkeypatch):
    path, _ = save_tiny_checkpoint(tmp_path / "segment.pt", "segment")
    monkeypatch.setattr(panel.models, "ask_checkpoint_path", lambda: str(path))
    combo = panel.controls.model_combo
    combo.setCurrentIndex(combo.findData(OPEN_CHECKPOINT))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: panel.detector is not None and panel.detector.name == str(path.resolve()), timeout=30000)
    assert panel.detector.task == "segmentation" and panel.controls.threshold_name.text() == "pixel prob ≥"
    monkeypatch.setattr(panel.models, "ask_checkpoint_path", lambda: "")  # cancelled: the running model stays
    combo.setCurrentIndex(combo.findData(OPEN_CHECKPOINT))
    combo.activated.emit(combo.currentIndex())
    assert combo.currentData() == str(path.resolve())


def test_run_live_and_open_in_features_from_the_training_monitor(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from visionlab.qt.main_window import MainWindow

    path, _ = save_tiny_checkpoint(tmp_path / "detect.pt", "detect")
    window = MainWindow(QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat), initial_panel="training")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.panel("training") is not None, timeout=60000)
        window.panel("training").run_live_requested.emit(str(path))
        camera = window.panel("camera")
        assert window.current_panel() is camera
        qtbot.waitUntil(lambda: camera.detector is not None and camera.detector.name == str(path.resolve()),
                        timeout=30000)
        window.panel("training").open_in_features_requested.emit(str(path))
        features = window.panel("features")
        assert window.current_panel() is features
        qtbot.waitUntil(lambda: features.opened is not None
                        and features.opened.loaded.name == "Faster R-CNN backbone (detect.pt)", timeout=30000)
        assert features.model_bar.combo.currentText() == "Faster R-CNN backbone (detect.pt)"
        qtbot.waitUntil(lambda: "class scores are on the Live Camera" in features.predictions.label.text(),
                        timeout=10000)
        assert features.opened.loaded.name == "Faster R-CNN backbone (detect.pt)"  # not the panel's default model
        qtbot.waitUntil(lambda: features.view is not None, timeout=30000)
        assert np.array_equal(features.image, features.opened.sample_image)  # a shape scene, not the default photo
        assert features.input_bar.samples.currentText() == "shape scenes sample #0"
    finally:
        window.close()


def test_an_opened_checkpoint_is_in_the_picker_after_a_restart(panel, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from visionlab.core.weights.store import WeightsStore
    from visionlab.qt.camera.panel import CameraPanel

    path, _ = save_tiny_checkpoint(tmp_path / "segment.pt", "segment")
    panel.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: panel.detector is not None and panel.detector.name == str(path.resolve()), timeout=30000)
    settings = QSettings(str(tmp_path / "camera.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    again = CameraPanel(store=WeightsStore(cache_dir=tmp_path / "weights"))
    qtbot.addWidget(again)
    try:
        again.restore_settings(settings)
        assert again.controls.model_combo.currentData() == str(path.resolve())
        path.unlink()  # gone since: not offered any more
        again.restore_settings(settings)
        assert again.controls.model_combo.findData(str(path.resolve())) < 0
    finally:
        again.shutdown()
