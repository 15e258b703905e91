"""Fixtures the Live Camera's panel tests share."""

import pytest

from visionlab.core.weights.store import WeightsStore
from visionlab.qt.camera.panel import CameraPanel


@pytest.fixture
def panel(open_panel, tmp_path):
    return open_panel(CameraPanel(store=WeightsStore(cache_dir=tmp_path / "weights")), show=False)


@pytest.fixture
def start():
    """start(panel, qtbot, model): show the panel on `model` and wait (bounded) for its first result."""

    def run(panel, qtbot, model):
        panel.select_model(model)
        panel.show()
        panel.panel_shown()
        qtbot.waitUntil(lambda: panel.detector is not None and panel.detector.name == model, timeout=30000)
        qtbot.waitUntil(lambda: panel.last_result is not None and panel.last_result.detections is not None,
                        timeout=30000)

    return run
