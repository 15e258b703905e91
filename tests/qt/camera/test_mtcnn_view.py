"""MTCNN faces in the Live Camera: the default model, real faces on a photo, its Inside-the-model page,
and a clear card when its package is missing."""

from __future__ import annotations

import importlib.util
import re

import pytest
from PySide6.QtCore import QSettings

from visionlab.core.camera import live, mtcnn
from visionlab.core.camera.detectors import CPU_DEFAULTS, build_detector
from visionlab.core.weights.store import WeightsStore
from visionlab.qt.camera.panel import CameraPanel

needs_weights = pytest.mark.skipif(not mtcnn.is_available(), reason=mtcnn.MISSING)


def fresh_settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)


@needs_weights
def test_a_fresh_install_starts_on_mtcnn_and_finds_the_astronauts_face(panel, qtbot, tmp_path, start):
    panel.restore_settings(fresh_settings(tmp_path))
    assert panel.controls.model_combo.currentData() == mtcnn.NAME
    assert panel.controls.model_combo.currentText() == "MTCNN faces"
    panel.open_source("image", str(live.SAMPLE_PHOTO))
    start(panel, qtbot, mtcnn.NAME)
    qtbot.waitUntil(lambda: len(panel.last_result.detections) == 1, timeout=30000)
    detections = panel.last_result.detections
    assert detections.landmarks.shape == (1, 5, 2) and detections.scores[0] > 0.99
    assert "pretrained, from facenet-pytorch" in panel.controls.model_status.text()
    assert not panel.weights_bar.isVisible()  # nothing to download


@needs_weights
def test_the_inside_page_shows_the_detectors_own_stage_counts(panel, qtbot, start):
    panel.open_source("image", str(live.SAMPLE_PHOTO))
    start(panel, qtbot, mtcnn.NAME)
    panel.analyse_frame()
    view = panel.inside_view
    qtbot.waitUntil(lambda: isinstance(view.inside, mtcnn.MTCNNRun), timeout=30000)
    frame = panel.last_result.frame.image
    # The same frame through a detector built apart from the panel: the counts the page must show.
    reference = build_detector(mtcnn.NAME, "cpu").detect(frame)
    note = view.note.text()
    for label, count in mtcnn.count_lines(reference):
        assert f"<b>{count}</b> {label}" in note
    titles = [title.text for title in view.mtcnn_page.grid.titles]
    assert f"After NMS: {reference.counts['pnet_nms']} boxes" in titles
    assert f"After R-Net: {reference.counts['rnet']} boxes" in titles
    assert titles[4].startswith(f"After O-Net: {reference.counts['onet']} face")
    assert f"Image pyramid: {len(reference.scales)} scales" in titles
    # The probability map shown is P-Net's at the chosen scale, its range written from the map itself.
    chosen = view.mtcnn_page.scale_combo.currentIndex()
    shown = reference.probability_maps[chosen]
    low, high = re.search(r"([\d.]+)…([\d.]+) of 0…1", titles[1]).groups()
    assert float(low) == pytest.approx(shown.min(), abs=1e-3) and float(high) == pytest.approx(shown.max(), abs=1e-3)
    assert view.mtcnn_page.grid.items[1].image.shape[:2] == shown.shape
    assert float(high) > 0.9  # the best window of the chosen scale is a face
    for stage in ("pyramid", "P-Net", "NMS", "R-Net", "O-Net"):
        assert re.search(rf"{stage} [\d.]+ ms", note)


def test_without_the_package_mtcnn_is_listed_as_unavailable_with_the_install_line(open_panel, qtbot, tmp_path,
                                                                                 monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == mtcnn.PACKAGE else real(name, *args))
    panel = open_panel(CameraPanel(store=WeightsStore(cache_dir=tmp_path / "weights")), show=False)
    panel.restore_settings(fresh_settings(tmp_path))
    combo = panel.controls.model_combo
    assert combo.currentData() == CPU_DEFAULTS["detection"]  # the default falls back
    index = combo.findData(mtcnn.NAME)
    assert combo.itemText(index) == "MTCNN faces (not installed)"
    assert mtcnn.INSTALL_LINE in combo.itemData(index, 3)  # Qt.ToolTipRole
    row = [panel.budget.item(r, 0).text() for r in range(panel.budget.rowCount())].index(mtcnn.NAME)
    assert panel.budget.item(row, panel.budget.columnCount() - 1).text() == f"not installed: {mtcnn.INSTALL_LINE}"
    panel.select_model(mtcnn.NAME)
    qtbot.waitUntil(lambda: mtcnn.INSTALL_LINE in panel.message_label.text(), timeout=10000)
    assert "Traceback" not in panel.message_label.text() and panel.detector is None
