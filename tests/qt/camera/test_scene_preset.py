"""The Live Camera's "Random shape scenes" preset: picked in the source list, it streams the moving scenes,
and it is still the source after a restart (the orbiting shapes stay as the other preset)."""

from __future__ import annotations

import numpy as np

from visionlab.core.camera.scene_source import ShapeScenesSource
from visionlab.core.camera.sources import SHAPE_SCENES, SyntheticSource
from visionlab.qt.camera.panel import CameraPanel


def test_picking_random_shape_scenes_streams_them_and_survives_a_restart(panel, qtbot, tmp_path, start,
                                                                         monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    from visionlab.core.camera import live

    monkeypatch.setattr(live, "list_cameras", lambda: [])
    panel.sources.fill()
    combo = panel.controls.source_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[:2] == ["Synthetic shapes", "Random shape scenes"]
    start(panel, qtbot, "haar_face")
    assert isinstance(panel.stream.source, SyntheticSource)
    combo.activated.emit(1)  # what a click on the entry sends
    qtbot.waitUntil(lambda: isinstance(panel.stream.source, ShapeScenesSource), timeout=5000)
    source = panel.stream.source
    qtbot.waitUntil(lambda: source.index >= 3, timeout=5000)
    width, height = panel.controls.frame_size()
    fresh = ShapeScenesSource(width, height)

    def shows_a_stream_frame() -> bool:
        # A new capture thread counts its frames from 0, as the source renders them: frame i is render(i).
        # (Results of the old source may still arrive first: they are not the stream's frames.)
        result = panel.last_result
        return result is not None and np.array_equal(result.frame.image, fresh.render(result.frame.index))

    qtbot.waitUntil(shows_a_stream_frame, timeout=15000)
    assert combo.currentText() == "Random shape scenes"
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    restarted = CameraPanel(store=panel.store)
    qtbot.addWidget(restarted)
    restarted.restore_settings(settings)
    assert restarted.sources.choice == ("synthetic", SHAPE_SCENES)
    assert restarted.controls.source_combo.currentText() == "Random shape scenes"
